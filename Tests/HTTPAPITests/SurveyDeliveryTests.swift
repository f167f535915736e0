import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Surveys
import Testing
import TestSupport

/// Who is invited (consent, email, once per N days, audience) and how an invitation is
/// delivered at most once, with one reminder at most.
@Suite("Survey invitations and delivery")
struct SurveyDeliveryTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("only clients with survey consent and an email are invited; nobody twice within the interval")
    func rules() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let willing = try await client.surveyClient(key: key, name: "Willing")
            let refusing = try await client.surveyClient(key: key, name: "Refusing", consent: false)
            let noEmail = try await client.newClient(key: key, """
                {"kind": "individual", "last_name": "Nomail", "consent": {"surveys": {"granted": true, "source": "form"}}}
                """)
            let first = try await client.campaign(key: key)
            let (created, skipped) = try await client.send(first, key: key)
            #expect(created == 1)
            #expect(skipped == ["no_consent": 1, "no_email": 1, "no_phone": 0, "surveyed_recently": 0, "unsubscribed": 0])
            let states = Dictionary(uniqueKeysWithValues: try await harness.invitations(first).map { ($0.client, ($0.state, $0.reason)) })
            #expect(states[willing]?.0 == "scheduled")
            #expect(states[refusing]?.1 == "no_consent")
            #expect(states[noEmail]?.1 == "no_email")

            // Another campaign within 90 days: surveyed recently, across campaigns.
            let second = try await client.campaign(key: key, #""measure": "ces""#)
            let again = try await client.send(second, key: key, #"{"client_ids": ["\#(willing)"]}"#)
            #expect(again.0 == 0)
            #expect(again.1["surveyed_recently"] == 1)

            // With no minimum interval, the same client may be asked again.
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            let third = try await client.campaign(key: key, #""measure": "csat""#)
            #expect(try await client.send(third, key: key, #"{"client_ids": ["\#(willing)"]}"#).0 == 1)
            #expect(try await harness.audit("survey_campaign", third).map(\.0) == ["create", "send"])
        }
    }

    @Test("audiences filter by category, kind and tags; listed clients are taken as they are")
    func audiences() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let vip = try await client.surveyClient(key: key, name: "Vip", extra: #", "category": "actual_client", "tags": ["vip", "lyon"]"#)
            _ = try await client.surveyClient(key: key, name: "Plain", extra: #", "category": "actual_client""#)
            _ = try await client.surveyClient(key: key, name: "Prospect", extra: #", "tags": ["vip"]"#)
            let company = try await client.newClient(key: key, """
                {"kind": "business", "organisation_name": "Garage SA", "email": "garage@example.fr", "category": "actual_client",
                 "tags": ["vip"], "consent": {"surveys": {"granted": true, "source": "form"}}}
                """)
            let campaign = try await client.campaign(key: key, """
                "audience": {"categories": ["actual_client"], "kinds": ["individual"], "tags": ["vip"]}
                """)
            #expect(try await client.send(campaign, key: key).0 == 1)
            #expect(try await harness.invitations(campaign).map(\.client) == [vip])

            let businesses = try await client.campaign(key: key, #""name": "B2B""#)
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            #expect(try await client.send(businesses, key: key, #"{"audience": {"kinds": ["business"]}}"#).0 == 1)
            #expect(try await harness.invitations(businesses).map(\.client) == [company])
            try await client.expectInvalid(.post, "/v1/survey-campaigns/\(businesses)/send", key: key,
                                           #"{"client_ids": ["\#(vip)"], "audience": {}}"#, field: "audience")
            try await client.expectInvalid(.post, "/v1/survey-campaigns/\(businesses)/send", key: key,
                                           #"{"client_ids": ["nope"]}"#, field: "client_ids")
        }
    }

    @Test("an invitation is sent once: a rerun sends nothing more; the email has both parts, its link and List-Unsubscribe")
    func deliverOnce() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"sender_name": "Optique A & fils"}"#)
            let address = "jeanne@example.fr"
            _ = try await client.surveyClient(key: key, name: "Jeanne", email: address)
            let campaign = try await client.campaign(key: key, #""question_fr": "Votre avis <b>compte</b> ?""#)
            _ = try await client.send(campaign, key: key)
            let mailer = RecordingMailer()
            #expect(try await harness.deliverAll(campaign, with: mailer) == [.sent])
            let invitation = try #require(try await harness.invitations(campaign).first)
            #expect(invitation.state == "sent")
            // The job runs again (rescued): nothing is sent twice.
            #expect(try await harness.delivery(mailer).deliver(invitation.id, scope: try await harness.scopeA()) == .unchanged)
            #expect(mailer.sent.count == 1)

            let email = try #require(mailer.sent.first)
            #expect(email.to == address)
            #expect(email.subject == "Votre avis nous intéresse")
            #expect(email.surveyURL.hasPrefix("https://avis.example.fr/s/s"))
            #expect(email.listUnsubscribe == email.surveyURL + "/unsubscribe")
            #expect(email.text.contains(email.surveyURL) && email.text.contains("Votre avis <b>compte</b> ?"))
            #expect(email.html.contains("Votre avis &lt;b&gt;compte&lt;/b&gt; ?"))
            #expect(email.html.contains("Optique A &amp; fils"))
            #expect(email.fromName == "Optique A & fils")
            // Only the token's hash is kept.
            let token = String(email.pagePath.dropFirst(3))
            let stored = try await harness.sql(["SELECT token_hash FROM survey_tokens"])[0].map { try $0.decode(String.self, at: 0) }
            #expect(stored == [try #require(SurveyToken(token)).hash])
            #expect(!stored.contains(token))
        }
    }

    @Test("past the commit point the outcome is unknown: failed, never sent twice; before it, a retry sends once")
    func atMostOnce() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            _ = try await client.surveyClient(key: key)
            let scope = try await harness.scopeA()

            // The connection drops after the final ".": failed "outcome unknown"; a rerun sends nothing.
            let dropped = try await client.campaign(key: key)
            _ = try await client.send(dropped, key: key)
            let mailer = RecordingMailer(.dropAfterCommit)
            #expect(try await harness.deliverAll(dropped, with: mailer) == [.failed(SurveyDelivery.outcomeUnknown)])
            let lost = try #require(try await harness.invitations(dropped).first)
            #expect(lost.state == "failed" && lost.reason == "outcome unknown")
            mailer.behave(.accept)
            #expect(try await harness.delivery(mailer).deliver(lost.id, scope: scope) == .unchanged)
            #expect(mailer.sent.isEmpty)

            // A worker killed between the commit point and "sent": the rerun finds `committing`.
            let killed = try await client.campaign(key: key, #""name": "Killed""#)
            _ = try await client.send(killed, key: key)
            let stuck = try #require(try await harness.invitations(killed).first)
            _ = try await harness.sql(["UPDATE survey_invitations SET state = 'committing', send_attempt = 1 WHERE id = \(stuck.id)"])
            #expect(try await harness.delivery(mailer).deliver(stuck.id, scope: scope) == .failed("outcome unknown"))
            #expect(mailer.sent.isEmpty)

            // A transient refusal before the commit point: the job retries and sends once.
            let retried = try await client.campaign(key: key, #""name": "Retried""#)
            _ = try await client.send(retried, key: key)
            let invitation = try #require(try await harness.invitations(retried).first)
            mailer.behave(.refuse(SurveyMailRefusal(transient: true, "421 try again later")))
            await #expect(throws: SurveyMailRefusal.self) {
                _ = try await harness.delivery(mailer).deliver(invitation.id, scope: scope)
            }
            #expect(try await harness.invitations(retried).first?.state == "sending")
            mailer.behave(.accept)
            #expect(try await harness.delivery(mailer).deliver(invitation.id, scope: scope) == .sent)
            #expect(mailer.sent.count == 1)
            // The first attempt's token was never delivered: only the one sent works.
            #expect(try await harness.sql(["SELECT count(*) FROM survey_tokens WHERE invitation_id = \(invitation.id)"])[0][0]
                .decode(Int.self, at: 0) == 1)

            // A permanent refusal: failed with the reason, and the job completes.
            let refused = try await client.campaign(key: key, #""name": "Refused""#)
            _ = try await client.send(refused, key: key)
            mailer.behave(.refuse(SurveyMailRefusal(transient: false, "550 no such mailbox")))
            #expect(try await harness.deliverAll(refused, with: mailer) == [.failed("550 no such mailbox")])
            #expect(try await harness.invitations(refused).first?.reason == "550 no such mailbox")
        }
    }

    @Test("consent withdrawn between scheduling and delivery: skipped at delivery")
    func consentRechecked() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let id = try await client.surveyClient(key: key)
            let campaign = try await client.campaign(key: key)
            _ = try await client.send(campaign, key: key)
            _ = try await client.call(.patch, "/v1/clients/\(id)", key: key,
                                      json: #"{"consent": {"surveys": {"granted": false, "source": "phone"}}}"#)
            let mailer = RecordingMailer()
            #expect(try await harness.deliverAll(campaign, with: mailer) == [.skipped(.noConsent)])
            #expect(mailer.attempts == 0)
        }
    }

    @Test("one reminder at most, only while unanswered and open, with a link of its own")
    func reminder() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            _ = try await client.surveyClient(key: key)
            let scope = try await harness.scopeA()
            let mailer = RecordingMailer()
            let campaign = try await client.campaign(key: key, #""reminder_after_days": 5"#)
            _ = try await client.send(campaign, key: key)
            _ = try await harness.deliverAll(campaign, with: mailer)
            let invitation = try #require(try await harness.invitations(campaign).first)
            #expect(try await harness.delivery(mailer).remind(invitation.id, scope: scope) == .sent)
            #expect(try await harness.delivery(mailer).remind(invitation.id, scope: scope) == .unchanged)
            #expect(mailer.sent.map(\.isReminder) == [false, true])
            #expect(mailer.sent[1].subject.hasPrefix("Rappel"))
            #expect(mailer.sent[0].surveyURL != mailer.sent[1].surveyURL)
            // Both links open the same invitation.
            for email in mailer.sent {
                #expect(try await client.page(.get, email.pagePath).status == .ok)
            }

            // Answered: no reminder.
            let answered = try await client.campaign(key: key, #""name": "Answered", "reminder_after_days": 5"#)
            _ = try await client.send(answered, key: key)
            _ = try await harness.deliverAll(answered, with: mailer)
            let path = try #require(mailer.sent.last?.pagePath)
            #expect(try await client.page(.post, path, form: "score=9").status == .ok)
            let done = try #require(try await harness.invitations(answered).first)
            #expect(try await harness.delivery(mailer).remind(done.id, scope: scope) == .unchanged)
            #expect(mailer.sent.count == 3)
        }
    }
}
