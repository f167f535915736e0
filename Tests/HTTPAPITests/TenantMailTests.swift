import Churn
import ClientBase
import Delivery
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import NIOCore
import Outbound
import Postgres
import Surveys
import Tenancy
import Testing
import TestSupport

/// The tests' webhook receiver (DeliveryTests/webhook/webhook_receiver.py).
struct HookReceiver {
    struct Request: Decodable {
        var path: String
        var headers: [[String]]
        var body_base64: String

        var body: [UInt8] { Array(Data(base64Encoded: body_base64) ?? Data()) }
        func header(_ name: String) -> String? { headers.first { $0[0].lowercased() == name.lowercased() }?[1] }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:] }
    }

    let server: LoopbackServer

    static func start() async throws -> HookReceiver {
        HookReceiver(server: try await LoopbackServer.start(script: "DeliveryTests/webhook/webhook_receiver.py", arguments: []))
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(server.port)\(path)" }
    func stop() { server.stop() }
    func requests() throws -> [Request] { try server.records(in: "requests", as: Request.self) }
}

extension APIHarness {
    func router(platform: OutboundMail?, trust: TLSTrust = .systemDefault) -> TenantMailRouter {
        TenantMailRouter(database: database, platform: platform, secretBox: APIHarness.secretBox, tenantTrust: trust)
    }

    func delivery(router: TenantMailRouter, webhooks: WebhookSender? = nil) -> SurveyDelivery {
        SurveyDelivery(database: database, mailer: SMTPSurveyMailer(router: router), links: Self.links,
                       webhooks: webhooks.map(WebhookSurveyPoster.init(sender:)))
    }

    /// A tenant's invitations of a campaign: (id, state, reason), in creation order.
    func invitations(_ campaignID: String, slug: String) async throws -> [(id: UUID, state: String, reason: String?)] {
        let id = try #require(UUID(uuidString: campaignID))
        let rows = try await sql(["SELECT id, state, reason FROM survey_invitations WHERE campaign_id = \(id) ORDER BY id"], slug: slug)
        return try rows[0].map { (try $0.decode(UUID.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(String?.self, at: 2)) }
    }
}

/// One test at a time: each holds a database pool and loopback servers, and the whole suite
/// runs beside every other on one shared cluster.
@Suite("Tenant mail servers and the webhook channel", .serialized)
struct TenantMailTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    static let tenantServer = #"{"host": "smtp.optique-a.fr", "port": 2525, "security": "startTLS", "username": "avis", "password": " s3cret pass ", "from_address": "avis@optique-a.fr", "from_name": "Optique A"}"#

    @Test("settings: PUT, GET, DELETE; the password is write-only, sealed at rest and never audited")
    func crud() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let none = try await client.call(.get, "/v1/mail/settings", key: key)
            #expect(none.status == .notFound && none.problem != nil)

            let put = try await client.call(.put, "/v1/mail/settings", key: key, json: Self.tenantServer)
            #expect(put.status == .ok, "\(put.text)")
            #expect(put.json["host"] as? String == "smtp.optique-a.fr")
            #expect(put.json["port"] as? Int == 2525)
            #expect(put.json["security"] as? String == "startTLS")
            #expect(put.json["username"] as? String == "avis")
            #expect(put.json["has_password"] as? Bool == true)
            #expect(put.json["from_name"] as? String == "Optique A")
            #expect(put.json["password"] == nil && !put.text.contains("s3cret"))
            let got = try await client.call(.get, "/v1/mail/settings", key: key)
            #expect(got.status == .ok && got.json["has_password"] as? Bool == true && !got.text.contains("s3cret"))

            // At rest: sealed, not the clear text; the platform key opens it, spaces kept.
            let stored = try await harness.sql(["SELECT password_sealed FROM mail_settings"])[0][0].decode(String.self, at: 0)
            #expect(stored.hasPrefix("v1:") && !stored.contains("s3cret"))
            #expect(try APIHarness.secretBox.open(stored) == " s3cret pass ")

