import ClientBase
import Delivery
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Jobs
import Postgres
import Tenancy
import TestSupport
import Testing

/// Invitation emails, forgotten passwords and changes of password, with the real loopback SMTP
/// server and a real job worker running the account email jobs. One test at a time: each holds
/// a database, a pool, a worker and an SMTP server, and the full run shares one cluster's
/// connection slots.
@Suite("Invitation emails, forgotten and changed passwords", .serialized)
struct PasswordEmailTests {
    let harness: APIHarness

    init() async throws {
        // A small pool: the full run shares one cluster's connection slots.
        harness = try await APIHarness.make(maximumConnections: 4)
    }

    static let links = AccountLinks(baseURL: "https://app.example.fr/")

    @Test("an invitation is emailed with a working link to a page that sets the password without JavaScript")
    func invitationEmail() async throws {
        let smtp = try await MailSink.start()
        defer { smtp.stop() }
        try await withWorker(mailer: smtp.mailer) {
            try await harness.test { client in
                let invited = try await client.call(.post, "/v1/users", key: harness.keyA,
                    json: #"{"email": "Lea.Roux@Optique-A.fr", "name": "Léa <Roux>", "role": "agent"}"#)
                #expect(invited.status == .created)
                let apiToken = try #require(invited.json["invitation_token"] as? String)
                #expect(apiToken.hasPrefix("ci_"))
                let userID = try #require((invited.json["user"] as? [String: Any])?["id"] as? String)

                let mail = try await smtp.waitForMail(count: 1)[0]
                #expect(mail.rcpt_tos == ["lea.roux@optique-a.fr"])
                #expect(mail.subject.contains("Optique A"))
                let text = try #require(mail.text)
                let html = try #require(mail.html)
                #expect(text.contains("Bonjour Léa <Roux>,"))
                #expect(html.contains("Léa &lt;Roux&gt;"))
                #expect(!html.contains("<Roux>"))
                #expect(text.contains("« optique-a »"))
                let link = try #require(Self.link(in: text, path: "/accept-invitation?token="))
                #expect(html.contains(link))
                let path = String(link.dropFirst("https://app.example.fr".count))
                let token = String(path.dropFirst("/accept-invitation?token=".count))
                #expect(token.hasPrefix("ci_") && token != apiToken)
                // The job's payload names the invitation, never a token.
                let payloads = try await jobPayloads(AccountMailJobs.invitationEmail)
                #expect(payloads.count == 1)
                #expect(payloads.allSatisfy { !$0.contains("ci_") })

                let form = try await client.page(.get, path)
                #expect(form.status == .ok)
                #expect(form.headers[.contentType] == "text/html; charset=utf-8")
                #expect(form.headers[.cacheControl] == "no-store")
                #expect(form.text.contains(#"<form method="post" action="/accept-invitation">"#))
                #expect(form.text.contains(#"name="token" value="\#(token)""#))

                let mismatch = try await client.page(.post, "/accept-invitation",
                    form: "token=\(token)&password=correct+horse+battery&password_confirmation=correct+horse+batterie")
                #expect(mismatch.status == .unprocessableContent)
                #expect(mismatch.text.contains("ne sont pas identiques"))
                let short = try await client.page(.post, "/accept-invitation", form: "token=\(token)&password=short&password_confirmation=short")
                #expect(short.status == .unprocessableContent)
                #expect(short.text.contains("au moins 10 caractères"))

                let done = try await client.page(.post, "/accept-invitation",
                    form: "token=\(token)&name=L%C3%A9a+Roux&password=correct+horse+battery&password_confirmation=correct+horse+battery")
                #expect(done.status == .ok)
                #expect(done.text.contains("Votre accès est prêt"))
                let login = try await client.call(.post, "/v1/auth/login", key: nil,
                    json: #"{"account": "optique-a", "email": "lea.roux@optique-a.fr", "password": "correct horse battery"}"#)
                #expect(login.status == .ok)
                #expect((login.json["user"] as? [String: Any])?["name"] as? String == "Léa Roux")
                #expect((login.json["user"] as? [String: Any])?["id"] as? String == userID)

                // Accepted: the emailed link and the API's token are both spent.
                let again = try await client.page(.get, path)
                #expect(again.status == .badRequest)
                #expect(again.headers[.contentType] == "text/html; charset=utf-8")
                let reuse = try await client.page(.post, "/accept-invitation",
                    form: "token=\(token)&password=another+good+one&password_confirmation=another+good+one")
                #expect(reuse.status == .badRequest)
                #expect(reuse.text.contains("Lien d&#39;invitation non valable"))
                let apiAgain = try await client.call(.post, "/v1/auth/accept-invitation", key: nil,
                    json: #"{"token": "\#(apiToken)", "password": "another good one"}"#)
                #expect(apiAgain.status == .unprocessableContent)
                #expect(try await client.page(.get, "/accept-invitation?token=ci_nonsense").status == .badRequest)
                #expect(try await client.page(.get, "/accept-invitation").status == .badRequest)
            }
        }
    }

    @Test("an invitation whose transaction fails enqueues no email, and no user is left")
    func invitationRolledBack() async throws {
        let scope = try await harness.scopeA()
        await #expect(throws: PostgresError.self) {
            // The audit entry is the transaction's last statement: failing there rolls it all back.
            _ = try await harness.server.users.invite(
                in: scope, email: "rolled.back@optique-a.fr", name: nil, role: .viewer, by: .owner, label: "test",
                audit: { _, _, _, _ in "SELECT 1 / 0" })
        }
        #expect(try await jobPayloads(AccountMailJobs.invitationEmail).isEmpty)
        #expect(try await harness.database.query(
            "SELECT count(*) FROM platform.users WHERE email = 'rolled.back@optique-a.fr'")[0].decode(Int.self, at: 0) == 0)
        // The same invitation that commits has its job.
        _ = try await harness.server.users.invite(
            in: scope, email: "rolled.back@optique-a.fr", name: nil, role: .viewer, by: .owner, label: "test")
        #expect(try await jobPayloads(AccountMailJobs.invitationEmail).count == 1)
        await harness.database.shutdown()
    }

