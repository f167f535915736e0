import Foundation
import Postgres
import Testing
import TestSupport

/// The account email jobs as the real binary runs them: its SMTP adapter, the platform's mail
/// server from CLIENTELE_SMTP_URL, links from CLIENTELE_PUBLIC_URL.
extension CLITests {
    struct ReceivedAccountMail: Decodable {
        var rcpt_tos: [String]
        var text: String?
        var html: String?
    }

    /// A tenant, an invited user (by the CLI, which sends no email) and the job that emails them.
    func invitationEmailJob(_ database: PostgresClient, slug: String, email: String) async throws -> Int64 {
        try succeeds("tenant", "create", slug, "--name", "Garage \(slug)")
        let invited = try clientele("user", "invite", slug, "--email", email, "--role", "owner")
        #expect(invited.status == 0, "\(invited.error)")
        let row = try #require(try await database.query("""
            SELECT i.id, u.tenant_id FROM platform.invitations i JOIN platform.users u ON u.id = i.user_id WHERE u.email = \(email)
            """).first)
        return try #require(try await database.query("""
            INSERT INTO platform.jobs (tenant_id, kind, payload, max_attempts)
            VALUES (\(try row.decode(Int64.self, at: 1)), 'user.invitation_email',
                    jsonb_build_object('invitation_id', \(try row.decode(Int64.self, at: 0))), 3)
            RETURNING id
            """).first?.decode(Int64.self, at: 0))
    }

    @Test("a worker process emails an invitation through CLIENTELE_SMTP_URL with a CLIENTELE_PUBLIC_URL link; without a mail server the job is discarded with the reason")
    func invitationEmailFromWorker() async throws {
        try succeeds("migrate")
        let database = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL), logger: TestDatabase.logger)

        let smtp = try await LoopbackServer.start(script: "DeliveryTests/smtp/smtp_server.py", arguments: ["--mode", "accept"])
        defer { smtp.stop() }
        let sent = try await invitationEmailJob(database, slug: "garage-mail", email: "chef@garage-mail.test")
        let worker = try startWorker(environment: [
            "CLIENTELE_SMTP_URL": "smtp://127.0.0.1:\(smtp.port)?security=none",
            "CLIENTELE_MAIL_FROM": "acces@clientele.test",
            "CLIENTELE_PUBLIC_URL": "https://app.clientele.test/",
        ])
        #expect(try await waitFor(seconds: 30) { try smtp.records(in: "messages", as: ReceivedAccountMail.self).count == 1 })
        let mail = try #require(try smtp.records(in: "messages", as: ReceivedAccountMail.self).first)
        #expect(mail.rcpt_tos == ["chef@garage-mail.test"])
        #expect(mail.text?.contains("https://app.clientele.test/accept-invitation?token=ci_") == true)
        #expect(mail.html?.contains("https://app.clientele.test/accept-invitation?token=ci_") == true)
        #expect(try await waitFor(seconds: 10) {
            try await database.query("SELECT state FROM platform.job_history WHERE id = \(sent)").first?.decode(String.self, at: 0) == "succeeded"
        })
        worker.terminate()
        worker.waitUntilExit()

        let unsent = try await invitationEmailJob(database, slug: "garage-sans-mail", email: "chef@garage-sans-mail.test")
        let mailless = try startWorker(environment: ["CLIENTELE_SMTP_URL": ""])
        #expect(try await waitFor(seconds: 30) {
            try await database.query("SELECT state FROM platform.job_history WHERE id = \(unsent)").first?.decode(String.self, at: 0) == "discarded"
        })
        let error = try await database.query("SELECT last_error FROM platform.job_history WHERE id = \(unsent)").first?.decode(String.self, at: 0)
        #expect(error?.contains("no mail server is configured (CLIENTELE_SMTP_URL)") == true)
        mailless.terminate()
        mailless.waitUntilExit()
        #expect(mailless.terminationStatus == 0)
        await database.shutdown()
    }
}
