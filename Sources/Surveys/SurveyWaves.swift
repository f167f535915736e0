import ClientBase
import Foundation
import Jobs
import Postgres
import Tenancy

/// The cron schedules of recurring campaigns, for the job runner's periodic jobs (built
/// elsewhere): one schedule per active recurring campaign, which enqueues `survey.wave`
/// {"campaign_id"} at each tick, in the tenant's time zone. A wave is idempotent per campaign
/// and day, so a tick fired twice sends nothing twice; a campaign deactivated or changed to
/// another trigger makes its ticks do nothing until its schedule is removed.
public enum SurveyWaves {
    public struct Schedule: Sendable {
        /// Unique per tenant: `survey.wave:<campaign id>`.
        public var name: String
        /// Five fields: minute hour day-of-month month day-of-week.
        public var cron: String
        public var job: NewJob
    }

    /// The schedule a campaign needs, or nil when it is not an active recurring campaign
    /// (then any schedule of that name should be removed).
    public static func schedule(_ campaign: SurveyCampaign) -> Schedule? {
        guard campaign.active, campaign.trigger == .recurring, let cron = campaign.cron else { return nil }
        return Schedule(
            name: "\(SurveyJobs.wave):\(campaign.id.auditID)", cron: cron,
            job: NewJob(kind: SurveyJobs.wave, payload: ["campaign_id": campaign.id.auditID],
                        uniqueKey: "\(SurveyJobs.wave):\(campaign.id.auditID)"))
    }

    /// Every schedule the tenant's campaigns need now (to register them all at once).
    public static func schedules(scope: TenantScope, database: PostgresClient) async throws -> [Schedule] {
        let rows = try await database.tenantTransaction(scope, [
            "SELECT \(fragment: SurveyCampaign.columns) FROM survey_campaigns sc WHERE sc.active AND sc.trigger = 'recurring' ORDER BY sc.id",
        ])
        return try rows[0].compactMap { schedule(try SurveyCampaign(row: $0)) }
    }
}