    @Test("forgot-password answers 202 alike for unknown accounts, emails and users who cannot log in, and sends nothing")
    func forgotUnknown() async throws {
        let smtp = try await MailSink.start()
        defer { smtp.stop() }
        try await withWorker(mailer: smtp.mailer) {
            try await harness.test { client in
                let invited = try await client.call(.post, "/v1/users", key: harness.keyA,
                    json: #"{"email": "pending@optique-a.fr", "role": "viewer"}"#)
                #expect(invited.status == .created)
                _ = try await smtp.waitForMail(count: 1)  // the invitation
                let member = try await harness.member(.viewer, email: "known@optique-a.fr")
                for body in [
                    #"{"account": "optique-a", "email": "nobody@optique-a.fr"}"#,
                    #"{"account": "no-such-account", "email": "known@optique-a.fr"}"#,
                    #"{"account": "garage-b", "email": "known@optique-a.fr"}"#,
                    #"{"account": "optique-a", "email": "pending@optique-a.fr"}"#,
                ] {
                    let response = try await client.call(.post, "/v1/auth/forgot-password", key: nil, json: body)
                    #expect(response.status == .accepted, "\(body)")
                    #expect(response.body.readableBytes == 0)
                }
                _ = try await client.call(.patch, "/v1/users/\(member.user.id.uuidString.lowercased())", key: harness.keyA,
                                          json: #"{"status": "disabled"}"#)
                #expect(try await client.call(.post, "/v1/auth/forgot-password", key: nil,
                    json: #"{"account": "optique-a", "email": "known@optique-a.fr"}"#).status == .accepted)
                #expect(try await jobPayloads(AccountMailJobs.passwordResetEmail).isEmpty)
                try await Task.sleep(for: .milliseconds(400))
                #expect(try smtp.received().count == 1)

                // Bad input is a problem, never a 500.
                let malformed = try await client.call(.post, "/v1/auth/forgot-password", key: nil, json: #"{"account": "#)
                #expect(malformed.status == .badRequest)
                #expect(malformed.problem != nil)
                let missing = try await client.call(.post, "/v1/auth/forgot-password", key: nil, json: #"{"account": "optique-a"}"#)
                #expect(missing.status == .unprocessableContent)
                #expect(missing.problem?["field"] as? String == "email")
                let extra = try await client.call(.post, "/v1/auth/forgot-password", key: nil,
                    json: #"{"account": "optique-a", "email": "a@b.fr", "password": "x"}"#)
                #expect(extra.status == .unprocessableContent)
                #expect(extra.problem != nil)
                let notEmail = try await client.call(.post, "/v1/auth/forgot-password", key: nil,
                    json: #"{"account": "optique-a", "email": "not an email"}"#)
                #expect(notEmail.status == .unprocessableContent)
                #expect(notEmail.problem != nil)
            }
        }
    }

    @Test("a reset link works once, expires, ends every session; the page does the same; the 4th request in an hour sends nothing")
    func resetPassword() async throws {
        let smtp = try await MailSink.start()
        defer { smtp.stop() }
        let member = try await harness.member(.manager, email: "marc@optique-a.fr")
        let userID = member.user.id.uuidString.lowercased()
        try await withWorker(mailer: smtp.mailer) {
            try await harness.test { client in
                let login = #"{"account": "optique-a", "email": "marc@optique-a.fr", "password": "\#(APIHarness.password)"}"#
                let first = try #require(try await client.call(.post, "/v1/auth/login", key: nil, json: login).json["token"] as? String)
                let second = try #require(try await client.call(.post, "/v1/auth/login", key: nil, json: login).json["token"] as? String)
                let ask = #"{"account": " Optique-A ", "email": "Marc@optique-a.fr"}"#

                // 1: reset through the API, once.
                #expect(try await client.call(.post, "/v1/auth/forgot-password", key: nil, json: ask).status == .accepted)
                let mail = try await smtp.waitForMail(count: 1)[0]
                #expect(mail.rcpt_tos == ["marc@optique-a.fr"])
                let text = try #require(mail.text)
                let link = try #require(Self.link(in: text, path: "/reset-password?token="))
                #expect(mail.html?.contains(link) == true)
                let token = String(link.split(separator: "=").last ?? "")
                #expect(token.hasPrefix("cr_"))
                #expect(try await jobPayloads(AccountMailJobs.passwordResetEmail).allSatisfy { !$0.contains("cr_") })
                let page = try await client.page(.get, String(link.dropFirst("https://app.example.fr".count)))
                #expect(page.status == .ok)
                #expect(page.text.contains(#"action="/reset-password""#))

                let short = try await client.call(.post, "/v1/auth/reset-password", key: nil,
                    json: #"{"token": "\#(token)", "password": "short"}"#)
                #expect(short.status == .unprocessableContent)
                let reset = try await client.call(.post, "/v1/auth/reset-password", key: nil,
                    json: #"{"token": "\#(token)", "password": "a brand new secret"}"#)
                #expect(reset.status == .noContent)
                #expect(try await client.call(.get, "/v1/me", key: first).status == .unauthorized)
                #expect(try await client.call(.get, "/v1/me", key: second).status == .unauthorized)
                #expect(try await client.call(.post, "/v1/auth/login", key: nil, json: login).status == .unauthorized)
                let newLogin = #"{"account": "optique-a", "email": "marc@optique-a.fr", "password": "a brand new secret"}"#
                #expect(try await client.call(.post, "/v1/auth/login", key: nil, json: newLogin).status == .ok)
                let reused = try await client.call(.post, "/v1/auth/reset-password", key: nil,
                    json: #"{"token": "\#(token)", "password": "yet another secret"}"#)
                #expect(reused.status == .badRequest)
                #expect(reused.problem?["type"] as? String == "/problems/invalid-reset-token")
                let forged = try await client.call(.post, "/v1/auth/reset-password", key: nil,
                    json: #"{"token": "\#(token.dropLast(4))beef", "password": "yet another secret"}"#)
                #expect(forged.problem?["type"] as? String == "/problems/invalid-reset-token")
                #expect(try await client.call(.post, "/v1/auth/reset-password", key: nil,
                    json: #"{"token": "nonsense", "password": "yet another secret"}"#).status == .badRequest)

                // 2: expired after its hour.
                #expect(try await client.call(.post, "/v1/auth/forgot-password", key: nil, json: ask).status == .accepted)
                let expiringText = try await smtp.waitForMail(count: 2)[1].text ?? ""
                let expiring = try #require(Self.link(in: expiringText, path: "/reset-password?token="))
                let expiringToken = String(expiring.split(separator: "=").last ?? "")
                _ = try await harness.database.query("""
                    UPDATE platform.password_resets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL
                    """)
                let expired = try await client.call(.post, "/v1/auth/reset-password", key: nil,
                    json: #"{"token": "\#(expiringToken)", "password": "yet another secret"}"#)
                #expect(expired.status == .badRequest)
                #expect(expired.problem?["type"] as? String == "/problems/invalid-reset-token")
                #expect(try await client.page(.get, "/reset-password?token=\(expiringToken)").status == .badRequest)

                // 3: through the HTML page.
                let third = try await client.call(.post, "/v1/auth/login", key: nil, json: newLogin)
                let session = try #require(third.json["token"] as? String)
                #expect(try await client.call(.post, "/v1/auth/forgot-password", key: nil, json: ask).status == .accepted)
                let pageText = try await smtp.waitForMail(count: 3)[2].text ?? ""
                let pageLink = try #require(Self.link(in: pageText, path: "/reset-password?token="))
                let pageToken = String(pageLink.split(separator: "=").last ?? "")
                let bad = try await client.page(.post, "/reset-password",
                    form: "token=cr_0000000000000000_\(String(repeating: "0", count: 64))&password=page+secret+one&password_confirmation=page+secret+one")
                #expect(bad.status == .badRequest)
                #expect(bad.headers[.contentType] == "text/html; charset=utf-8")
                #expect(bad.text.contains("Lien non valable"))
                let mismatch = try await client.page(.post, "/reset-password",
                    form: "token=\(pageToken)&password=page+secret+one&password_confirmation=page+secret+two")
                #expect(mismatch.status == .unprocessableContent)
                let good = try await client.page(.post, "/reset-password",
                    form: "token=\(pageToken)&password=page+secret+one&password_confirmation=page+secret+one")
                #expect(good.status == .ok)
                #expect(good.text.contains("Mot de passe changé"))
                #expect(try await client.call(.get, "/v1/me", key: session).status == .unauthorized)
                #expect(try await client.call(.post, "/v1/auth/login", key: nil,
                    json: #"{"account": "optique-a", "email": "marc@optique-a.fr", "password": "page secret one"}"#).status == .ok)
                #expect(try await client.page(.post, "/reset-password",
                    form: "token=\(pageToken)&password=page+secret+two&password_confirmation=page+secret+two").status == .badRequest)

                // 4: the fourth request of the hour is answered alike and sends nothing.
                #expect(try await client.call(.post, "/v1/auth/forgot-password", key: nil, json: ask).status == .accepted)
                #expect(try await jobPayloads(AccountMailJobs.passwordResetEmail).count == 3)
                try await Task.sleep(for: .milliseconds(500))
                #expect(try smtp.received().count == 3)

                // The audit log has the account events, by the user.
                let audit = try await client.call(.get, "/v1/audit-log?entity=user&entity_id=\(userID)", key: harness.keyA)
                let entries = try #require(audit.json["items"] as? [[String: Any]])
                let actions = entries.compactMap { $0["action"] as? String }
                #expect(actions.filter { $0 == "reset_password" }.count == 2)
                #expect(actions.filter { $0 == "request_password_reset" }.count == 3)
                #expect(entries.contains { $0["action"] as? String == "reset_password" && $0["actor"] as? String == "user:\(userID)" })
            }
        }
    }

    @Test("the pages escape what they echo back, check the link first, and always answer HTML")
    func pagesEscape() async throws {
        try await harness.test { client in
            let invited = try await client.call(.post, "/v1/users", key: harness.keyA,
                json: #"{"email": "echo@optique-a.fr", "role": "viewer"}"#)
            let token = try #require(invited.json["invitation_token"] as? String)
            let hostile = "%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"
            let echoed = try await client.page(.post, "/accept-invitation",
                form: "token=\(token)&name=\(hostile)&password=first+password&password_confirmation=other+password")
            #expect(echoed.status == .unprocessableContent)
            #expect(!echoed.text.contains("<script>"))
            #expect(echoed.text.contains(#"value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;""#))
            for path in ["/reset-password", "/accept-invitation"] {
                let dead = try await client.page(.post, path,
                    form: "token=\(hostile)&name=\(hostile)&password=first+password&password_confirmation=other+password")
                #expect(dead.status == .badRequest)
                #expect(dead.headers[.contentType] == "text/html; charset=utf-8")
                #expect(!dead.text.contains("<script>"))
                let empty = try await client.page(.post, path)
                #expect(empty.status == .badRequest)
                #expect(empty.headers[.contentType] == "text/html; charset=utf-8")
                #expect(try await client.page(.get, "\(path)?token=\(hostile)").status == .badRequest)
            }
        }
    }

    @Test("an account's reset emails are capped per hour too: past the cap a request for another user sends nothing")
    func resetRequestsPerAccount() async throws {
        var settings = UserStore.Settings()
        settings.resetsPerAccountPerHour = 2
        let users = UserStore(client: harness.database, hasher: harness.server.users.hasher, settings: settings,
                              mailQueue: AccountMailJobs.enqueue)
        for index in 0..<3 {
            _ = try await harness.member(.viewer, email: "capped\(index)@optique-a.fr")
            try await users.requestPasswordReset(tenantSlug: "optique-a", email: "capped\(index)@optique-a.fr", address: nil)
        }
        #expect(try await jobPayloads(AccountMailJobs.passwordResetEmail).count == 2)
        // Another account is not held back by this one's cap.
        let scopeB = TenantScope(try await harness.directory.find(slug: "garage-b"))
        _ = try await harness.server.users.createActive(
            tenantID: scopeB.tenantID, email: "chef@garage-b.fr", name: nil, role: .owner, password: APIHarness.password)
        try await users.requestPasswordReset(tenantSlug: "garage-b", email: "chef@garage-b.fr", address: nil)
        #expect(try await jobPayloads(AccountMailJobs.passwordResetEmail).count == 3)
        await harness.database.shutdown()
    }

    @Test("too many reset requests from one address get 429, whatever they name")
    func resetRequestsPerAddress() async throws {
        let users = harness.server.users
        for index in 0..<users.settings.resetRequestsPerAddressPerHour {
            try await users.requestPasswordReset(tenantSlug: "optique-a", email: "n\(index)@optique-a.fr", address: "203.0.113.9")
        }
        await #expect(throws: TenancyError.self) {
            try await users.requestPasswordReset(tenantSlug: "optique-a", email: "other@optique-a.fr", address: "203.0.113.9")
        }
        // Another address is not held back.
        try await users.requestPasswordReset(tenantSlug: "optique-a", email: "other@optique-a.fr", address: "203.0.113.10")
        await harness.database.shutdown()
    }

    @Test("changing one's password: a session only, the current password checked and throttled, other sessions end")
    func changePassword() async throws {
        let member = try await harness.member(.agent, email: "ines@optique-a.fr")
        let userID = member.user.id.uuidString.lowercased()
        try await harness.test { client in
            let login = #"{"account": "optique-a", "email": "ines@optique-a.fr", "password": "\#(APIHarness.password)"}"#
            let current = try #require(try await client.call(.post, "/v1/auth/login", key: nil, json: login).json["token"] as? String)
            let other = try #require(try await client.call(.post, "/v1/auth/login", key: nil, json: login).json["token"] as? String)

            let byKey = try await client.call(.post, "/v1/me/password", key: member.key,
                json: #"{"current_password": "\#(APIHarness.password)", "new_password": "a key has none"}"#)
            #expect(byKey.status == .forbidden)
            #expect(byKey.problem?["type"] as? String == "/problems/forbidden")
            #expect(try await client.call(.post, "/v1/me/password", key: nil,
                json: #"{"current_password": "x", "new_password": "yyyyyyyyyyyy"}"#).status == .unauthorized)
            let wrong = try await client.call(.post, "/v1/me/password", key: current,
                json: #"{"current_password": "not my password", "new_password": "my new password"}"#)
            #expect(wrong.status == .forbidden)
            #expect(wrong.problem?["type"] as? String == "/problems/wrong-password")
            let malformed = try await client.call(.post, "/v1/me/password", key: current, json: #"{"current_password": 12"#)
            #expect(malformed.status == .badRequest)
            #expect(malformed.problem != nil)
            let missing = try await client.call(.post, "/v1/me/password", key: current, json: #"{"current_password": "x"}"#)
            #expect(missing.status == .unprocessableContent)
            #expect(missing.problem?["field"] as? String == "new_password")
            let short = try await client.call(.post, "/v1/me/password", key: current,
                json: #"{"current_password": "\#(APIHarness.password)", "new_password": "short"}"#)
            #expect(short.status == .unprocessableContent)

            let changed = try await client.call(.post, "/v1/me/password", key: current,
                json: #"{"current_password": "\#(APIHarness.password)", "new_password": "my new password"}"#)
            #expect(changed.status == .noContent)
            #expect(try await client.call(.get, "/v1/me", key: current).status == .ok)
            #expect(try await client.call(.get, "/v1/me", key: other).status == .unauthorized)
            #expect(try await client.call(.post, "/v1/auth/login", key: nil, json: login).status == .unauthorized)
            #expect(try await client.call(.post, "/v1/auth/login", key: nil,
                json: #"{"account": "optique-a", "email": "ines@optique-a.fr", "password": "my new password"}"#).status == .ok)
            let audit = try await client.call(.get, "/v1/audit-log?entity=user&entity_id=\(userID)", key: harness.keyA)
            let entries = try #require(audit.json["items"] as? [[String: Any]])
            #expect(entries.contains { $0["action"] as? String == "change_password" && $0["actor"] as? String == "user:\(userID)" })

            // Wrong current passwords are throttled like failed logins: 5, then 429.
            for _ in 0..<5 {
                #expect(try await client.call(.post, "/v1/me/password", key: current,
                    json: #"{"current_password": "still wrong!", "new_password": "whatever goes"}"#).status == .forbidden)
            }
            let throttled = try await client.call(.post, "/v1/me/password", key: current,
                json: #"{"current_password": "my new password", "new_password": "whatever goes"}"#)
            #expect(throttled.status == .tooManyRequests)
            #expect(throttled.headers[.retryAfter] != nil)
        }
    }

    @Test("with no mail server, or a refusing one, the email job is discarded with the reason; nothing crashes")
    func mailFailures() async throws {
        let refusing = try await MailSink.start(mode: "rcpt-550")
        defer { refusing.stop() }
        for (mailer, reason) in [(NoMailServer() as any AccountMailer, "no mail server is configured"),
                                 (refusing.mailer, "550")] {
            let scope = try await harness.scopeA()
            _ = try await harness.server.users.invite(
                in: scope, email: "x\(UUID().uuidString.prefix(6))@optique-a.fr", name: nil, role: .viewer, by: .owner, label: "test")
            try await withWorker(mailer: mailer) {
                var errors: [String] = []
                for _ in 0..<200 {
                    errors = try await harness.database.query("""
                        SELECT last_error FROM platform.job_history WHERE kind = \(AccountMailJobs.invitationEmail) AND state = 'discarded'
                        """).map { try $0.decode(String.self, at: 0) }
                    if errors.contains(where: { $0.contains(reason) }) { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(errors.contains { $0.contains(reason) }, "\(errors)")
            }
        }
        #expect(try refusing.received().isEmpty)
        await harness.database.shutdown()
    }

    // MARK: Helpers

    /// Runs the account email jobs with a real worker while `body` runs.
    func withWorker(mailer: any AccountMailer, _ body: () async throws -> Void) async throws {
        var options = JobWorker.Options()
        options.pollInterval = .milliseconds(50)
        let worker = JobWorker(
            queue: JobQueue(client: harness.database),
            handlers: AccountMailJobs.handlers(database: harness.database, mailer: mailer, links: Self.links),
            options: options, listener: nil, logger: TestDatabase.logger)
        let running = Task { try await worker.run() }
        do {
            try await body()
        } catch {
            running.cancel()
            _ = await running.result
            throw error
        }
        running.cancel()
        _ = await running.result
    }

    /// The payloads of the jobs of a kind, pending or finished.
    func jobPayloads(_ kind: String) async throws -> [String] {
        try await harness.database.query("""
            SELECT payload::text FROM platform.jobs WHERE kind = \(kind)
            UNION ALL SELECT payload::text FROM platform.job_history WHERE kind = \(kind)
            """).map { try $0.decode(String.self, at: 0) }
    }

    /// The first link in a text that starts with the public URL and this path.
    static func link(in text: String, path: String) -> String? {
        let prefix = links.baseURL + path
        guard let start = text.range(of: prefix) else { return nil }
        let rest = text[start.lowerBound...]
        return String(rest.prefix { !$0.isWhitespace && $0 != "<" && $0 != "\"" })
    }
}

struct SMTPMailer: AccountMailer {
    let configuration: SMTPConfiguration

    func send(_ email: AccountEmail) async throws {
        let message = EmailMessage(
            from: EmailAddress("no-reply@clientele.test", name: "Clientele"), to: [EmailAddress(email.to)],
            subject: email.subject, text: email.text, html: email.html)
        do {
            _ = try await SMTPClient(configuration: configuration).send(message)
        } catch let error as SMTPError {
            throw AccountMailRefusal(transient: error.isTransient, error.description)
        }
    }
}

struct NoMailServer: AccountMailer {
    func send(_ email: AccountEmail) async throws {
        throw AccountMailRefusal(transient: false, "no mail server is configured (CLIENTELE_SMTP_URL)")
    }
}
