import ClientBase
import Foundation
import Postgres
import Tenancy

/// What makes invitations: a purchase, a client leaving, a wave, a manual send. Each runs
/// inside the caller's tenant transaction (a job's completing transaction, or a request's),
/// and is idempotent: an occasion already handled creates nothing more.
public enum SurveyTriggers {
    /// Post-purchase invitations go at 10:00 in the account's time zone (Europe/Paris unless
    /// changed), `delay_days` after the purchase date; a purchase recorded so late that this
    /// moment is over a week past is not surveyed.
    static let staleAfterDays = 7

    /// `survey.purchase`: for each active after_purchase campaign, the purchase's buyer,
    /// consumers or both (as the campaign asks) who match its audience.
    public static func purchaseRecorded(_ purchaseID: UUID, scope: TenantScope, in session: PostgresSession) async throws
        -> SurveyInvitationCounts {
        let rows = try await session.query("""
            SELECT \(fragment: SurveyCampaign.columns),
                   greatest(now(), ((p.purchased_on + sc.delay_days)::timestamp + interval '10 hours') AT TIME ZONE platform_api.tenant_time_zone()),
                   p.purchased_on + sc.delay_days >= current_date - \(staleAfterDays)::int
            FROM survey_campaigns sc CROSS JOIN purchases p
            WHERE p.id = \(purchaseID) AND sc.active AND sc.trigger = 'after_purchase'
            ORDER BY sc.id
            """)
        var counts = SurveyInvitationCounts()
        for row in rows {
            guard try row.decode(Bool.self, at: SurveyCampaign.columnCount + 1) else { continue }
            let campaign = try SurveyCampaign(row: row)
            let buyer: PostgresQuery = "SELECT buyer_id FROM purchases WHERE id = \(purchaseID)"
            let consumers: PostgresQuery = "SELECT client_id FROM purchase_consumers WHERE purchase_id = \(purchaseID)"
            let candidates: PostgresQuery = switch campaign.ask {
            case .buyer: buyer
            case .consumers: consumers
            case .both: "\(fragment: buyer) UNION \(fragment: consumers)"
            }
            counts.add(try await SurveyInvitations.create(
                campaign: campaign, candidates: candidates, audience: campaign.audience, occasion: "purchase:\(purchaseID.auditID)",
                purchaseID: purchaseID, sendAt: try row.decode(Date.self, at: SurveyCampaign.columnCount), scope: scope, in: session))
        }
        return counts
    }

    /// `survey.exit`: the active exit campaign's invitation to a client who is (still) a
    /// former client. The audience's categories do not apply (the trigger is the category);
    /// its kinds, tags and segment do.
    public static func clientLeft(_ clientID: UUID, scope: TenantScope, in session: PostgresSession) async throws
        -> SurveyInvitationCounts {
        let rows = try await session.query("""
            SELECT \(fragment: SurveyCampaign.columns), current_date::text FROM survey_campaigns sc
            WHERE sc.active AND sc.trigger = 'exit'
              AND EXISTS (SELECT 1 FROM clients WHERE id = \(clientID) AND category = 'former_client')
            """)
        guard let row = rows.first else { return SurveyInvitationCounts() }
        let campaign = try SurveyCampaign(row: row)
        var audience = campaign.audience
        audience.categories = []
        return try await SurveyInvitations.create(
            campaign: campaign, candidates: "SELECT \(clientID)::uuid", audience: audience,
            occasion: "exit:\(try row.decode(String.self, at: SurveyCampaign.columnCount))", sendAt: Date(), scope: scope, in: session)
    }

    /// `survey.wave`: one wave of a recurring campaign to its whole audience, at most one per
    /// campaign and day (UTC).
    public static func wave(_ campaignID: UUID, scope: TenantScope, in session: PostgresSession) async throws
        -> SurveyInvitationCounts {
        let rows = try await session.query("""
            SELECT \(fragment: SurveyCampaign.columns), current_date::text FROM survey_campaigns sc
            WHERE sc.id = \(campaignID) AND sc.active AND sc.trigger = 'recurring'
            """)
        guard let row = rows.first else { return SurveyInvitationCounts() }
        let campaign = try SurveyCampaign(row: row)
        return try await SurveyInvitations.create(
            campaign: campaign, candidates: "SELECT id FROM clients", audience: campaign.audience,
            occasion: "wave:\(try row.decode(String.self, at: SurveyCampaign.columnCount))", sendAt: Date(), scope: scope, in: session)
    }
}

/// Whom a manual send reaches: listed clients, or an audience (the campaign's by default).
public struct SurveySendRequest: Sendable, Hashable, Decodable {
    public static let maximumClients = 1000
    public var clientIDs: [UUID]?
    public var audience: SurveyCampaign.Audience?

    public init(clientIDs: [UUID]? = nil, audience: SurveyCampaign.Audience? = nil) {
        self.clientIDs = clientIDs
        self.audience = audience
    }

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder, writable: ["client_ids", "audience"], readOnly: [])
        clientIDs = try body.ids("client_ids", maximumCount: Self.maximumClients).value
        audience = try body.nested("audience", AudienceInput.self).value?.audience
        if clientIDs != nil, audience != nil {
            throw ClientBaseError(.invalid, "send either client_ids or audience, not both", field: "audience")
        }
    }
}

/// Manual sends: `POST /v1/survey-campaigns/{id}/send`.
public struct SurveySender: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// Invites the clients now, under the same rules as every trigger; listed clients are
    /// taken as they are (no audience filter). Owners, admins and managers; audited.
    public func send(campaign campaignID: UUID, _ request: SurveySendRequest, as actor: Actor) async throws -> SurveyInvitationCounts {
        try actor.require(.manageSurveys)
        return try await database.withTenantTransaction(actor.scope) { session in
            let rows = try await session.query(
                "SELECT \(fragment: SurveyCampaign.columns) FROM survey_campaigns sc WHERE sc.id = \(campaignID)")
            guard let row = rows.first else { throw SurveyCampaignRepository.missing(campaignID) }
            let campaign = try SurveyCampaign(row: row)
            guard campaign.active else {
                throw ClientBaseError(.conflict, "this campaign is not active; set active to true to send it")
            }
            let candidates: PostgresQuery = request.clientIDs.map { "SELECT unnest(\($0)::uuid[])" } ?? "SELECT id FROM clients"
            let audience = request.clientIDs == nil ? (request.audience ?? campaign.audience) : nil
            let sendID = UUIDv7.make()
            let counts = try await SurveyInvitations.create(
                campaign: campaign, candidates: candidates, audience: audience, occasion: "manual:\(sendID.auditID)",
                sendAt: Date(), scope: actor.scope, in: session)
            var after: AuditSnapshot = ["created": .integer(counts.created)]
            for (reason, count) in counts.skipped { after["skipped.\(reason.rawValue)"] = .integer(count) }
            try await session.query(AuditLog.entry(
                by: actor, action: "send", entity: SurveyCampaignRepository.entity, id: campaignID.auditID, before: nil, after: after))
            return counts
        }
    }
}
