import Foundation
import Postgres
import Testing
import TestSupport

/// Survey emails from real worker processes to a real SMTP server (aiosmtpd on the loopback),
/// with the worker killed by SIGKILL in the middle of the SMTP conversation.
extension CLITests {
    /// One tenant, one consenting client, a manual campaign, its invitation and the
    /// `survey.deliver` job, as a manual send leaves them.
    struct SurveyFixture {
        var schema: String
        var role: String
        var invitationID: UUID
        var jobID: Int64
        var email: String
    }

    func surveyFixture(_ database: PostgresClient, slug: String) async throws -> SurveyFixture {
        let created = try clientele("tenant", "create", slug, "--name", "Opticien \(slug)")
        #expect(created.status == 0, "\(created.error)")
        let tenant = try #require(try await database.query(
            "SELECT id, schema_name, role_name FROM platform.tenants WHERE slug = \(slug)").first)
        let (tenantID, schema) = (try tenant.decode(Int64.self, at: 0), try tenant.decode(String.self, at: 1))
        let role = try tenant.decode(String.self, at: 2)
        let (client, campaign, invitation) = (UUID(), UUID(), UUID())
        let email = "lea.morel@\(slug).test"
        // As the tenant's role, as the server would: the schema is closed to everyone else.
        try await database.withTransaction { session in
            try await session.query("SELECT set_config('role', \(role), true), set_config('search_path', \(schema), true)")
            try await session.query("""
                INSERT INTO clients (id, kind, category, first_name, last_name, email, consent_surveys, consent_surveys_at, consent_surveys_source)
                VALUES (\(client), 'individual', 'actual_client', 'Léa', 'Morel', \(email), true, now(), 'test')
                """)
            try await session.query("""
                INSERT INTO survey_campaigns (id, name, measure, question_fr, trigger)
                VALUES (\(campaign), 'Votre avis', 'nps', 'Recommanderiez-vous notre magasin ?', 'manual')
                """)
            try await session.query("""
                INSERT INTO survey_invitations (id, campaign_id, client_id, occasion, state, send_at)
                VALUES (\(invitation), \(campaign), \(client), 'manual:test', 'scheduled', now())
                """)
        }
        let job = try #require(try await database.query("""
            INSERT INTO platform.jobs (tenant_id, kind, payload, max_attempts)
            VALUES (\(tenantID), 'survey.deliver', jsonb_build_object('invitation_id', \(invitation.uuidString.lowercased())), 5)
            RETURNING id
            """).first?.decode(Int64.self, at: 0))
        return SurveyFixture(schema: schema, role: role, invitationID: invitation, jobID: job, email: email)
    }

    struct ReceivedEnvelope: Decodable {
        var rcpt_tos: [String]
    }

    /// Starts the loopback SMTP server in `mode`, a worker that sends through it, waits until the
    /// server stalls in the middle of the first message, and kills that worker with SIGKILL.
    /// Returns the server and the invitation's state at the kill; a second worker is running.
    func killWorkerMidSend(
        _ database: PostgresClient, _ fixture: SurveyFixture, mode: String
    ) async throws -> (smtp: LoopbackServer, stateAtKill: String?, second: Process) {
        let smtp = try await LoopbackServer.start(script: "DeliveryTests/smtp/smtp_server.py", arguments: ["--mode", mode])
        let mail = ["CLIENTELE_SMTP_URL": "smtp://127.0.0.1:\(smtp.port)?security=none",
                    "CLIENTELE_MAIL_FROM": "avis@clientele.test",
                    // List-Unsubscribe links must be https, as they are in production.
                    "CLIENTELE_PUBLIC_URL": "https://avis.clientele.test"]
        let first = try startWorker(environment: mail)
        let stalled = smtp.directory.appendingPathComponent("stalled").path
        #expect(try await waitFor(seconds: 30) { FileManager.default.fileExists(atPath: stalled) })
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        let state = try await invitationState(database, fixture)?.state
        return (smtp, state, try startWorker(environment: mail))
    }

    func invitationState(_ database: PostgresClient, _ fixture: SurveyFixture) async throws -> (state: String, reason: String?, attempt: Int)? {
        let rows = try await database.withTransaction { session in
            try await session.query("SELECT set_config('role', \(fixture.role), true), set_config('search_path', \(fixture.schema), true)")
            return try await session.query(
                "SELECT state, reason, send_attempt FROM survey_invitations WHERE id = \(fixture.invitationID)")
        }
        return try rows.first.map { (try $0.decode(String.self, at: 0), try $0.decode(String?.self, at: 1), try $0.decode(Int.self, at: 2)) }
    }

    func finishedJob(_ database: PostgresClient, _ id: Int64) async throws -> (state: String, attempts: Int)? {
        try await database.query("SELECT state, attempts FROM platform.job_history WHERE id = \(id)").first
            .map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) }
    }

    @Test("a worker killed with SIGKILL before the message's final \".\": the rescued job sends it, and the SMTP server receives it exactly once")
    func killedBeforeCommitPointSendsOnce() async throws {
        try succeeds("migrate")
        let database = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL), logger: TestDatabase.logger)
        let fixture = try await surveyFixture(database, slug: "opticien-avant")
        let (smtp, stateAtKill, second) = try await killWorkerMidSend(database, fixture, mode: "hang-first-rcpt")
        defer { smtp.stop() }
        #expect(stateAtKill == "sending")  // nothing delivered yet: the next attempt may send

        #expect(try await waitFor(seconds: 60) { try await finishedJob(database, fixture.jobID) != nil })
        let job = try #require(try await finishedJob(database, fixture.jobID))
        #expect(job.state == "succeeded")
        #expect(job.attempts == 2)
        let invitation = try #require(try await invitationState(database, fixture))
        #expect(invitation.state == "sent")
        #expect(invitation.attempt == 2)
        let received = try smtp.records(in: "messages", as: ReceivedEnvelope.self)
        #expect(received.count == 1)
        #expect(received.first?.rcpt_tos == [fixture.email])

        second.terminate()
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        await database.shutdown()
    }

    @Test("a worker killed with SIGKILL after the server took the message: the rescued job marks it failed (outcome unknown) and never sends it twice")
    func killedAfterCommitPointNeverSendsTwice() async throws {
        try succeeds("migrate")
        let database = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL), logger: TestDatabase.logger)
        let fixture = try await surveyFixture(database, slug: "opticien-apres")
        let (smtp, stateAtKill, second) = try await killWorkerMidSend(database, fixture, mode: "save-then-hang-first")
        defer { smtp.stop() }
        #expect(stateAtKill == "committing")  // past the commit point: the server may have it

        #expect(try await waitFor(seconds: 60) { try await finishedJob(database, fixture.jobID) != nil })
        let job = try #require(try await finishedJob(database, fixture.jobID))
        #expect(job.state == "succeeded")
        #expect(job.attempts == 2)
        let invitation = try #require(try await invitationState(database, fixture))
        #expect(invitation.state == "failed")
        #expect(invitation.reason == "outcome unknown")
        #expect(try smtp.records(in: "messages", as: ReceivedEnvelope.self).count == 1)

        second.terminate()
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        await database.shutdown()
    }
}