            // Left out, the password is kept; null removes it.
            let kept = try await client.call(.put, "/v1/mail/settings", key: key, json: """
                {"host": "smtp2.optique-a.fr", "security": "tls", "username": "avis", "from_address": "avis@optique-a.fr"}
                """)
            #expect(kept.json["has_password"] as? Bool == true && kept.json["port"] as? Int == 465)
            #expect(try await harness.sql(["SELECT password_sealed FROM mail_settings"])[0][0].decode(String.self, at: 0) == stored)
            let cleared = try await client.call(.put, "/v1/mail/settings", key: key, json: """
                {"host": "smtp2.optique-a.fr", "security": "tls", "username": "avis", "password": null, "from_address": "avis@optique-a.fr"}
                """)
            #expect(cleared.json["has_password"] as? Bool == false)

            let audit = try await harness.audit("mail_settings", "settings")
            #expect(audit.map(\.0) == ["create", "update", "update"])
            #expect(audit.allSatisfy { !$0.1.contains("s3cret") && !$0.1.contains(stored) })
            #expect(audit[0].1.contains("has_password"))

            let deleted = try await client.call(.delete, "/v1/mail/settings", key: key)
            #expect(deleted.status == .noContent)
            #expect(try await client.call(.get, "/v1/mail/settings", key: key).status == .notFound)
            #expect(try await client.call(.delete, "/v1/mail/settings", key: key).status == .notFound)
            #expect(try await harness.audit("mail_settings", "settings").map(\.0).last == "delete")
        }
    }

    @Test("settings: bad input is a 422 naming the field")
    func validation() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let cases: [(String, String)] = [
                (#"{"host": "", "from_address": "a@b.fr"}"#, "host"),
                (#"{"from_address": "a@b.fr"}"#, "host"),
                (#"{"host": "smtp bad", "from_address": "a@b.fr"}"#, "host"),
                (#"{"host": "smtp.b.fr", "port": 0, "from_address": "a@b.fr"}"#, "port"),
                (#"{"host": "smtp.b.fr", "port": 65536, "from_address": "a@b.fr"}"#, "port"),
                (#"{"host": "smtp.b.fr", "port": "25", "from_address": "a@b.fr"}"#, "port"),
                (#"{"host": "smtp.b.fr", "security": "ssl", "from_address": "a@b.fr"}"#, "security"),
                (#"{"host": "smtp.b.fr", "from_address": "not an address"}"#, "from_address"),
                (#"{"host": "smtp.b.fr"}"#, "from_address"),
                (#"{"host": "smtp.b.fr", "from_address": "a@b.fr", "from_name": "A <b>"}"#, "from_name"),
                (#"{"host": "smtp.b.fr", "from_address": "a@b.fr", "password": "x"}"#, "username"),
                (#"{"host": "smtp.b.fr", "from_address": "a@b.fr", "password": ""}"#, "password"),
                (#"{"host": "smtp.b.fr", "from_address": "a@b.fr", "security": "none", "username": "u"}"#, "security"),
                (#"{"host": "smtp.b.fr", "from_address": "a@b.fr", "has_password": true}"#, "has_password"),
                (#"{"host": "smtp.b.fr", "from_address": "a@b.fr", "relay": true}"#, "relay"),
            ]
            for (body, field) in cases {
                try await client.expectInvalid(.put, "/v1/mail/settings", key: key, body, field: field)
            }
            #expect(try await client.call(.get, "/v1/mail/settings", key: key).status == .notFound)
            let malformed = try await client.call(.put, "/v1/mail/settings", key: key, json: "{")
            #expect(malformed.status == .badRequest)
        }
    }

    @Test("without CLIENTELE_SECRET_KEY a password cannot be stored (422 saying so); the rest can")
    func noKey() async throws {
        await self.harness.database.shutdown()  // this test's server has no key: another harness
        let harness = try await APIHarness.make(secretBox: nil)
        let key = harness.keyA
        try await harness.test { client in
            let refused = try await client.call(.put, "/v1/mail/settings", key: key, json: Self.tenantServer)
            #expect(refused.status == .unprocessableContent)
            #expect((refused.problem?["detail"] as? String)?.contains("CLIENTELE_SECRET_KEY") == true)
            #expect(refused.problem?["field"] as? String == "password")
            let accepted = try await client.call(.put, "/v1/mail/settings", key: key, json: """
                {"host": "relay.optique-a.fr", "security": "none", "from_address": "avis@optique-a.fr"}
                """)
            #expect(accepted.status == .ok && accepted.json["port"] as? Int == 25)
        }
    }

    @Test("only owners and admins see or change the mail server", arguments: [AccessRole.manager, .agent, .viewer])
    func roles(role: AccessRole) async throws {
        let (_, key) = try await harness.member(role)
        let (_, admin) = try await harness.member(.admin)
        try await harness.test { client in
            #expect(try await client.call(.put, "/v1/mail/settings", key: admin, json: Self.tenantServer).status == .ok)
            for (method, body) in [(HTTPRequest.Method.get, nil), (.put, Self.tenantServer), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                let response = try await client.call(method, "/v1/mail/settings", key: key, json: body)
                #expect(response.status == .forbidden, "\(role) \(method): \(response.status)")
                #expect(response.problem?["type"] as? String == "/problems/forbidden")
            }
            // Nothing changed.
            #expect(try await client.call(.get, "/v1/mail/settings", key: admin).json["host"] as? String == "smtp.optique-a.fr")
        }
    }

    @Test("one tenant's settings are not another's")
    func isolationOfSettings() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let put = try await client.call(.put, "/v1/mail/settings", key: keyA, json: Self.tenantServer)
            #expect(put.status == .ok)
            #expect(try await client.call(.get, "/v1/mail/settings", key: keyB).status == .notFound)
            #expect(try await client.call(.delete, "/v1/mail/settings", key: keyB).status == .notFound)
            #expect(try await client.call(.get, "/v1/mail/settings", key: keyA).status == .ok)
        }
    }

    @Test("a survey email goes through the tenant's own server; another tenant's through the platform's")
    func surveyEmailRouting() async throws {
        let platform = try await MailSink.start()
        defer { platform.stop() }
        let tenant = try await MailSink.start()
        defer { tenant.stop() }
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        let harness = harness
        let delivery = harness.delivery(router: harness.router(platform: platform.platform))
        try await harness.test { client in
            let settings = try await client.call(.put, "/v1/mail/settings", key: keyA, json: """
                {"host": "127.0.0.1", "port": \(tenant.port), "security": "none", "from_address": "avis@optique-a.fr", "from_name": "Optique A"}
                """)
            #expect(settings.status == .ok, "\(settings.text)")

            _ = try await client.surveyClient(key: keyA, name: "Alice", email: "alice@example.fr")
            let campaignA = try await client.campaign(key: keyA)
            #expect(try await client.send(campaignA, key: keyA).0 == 1)
            _ = try await client.surveyClient(key: keyB, name: "Bruno", email: "bruno@example.fr")
            let campaignB = try await client.campaign(key: keyB)
            #expect(try await client.send(campaignB, key: keyB).0 == 1)

            let a = try #require(try await harness.invitations(campaignA, slug: "optique-a").first)
            #expect(try await delivery.deliver(a.id, scope: try await harness.scope("optique-a")) == .sent)
            let b = try #require(try await harness.invitations(campaignB, slug: "garage-b").first)
            #expect(try await delivery.deliver(b.id, scope: try await harness.scope("garage-b")) == .sent)

            let viaTenant = try tenant.received()
            #expect(viaTenant.map(\.rcpt_tos) == [["alice@example.fr"]])
            #expect(viaTenant.first?.mail_from == "avis@optique-a.fr")
            #expect(viaTenant.first?.header("From").first?.contains("avis@optique-a.fr") == true)
            let viaPlatform = try platform.received()
            #expect(viaPlatform.map(\.rcpt_tos) == [["bruno@example.fr"]])
            #expect(viaPlatform.first?.mail_from == "no-reply@platform.test")
            #expect(try await harness.invitations(campaignA, slug: "optique-a").first?.state == "sent")

            // Settings removed: tenant A's next email goes through the platform's server.
            #expect(try await client.call(.delete, "/v1/mail/settings", key: keyA).status == .noContent)
            _ = try await client.call(.patch, "/v1/survey-settings", key: keyA, json: #"{"min_days_between_surveys": 0}"#)
            let again = try await client.campaign(key: keyA, #""name": "Again""#)
            #expect(try await client.send(again, key: keyA).0 == 1)
            let second = try #require(try await harness.invitations(again, slug: "optique-a").first)
            #expect(try await delivery.deliver(second.id, scope: try await harness.scope("optique-a")) == .sent)
            #expect(try platform.received().map(\.rcpt_tos) == [["bruno@example.fr"], ["alice@example.fr"]])
            #expect(try tenant.received().count == 1)
        }
    }

    @Test("the tenant's server with STARTTLS and AUTH: the sealed password is opened to log in")
    func tenantServerWithAuth() async throws {
        let files = try TestCertificate.files.get()
        let tenant = try await MailSink.start(arguments: ["--cert", files.certificate, "--key", files.key, "--auth", "avis:s3cret pass"])
        defer { tenant.stop() }
        let key = harness.keyA
        let harness = harness
        let delivery = harness.delivery(router: harness.router(platform: nil, trust: .pemFile(files.certificate)))
        try await harness.test { client in
            let settings = try await client.call(.put, "/v1/mail/settings", key: key, json: """
                {"host": "127.0.0.1", "port": \(tenant.port), "security": "startTLS", "username": "avis", "password": "s3cret pass",
                 "from_address": "avis@optique-a.fr"}
                """)
            #expect(settings.status == .ok, "\(settings.text)")
            _ = try await client.surveyClient(key: key, name: "Chloe", email: "chloe@example.fr")
            let campaign = try await client.campaign(key: key)
            _ = try await client.send(campaign, key: key)
            let invitation = try #require(try await harness.invitations(campaign, slug: "optique-a").first)
            #expect(try await delivery.deliver(invitation.id, scope: try await harness.scope("optique-a")) == .sent)
            let received = try tenant.received()
            #expect(received.count == 1)
            #expect(received.first?.tls == true && received.first?.login == "avis")

            // A wrong password (535) is a permanent refusal: failed with the server's reason.
            _ = try await client.call(.put, "/v1/mail/settings", key: key, json: """
                {"host": "127.0.0.1", "port": \(tenant.port), "security": "startTLS", "username": "avis", "password": "wrong",
                 "from_address": "avis@optique-a.fr"}
                """)
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            let refused = try await client.campaign(key: key, #""name": "Refused""#)
            _ = try await client.send(refused, key: key)
            let other = try #require(try await harness.invitations(refused, slug: "optique-a").first)
            guard case .failed(let reason) = try await delivery.deliver(other.id, scope: try await harness.scope("optique-a")) else {
                Issue.record("a wrong password should fail the invitation")
                return
            }
            #expect(reason.contains("535"))
            #expect(try tenant.received().count == 1)
        }
    }

    @Test("no server at all: the invitation fails with a reason that says so")
    func noServer() async throws {
        let key = harness.keyA
        let harness = harness
        let delivery = harness.delivery(router: harness.router(platform: nil))
        try await harness.test { client in
            _ = try await client.surveyClient(key: key)
            let campaign = try await client.campaign(key: key)
            _ = try await client.send(campaign, key: key)
            let invitation = try #require(try await harness.invitations(campaign, slug: "optique-a").first)
            let outcome = try await delivery.deliver(invitation.id, scope: try await harness.scope("optique-a"))
            guard case .failed(let reason) = outcome else {
                Issue.record("expected failed, got \(outcome)")
                return
            }
            #expect(reason.contains("no mail server is configured"))
        }
    }

    @Test("an alert digest goes through the tenant's server; without settings, the platform's")
    func digestRouting() async throws {
        let platform = try await MailSink.start()
        defer { platform.stop() }
        let tenant = try await MailSink.start()
        defer { tenant.stop() }
        let (user, _) = try await harness.member(.manager, email: "gerante@optique-a.fr")
        let key = harness.keyA
        let harness = harness
        let notifier = DeliveryAlertNotifier(
            database: harness.database, webhooks: try WebhookSender(), router: harness.router(platform: platform.platform))
        let scope = try await harness.scope("optique-a")
        let digest = AlertDigest(on: Date(timeIntervalSince1970: 1_780_000_000), items: [])
        try await harness.test { client in
            _ = try await client.call(.put, "/v1/mail/settings", key: key, json: """
                {"host": "127.0.0.1", "port": \(tenant.port), "security": "none", "from_address": "alertes@optique-a.fr"}
                """)
            try await notifier.sendDigest(digest, tenantID: scope.tenantID, userID: user.id)
            #expect(try tenant.received().map(\.rcpt_tos) == [["gerante@optique-a.fr"]])
            #expect(try tenant.received().first?.mail_from == "alertes@optique-a.fr")
            #expect(try platform.received().isEmpty)

            _ = try await client.call(.delete, "/v1/mail/settings", key: key)
            try await notifier.sendDigest(digest, tenantID: scope.tenantID, userID: user.id)
            #expect(try platform.received().map(\.rcpt_tos) == [["gerante@optique-a.fr"]])
            #expect(try tenant.received().count == 1)
        }
    }

    // MARK: The webhook channel

    static let phone = #", "phone": "+33 6 12 34 56 78""#

    @Test("a campaign's channel: email by default, webhook on request, anything else refused")
    func channelField() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let plain = try await client.create("/v1/survey-campaigns", key: key, """
                {"name": "Mail", "measure": "nps", "question_fr": "Q ?", "trigger": "manual"}
                """)
            #expect(plain["channel"] as? String == "email")
            let sms = try await client.create("/v1/survey-campaigns", key: key, """
                {"name": "SMS", "measure": "nps", "question_fr": "Q ?", "trigger": "manual", "channel": "webhook"}
                """)
            #expect(sms["channel"] as? String == "webhook")
            let id = try #require(sms["id"] as? String)
            try await client.expectInvalid(.patch, "/v1/survey-campaigns/\(id)", key: key, #"{"channel": "sms"}"#, field: "channel")
            let back = try await client.call(.patch, "/v1/survey-campaigns/\(id)", key: key, json: #"{"channel": "email"}"#)
            #expect(back.json["channel"] as? String == "email")
        }
    }

    @Test("webhook invitations: POSTed signed to the tenant's webhook, once; no phone is skipped no_phone")
    func webhookInvitation() async throws {
        let receiver = try await HookReceiver.start()
        defer { receiver.stop() }
        let key = harness.keyA
        let harness = harness
        let delivery = harness.delivery(router: harness.router(platform: nil), webhooks: try WebhookSender())
        let scope = try await harness.scope("optique-a")
        try await harness.test { client in
            let churn = try await client.call(.patch, "/v1/churn/settings", key: key,
                                              json: #"{"webhook_url": "\#(receiver.url("/hooks/sms"))"}"#)
            let secret = try #require(churn.json["webhook_secret"] as? String)
            let reached = try await client.surveyClient(key: key, name: "Sms", email: "sms@example.fr", extra: Self.phone)
            _ = try await client.surveyClient(key: key, name: "Nophone", email: "nophone@example.fr")
            let campaign = try await client.campaign(key: key, #""channel": "webhook""#)
            let (created, skipped) = try await client.send(campaign, key: key)
            #expect(created == 1 && skipped["no_phone"] == 1 && skipped["no_email"] == 0)

            let invitations = try await harness.invitations(campaign, slug: "optique-a")
            #expect(invitations.compactMap(\.reason) == ["no_phone"])
            let invitation = try #require(invitations.first { $0.state == "scheduled" })
            #expect(try await delivery.deliver(invitation.id, scope: scope) == .sent)
            // The job runs again: nothing more is posted.
            #expect(try await delivery.deliver(invitation.id, scope: scope) == .unchanged)

            let requests = try receiver.requests()
            #expect(requests.count == 1)
            let request = try #require(requests.first)
            #expect(request.path == "/hooks/sms")
            #expect(request.header("Clientele-Delivery") == "survey-invitation-\(invitation.id.uuidString.lowercased())")
            let timestamp = try #require(request.header("Clientele-Timestamp"))
            let signature = try #require(request.header("Clientele-Signature"))
            try WebhookSignature.verify(body: request.body, timestamp: timestamp, signature: signature, secret: secret)
            #expect(throws: WebhookSignature.VerificationError.mismatch) {
                try WebhookSignature.verify(body: request.body, timestamp: timestamp, signature: signature, secret: "another")
            }
            let body = request.json
            #expect(body["event"] as? String == "survey.invitation")
            #expect(body["invitation_id"] as? String == invitation.id.uuidString.lowercased())
            #expect(body["campaign_id"] as? String == campaign)
            #expect(body["client_id"] as? String == reached)
            #expect(body["client_name"] as? String == "Sms")
            #expect(body["phone"] as? String == "+33 6 12 34 56 78")
            #expect(body["email"] as? String == "sms@example.fr")
            #expect(body["language"] as? String == "fr")
            #expect((body["survey_url"] as? String)?.hasPrefix("https://avis.example.fr/s/s") == true)
            #expect(body["expires_at"] is String)
            #expect(try await harness.invitations(campaign, slug: "optique-a").first { $0.id == invitation.id }?.state == "sent")

            // The link works: the survey page answers.
            let path = String(try #require(body["survey_url"] as? String).dropFirst("https://avis.example.fr".count))
            #expect(try await client.page(.get, path).status == .ok)
        }
    }

    @Test("webhook: the reminder is posted as survey.reminder; a phone removed before delivery skips it no_phone")
    func webhookReminderAndPhoneRechecked() async throws {
        let receiver = try await HookReceiver.start()
        defer { receiver.stop() }
        let key = harness.keyA
        let harness = harness
        let delivery = harness.delivery(router: harness.router(platform: nil), webhooks: try WebhookSender())
        let scope = try await harness.scope("optique-a")
        try await harness.test { client in
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            _ = try await client.call(.patch, "/v1/churn/settings", key: key, json: #"{"webhook_url": "\#(receiver.url("/hooks"))"}"#)
            _ = try await client.surveyClient(key: key, name: "Rappel", extra: Self.phone)
            let campaign = try await client.campaign(key: key, #""channel": "webhook", "reminder_after_days": 3"#)
            _ = try await client.send(campaign, key: key)
            let invitation = try #require(try await harness.invitations(campaign, slug: "optique-a").first)
            #expect(try await delivery.deliver(invitation.id, scope: scope) == .sent)
            #expect(try await delivery.remind(invitation.id, scope: scope) == .sent)
            #expect(try await delivery.remind(invitation.id, scope: scope) == .unchanged)
            let requests = try receiver.requests()
            #expect(requests.map { $0.json["event"] as? String } == ["survey.invitation", "survey.reminder"])
            #expect(requests.last?.header("Clientele-Delivery") == "survey-reminder-\(invitation.id.uuidString.lowercased())")
            #expect(requests[0].json["survey_url"] as? String != requests[1].json["survey_url"] as? String)

            // The phone is removed between the sending and the delivery: skipped, nothing posted.
            let later = try await client.surveyClient(key: key, name: "Sansnumero", extra: #", "phone": "+33 6 98 76 54 32""#)
            let second = try await client.campaign(key: key, #""name": "Later", "channel": "webhook""#)
            #expect(try await client.send(second, key: key, #"{"client_ids": ["\#(later)"]}"#).0 == 1)
            _ = try await client.call(.patch, "/v1/clients/\(later)", key: key, json: #"{"phone": null}"#)
            let pending = try #require(try await harness.invitations(second, slug: "optique-a").first)
            #expect(try await delivery.deliver(pending.id, scope: scope) == .skipped(.noPhone))
            #expect(try receiver.requests().count == 2)
        }
    }

    @Test("webhook: 503 goes back to sending and the retry delivers once; a lost answer is outcome unknown")
    func webhookRetry() async throws {
        let receiver = try await HookReceiver.start()
        defer { receiver.stop() }
        let key = harness.keyA
        let harness = harness
        let delivery = harness.delivery(
            router: harness.router(platform: nil), webhooks: try WebhookSender(configuration: .init(timeout: .milliseconds(800))))
        let scope = try await harness.scope("optique-a")
        try await harness.test { client in
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            _ = try await client.surveyClient(key: key, name: "Retry", extra: Self.phone)
            _ = try await client.call(.patch, "/v1/churn/settings", key: key, json: #"{"webhook_url": "\#(receiver.url("/status/503"))"}"#)
            let campaign = try await client.campaign(key: key, #""channel": "webhook""#)
            _ = try await client.send(campaign, key: key)
            let invitation = try #require(try await harness.invitations(campaign, slug: "optique-a").first)
            await #expect(throws: SurveyMailRefusal.self) {
                _ = try await delivery.deliver(invitation.id, scope: scope)
            }
            // The receiver answered: it did not take it, so the job may send again.
            #expect(try await harness.invitations(campaign, slug: "optique-a").first?.state == "sending")

            _ = try await client.call(.patch, "/v1/churn/settings", key: key, json: #"{"webhook_url": "\#(receiver.url("/ok"))"}"#)
            #expect(try await delivery.deliver(invitation.id, scope: scope) == .sent)
            #expect(try await delivery.deliver(invitation.id, scope: scope) == .unchanged)
            let requests = try receiver.requests()
            #expect(requests.map(\.path) == ["/status/503", "/ok"])
            #expect(Set(requests.map { $0.header("Clientele-Delivery") }).count == 1)
            #expect(try await harness.invitations(campaign, slug: "optique-a").first?.state == "sent")

            // A receiver that never answers, after the request was written: failed, never resent.
            _ = try await client.call(.patch, "/v1/churn/settings", key: key, json: #"{"webhook_url": "\#(receiver.url("/hang"))"}"#)
            let hanging = try await client.campaign(key: key, #""name": "Hang", "channel": "webhook""#)
            _ = try await client.send(hanging, key: key)
            let lost = try #require(try await harness.invitations(hanging, slug: "optique-a").first)
            #expect(try await delivery.deliver(lost.id, scope: scope) == .failed(SurveyDelivery.outcomeUnknown))
            #expect(try await delivery.deliver(lost.id, scope: scope) == .unchanged)
            #expect(try receiver.requests().count == 3)

            // A permanent answer (410): failed with the receiver's reason.
            _ = try await client.call(.patch, "/v1/churn/settings", key: key, json: #"{"webhook_url": "\#(receiver.url("/status/410"))"}"#)
            let gone = try await client.campaign(key: key, #""name": "Gone", "channel": "webhook""#)
            _ = try await client.send(gone, key: key)
            let refused = try #require(try await harness.invitations(gone, slug: "optique-a").first)
            guard case .failed(let reason) = try await delivery.deliver(refused.id, scope: scope) else {
                Issue.record("a 410 should fail the invitation")
                return
            }
            #expect(reason.contains("410"))
        }
    }

    @Test("webhook campaign without a webhook URL: failed with a clear reason; nothing posted")
    func webhookWithoutURL() async throws {
        let key = harness.keyB
        let harness = harness
        let delivery = harness.delivery(router: harness.router(platform: nil), webhooks: try WebhookSender())
        try await harness.test { client in
            _ = try await client.surveyClient(key: key, name: "Nourl", extra: Self.phone)
            let campaign = try await client.campaign(key: key, #""channel": "webhook""#)
            _ = try await client.send(campaign, key: key)
            let invitation = try #require(try await harness.invitations(campaign, slug: "garage-b").first)
            #expect(try await delivery.deliver(invitation.id, scope: try await harness.scope("garage-b"))
                    == .failed(SurveyDelivery.noWebhookURL))
            let stored = try await harness.invitations(campaign, slug: "garage-b").first
            #expect(stored?.state == "failed" && stored?.reason == SurveyDelivery.noWebhookURL)
        }
    }

}

/// The platform key that seals the tenants' SMTP passwords.
@Suite("SecretBox")
struct SecretBoxTests {
    @Test("SecretBox: hex or base64 keys, a fresh nonce per seal, tampering and other keys refused")
    func secretBox() throws {
        let hex = String(repeating: "07", count: 32)
        let base64 = Data(repeating: 7, count: 32).base64EncodedString()
        let fromHex = try SecretBox(keyText: hex), fromBase64 = try SecretBox(keyText: base64)
        let sealed = try fromHex.seal("mot de passe")
        #expect(try fromBase64.open(sealed) == "mot de passe")
        #expect(try fromHex.seal("mot de passe") != sealed)
        var tampered = Array(sealed)
        // A character inside the ciphertext (the last ones of base64 may be padding bits).
        tampered[20] = tampered[20] == "A" ? "B" : "A"
        #expect(throws: SecretBoxError.cannotOpen) { try fromHex.open(String(tampered)) }
        #expect(throws: SecretBoxError.cannotOpen) { try SecretBox(key: Array(repeating: 8, count: 32)).open(sealed) }
        for bad in ["short", String(repeating: "0", count: 63), Data(repeating: 1, count: 16).base64EncodedString()] {
            #expect(throws: SecretBoxError.badKey) { try SecretBox(keyText: bad) }
        }
        #expect(try SecretBox.fromEnvironment([:]) == nil)
        let error = #expect(throws: OutboundConfigurationError.self) {
            try OutboundSettings.fromEnvironment(["CLIENTELE_SECRET_KEY": "not a key"])
        }
        #expect(error?.description.contains("CLIENTELE_SECRET_KEY must be 32 bytes") == true)
        #expect(error?.description.contains("\n") == false)
    }
}
