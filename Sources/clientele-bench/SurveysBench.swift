import ArgumentParser
import ClientBase
import Foundation
import Postgres
import Surveys
import Tenancy

/// The survey dispatch benchmark's setup (bench/surveys.sh): `--tenants` new tenants, each with
/// `--clients` clients who consent to surveys, a manual campaign, and a manual send to all of
/// them through the same code as `POST /v1/survey-campaigns/{id}/send`: the invitations and
/// their `survey.deliver` jobs, which the worker under test then delivers.
struct SurveySetup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "survey-setup")
    @OptionGroup var connection: Connection
    @Option var tenants = 100
    @Option var clients = 1000
    @Option var prefix = "sv"

    func run() async throws {
        let (client, migrations, logger) = try connection.open(connections: 4)
        let directory = TenantDirectory(client: client, migrations: migrations, logger: logger)
        _ = try await directory.migrator.migratePlatform()
        let campaign = try JSONDecoder().decode(SurveyCampaignChanges.self, from: Data("""
            {"name": "Votre avis", "measure": "nps", "trigger": "manual",
             "question_fr": "Recommanderiez-vous notre maison à un proche ?"}
            """.utf8))
        var invited = 0
        var sending = Duration.zero
        for index in 0..<tenants {
            let (tenant, _) = try await directory.create(slug: "\(prefix)-\(index)", name: "Enquêtes \(index)")
            let actor = Actor(scope: TenantScope(tenant), role: .owner, userID: nil, label: "bench")
            let created = try await client.withTenantTransaction(actor.scope) { session in
                try await session.query("""
                    INSERT INTO clients (id, kind, category, first_name, last_name, email, consent_surveys, consent_surveys_at, consent_surveys_source)
                    SELECT gen_random_uuid(), 'individual', 'actual_client', 'Client', 'N' || g,
                           'client-' || g || '@' || \(tenant.slug) || '.test', true, now(), 'bench'
                    FROM generate_series(1, \(clients)::int) g
                    """)
                return try await SurveyCampaignRepository(database: client).create(campaign, as: actor, in: session)
            }
            let start = ContinuousClock.now
            let counts = try await SurveySender(database: client).send(campaign: created.id, SurveySendRequest(), as: actor)
            sending += start.duration(to: .now)
            invited += counts.created
        }
        print("\(tenants) tenants, \(invited) invitations and their delivery jobs made by manual sends in \(ms(sending)) ms")
        await client.shutdown()
    }
}
