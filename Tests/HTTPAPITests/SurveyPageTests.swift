import ClientBase
import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Surveys
import Testing
import TestSupport

/// The public response page, the answers on the client's record, the results and the
/// triggers (purchase, exit, wave).
@Suite("Survey page, answers and results")
struct SurveyPageTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    /// A client invited to a new campaign, the email delivered; returns (client id, campaign id, page path).
    func invited(_ client: some TestClientProtocol, campaign fields: String = "", mailer: RecordingMailer = RecordingMailer())
        async throws -> (client: String, campaign: String, path: String) {
        let key = harness.keyA
        _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
        let person = try await client.surveyClient(key: key)
        let campaign = try await client.campaign(key: key, fields)
        _ = try await client.send(campaign, key: key, #"{"client_ids": ["\#(person)"]}"#)
        _ = try await harness.deliverAll(campaign, with: mailer)
        return (person, campaign, try #require(mailer.sent.last?.pagePath))
    }

    @Test("the page is French by default, English on request, and escapes what the campaign says")
    func languagesAndEscaping() async throws {
        let harness = harness
        try await harness.test { client in
            let (_, _, path) = try await invited(client, campaign: """
                "question_fr": "Recommanderiez-vous <script>alert(1)</script> ?", "question_en": "Would you \\"recommend\\" us?",
                "extra_questions": [{"type": "scale", "fr": "Accueil & conseils", "en": "Welcome"}]
                """)
            let french = try await client.page(.get, path)
            #expect(french.status == .ok)
            #expect(french.headers[.contentType] == "text/html; charset=utf-8")
            #expect(french.text.contains("<html lang=\"fr\">"))
            #expect(french.text.contains("Recommanderiez-vous &lt;script&gt;alert(1)&lt;/script&gt; ?"))
            #expect(!french.text.contains("<script>"))
            #expect(french.text.contains("Accueil &amp; conseils"))
            #expect(french.text.contains("name=\"score\" value=\"10\""))
            #expect(french.text.contains("name=\"score\" value=\"0\""))
            #expect(french.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")

            let english = try await client.page(.get, path + "?lang=en")
            #expect(english.text.contains("<html lang=\"en\">"))
            #expect(english.text.contains("Would you &quot;recommend&quot; us?"))
            let preferred = try await client.page(.get, path, headers: [.acceptLanguage: "en-GB,en;q=0.9,fr;q=0.5"])
            #expect(preferred.text.contains("<html lang=\"en\">"))
            let french2 = try await client.page(.get, path, headers: [.acceptLanguage: "fr-FR,en;q=0.5"])
            #expect(french2.text.contains("<html lang=\"fr\">"))
        }
    }

    @Test("the answer is taken once, checked against the scale, and shows on the client's record and timeline")
    func answerOnce() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let (person, campaign, path) = try await invited(client, campaign: #""extra_questions": [{"type": "scale", "fr": "Accueil"}]"#)
            let missing = try await client.page(.post, path, form: "comment=rien")
            #expect(missing.status == .unprocessableContent)
            #expect(missing.text.contains("Choisissez une note"))
            #expect(try await client.page(.post, path, form: "score=11").status == .unprocessableContent)
            #expect(try await client.page(.post, path, form: "score=9&q1=8").status == .unprocessableContent)

            let thanks = try await client.page(.post, path, form: "score=9&q1=4&comment=Tr%C3%A8s+bien+%3Cmerci%3E&lang=fr")
            #expect(thanks.status == .ok, "\(thanks.text)")
            #expect(thanks.text.contains("Merci"))
            let again = try await client.page(.post, path, form: "score=2")
            #expect(again.status == .conflict)
            #expect(again.text.contains("déjà répondu"))
            #expect(try await client.page(.get, path).text.contains("déjà répondu"))

            let answers = try await client.call(.get, "/v1/clients/\(person)/survey-answers", key: key)
            let items = try #require(answers.json["items"] as? [[String: Any]])
            #expect(items.count == 1)
            #expect(items.first?["score"] as? Int == 9)
            #expect(items.first?["comment"] as? String == "Très bien <merci>")
            #expect(items.first?["extra_answers"] as? [Int] == [4])
            #expect(items.first?["campaign_id"] as? String == campaign)
            let timeline = try await client.call(.get, "/v1/clients/\(person)/timeline?types=survey_answer", key: key)
            let entry = try #require((timeline.json["items"] as? [[String: Any]])?.first)
            #expect(entry["type"] as? String == "survey_answer")
            #expect(entry["summary"] as? String == "NPS answer 9 (Satisfaction)")
            #expect(try await harness.invitations(campaign).first?.state == "answered")

            // Tenant B cannot read A's client's answers; an agent only those of their clients.
            #expect(try await client.call(.get, "/v1/clients/\(person)/survey-answers", key: harness.keyB).status == .notFound)
            let (_, agent) = try await harness.member(.agent)
            #expect(try await client.call(.get, "/v1/clients/\(person)/survey-answers", key: agent).status == .notFound)
        }
    }

    @Test("a client's survey answers, invitations and churn alerts are in their subject access, and erasure blanks the comment everywhere")
    func answersUnderDataRights() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let (person, campaign, path) = try await invited(client)
            let thanks = try await client.page(.post, path, form: "score=3&comment=Quelqu%27un+a+mal+r%C3%A9gl%C3%A9+mes+verres+Zephyrine")
            #expect(thanks.status == .ok)
            let alert = UUID()
            _ = try await harness.sql([
                "INSERT INTO churn_scores (client_id, score, reasons) VALUES (\(UUID(uuidString: person)!), 72, '[{\"code\": \"detractor\"}]')",
                """
                INSERT INTO churn_alerts (id, client_id, score, reasons, note)
                VALUES (\(alert), \(UUID(uuidString: person)!), 72, '[]', 'Zephyrine rappelée le 3')
                """,
            ])

            let file = try await client.call(.get, "/v1/clients/\(person)/personal-data", key: key)
            #expect(file.status == .ok, "\(file.text)")
            let answers = try #require(file.json["survey_answers"] as? [[String: Any]])
            #expect(answers.count == 1)
            #expect(answers.first?["score"] as? Int == 3)
            #expect(answers.first?["comment"] as? String == "Quelqu'un a mal réglé mes verres Zephyrine")
            let invitations = try #require(file.json["survey_invitations"] as? [[String: Any]])
            #expect(invitations.map { $0["campaign_id"] as? String } == [campaign])
            #expect(invitations.first?["state"] as? String == "answered")
            #expect(invitations.first?["token"] == nil)
            let churn = try #require(file.json["churn"] as? [String: Any])
            #expect((churn["score"] as? [String: Any])?["score"] as? Int == 72)
            #expect((churn["alerts"] as? [[String: Any]])?.first?["note"] as? String == "Zephyrine rappelée le 3")
            let audit = try #require(file.json["audit_log"] as? [[String: Any]])
            #expect(audit.contains { $0["entity"] as? String == "survey_answer" })

            #expect(try await client.call(.post, "/v1/clients/\(person)/erase", key: key).status == .ok)
            let rows = try await harness.sql([
                "SELECT count(*) FROM survey_answers WHERE strpos(coalesce(comment, ''), 'Zephyrine') > 0",
                "SELECT count(*) FROM churn_alerts WHERE strpos(coalesce(note, ''), 'Zephyrine') > 0",
                "SELECT count(*) FROM audit_log WHERE strpos(changes::text, 'Zephyrine') > 0",
                "SELECT count(*), min(score) FROM survey_answers",
            ])
            #expect(try rows[0][0].decode(Int.self, at: 0) == 0)
            #expect(try rows[1][0].decode(Int.self, at: 0) == 0)
            #expect(try rows[2][0].decode(Int.self, at: 0) == 0)
            // The score still counts in the campaign's results.
            #expect(try rows[3][0].decode(Int.self, at: 0) == 1 && rows[3][0].decode(Int.self, at: 1) == 3)
        }
    }

    @Test("an expired invitation says so (410); an unknown token, or one whose tenant was changed, is a 404 page")
    func expiredAndUnknown() async throws {
        let harness = harness
        try await harness.test { client in
            let (_, campaign, path) = try await invited(client)
            let token = String(path.dropFirst(3))
            // Tenant B has an invitation too; A's token with B's id finds nothing there.
            let scopeB = try await harness.scope("garage-b")
            let forged = "s\(scopeB.tenantID)_" + token.split(separator: "_", maxSplits: 1)[1]
            let notB = try await client.page(.get, "/s/\(forged)")
            #expect(notB.status == .notFound)
            #expect(notB.text.contains("Lien inconnu"))
            #expect(try await client.page(.post, "/s/\(forged)", form: "score=5").status == .notFound)
            #expect(try await client.page(.get, "/s/nonsense").status == .notFound)
            #expect(try await client.page(.get, "/s/s999999_" + String(repeating: "A", count: 43)).status == .notFound)

            let id = try #require(try await harness.invitations(campaign).first?.id)
            _ = try await harness.sql(["UPDATE survey_invitations SET expires_at = now() - interval '1 minute' WHERE id = \(id)"])
            let expired = try await client.page(.get, path)
            #expect(expired.status == .gone)
            #expect(expired.text.contains("terminée"))
            #expect(try await client.page(.post, path, form: "score=7").status == .gone)
            #expect(try await harness.invitations(campaign).first?.state == "expired")
        }
    }

    @Test("unsubscribing withdraws the survey consent, dated and sourced, and later invitations are skipped")
    func unsubscribe() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let (person, _, path) = try await invited(client)
            let page = try await client.page(.get, path + "/unsubscribe?lang=en")
            #expect(page.status == .ok)
            #expect(page.text.contains("Unsubscribe me"))
            // RFC 8058: the mail client's one-click POST.
            let done = try await client.page(.post, path + "/unsubscribe", form: "List-Unsubscribe=One-Click")
            #expect(done.status == .ok)
            let record = try await client.call(.get, "/v1/clients/\(person)", key: key)
            let consent = try #require((record.json["consent"] as? [String: Any])?["surveys"] as? [String: Any])
            #expect(consent["granted"] as? Bool == false)
            #expect(consent["source"] as? String == "unsubscribe")
            #expect(consent["at"] is String)
            #expect(try await harness.audit("client", person).map(\.0) == ["create", "update"])
            #expect(try await client.page(.post, path + "/unsubscribe").status == .ok)

            let next = try await client.campaign(key: key, #""name": "Next""#)
            #expect(try await client.send(next, key: key, #"{"client_ids": ["\#(person)"]}"#).1["unsubscribed"] == 1)
            #expect(try await client.page(.post, "/s/nonsense/unsubscribe").status == .notFound)
        }
    }

    @Test("results: NPS, CSAT and CES by period, response rate, comments by page")
    func results() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            let mailer = RecordingMailer()
            let nps = try await client.campaign(key: key)
            for index in 0..<5 { _ = try await client.surveyClient(key: key, name: "Client\(index)") }
            #expect(try await client.send(nps, key: key).0 == 5)
            _ = try await harness.deliverAll(nps, with: mailer)
            // 10, 9: promoters; 7: passive; 3: detractor; one unanswered.
            for (email, form) in zip(mailer.sent, ["score=10&comment=Parfait", "score=9", "score=7&comment=Bien", "score=3&comment=Trop+cher"]) {
                #expect(try await client.page(.post, email.pagePath, form: form).status == .ok)
            }
            let page = try await client.call(.get, "/v1/survey-campaigns/\(nps)/results?period=week&limit=2", key: key)
            #expect(page.status == .ok, "\(page.text)")
            let totals = try #require(page.json["totals"] as? [String: Any])
            #expect(totals["sent"] as? Int == 5)
            #expect(totals["answered"] as? Int == 4)
            #expect((totals["response_rate"] as? Double) == 0.8)
            #expect((totals["score"] as? Double) == 25)  // (2 − 1) / 4
            #expect((totals["distribution"] as? [String: Int])?["10"] == 1)
            #expect((page.json["periods"] as? [[String: Any]])?.last?["responses"] as? Int == 4)
            let comments = try #require(page.json["comments"] as? [[String: Any]])
            #expect(comments.map { $0["comment"] as? String } == ["Trop cher", "Bien"])
            let cursor = try #require(page.json["next_cursor"] as? String)
            let rest = try await client.call(.get, "/v1/survey-campaigns/\(nps)/results?limit=2&cursor=\(cursor)", key: key)
            #expect((rest.json["comments"] as? [[String: Any]])?.map { $0["comment"] as? String } == ["Parfait"])
            #expect(rest.json["next_cursor"] is NSNull)

            let csat = try await client.campaign(key: key, #""measure": "csat""#)
            _ = try await client.send(csat, key: key)
            _ = try await harness.deliverAll(csat, with: mailer)
            for (email, score) in zip(mailer.sent.suffix(5), [5, 4, 2, 1, 4]) {
                #expect(try await client.page(.post, email.pagePath, form: "score=\(score)").status == .ok)
            }
            let csatResults = try await client.call(.get, "/v1/survey-campaigns/\(csat)/results", key: key)
            #expect(((csatResults.json["totals"] as? [String: Any])?["score"] as? Double) == 60)

            #expect(try await client.call(.get, "/v1/survey-campaigns/\(nps)/results?period=year", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/survey-campaigns/\(nps)/results?from=2026-02-01&to=2026-01-01", key: key)
                .status == .unprocessableContent)
        }
    }

    @Test("post-purchase invitations go at 10:00 in the account's time zone")
    func purchaseSurveysFollowTheAccountZone() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            #expect(try await client.call(.patch, "/v1/account", key: key, json: #"{"time_zone": "America/Martinique"}"#).status == .ok)
            let buyer = try await client.surveyClient(key: key, name: "Buyer", extra: #", "category": "actual_client""#)
            let campaign = try await client.campaign(key: key, #""trigger": "after_purchase", "delay_days": 3"#)
            let purchase = try await client.create("/v1/purchases", key: key,
                #"{"buyer_id": "\#(buyer)", "amount": "80", "purchased_on": "\#(Timestamps.today())"}"#)
            let purchaseText = try #require(purchase["id"] as? String)
            let purchaseID = try #require(UUID(uuidString: purchaseText))
            let scope = try await harness.scopeA()
            let counts = try await harness.database.withTenantTransaction(scope) { session in
                try await SurveyTriggers.purchaseRecorded(purchaseID, scope: scope, in: session)
            }
            #expect(counts.created == 1)
            let rows = try await harness.sql(["""
                SELECT to_char(send_at AT TIME ZONE 'America/Martinique', 'HH24:MI'), to_char(send_at AT TIME ZONE 'Europe/Paris', 'HH24:MI')
                FROM survey_invitations WHERE campaign_id = \(try #require(UUID(uuidString: campaign)))
                """])
            #expect(try rows[0][0].decode(String.self, at: 0) == "10:00")
            #expect(try rows[0][0].decode(String.self, at: 1) != "10:00")
        }
    }

    @Test("triggers: a purchase invites its buyer or consumers after the delay, an exit and a wave once")
    func triggers() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            _ = try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 0}"#)
            let buyer = try await client.surveyClient(key: key, name: "Buyer", extra: #", "category": "actual_client""#)
            let consumer = try await client.surveyClient(key: key, name: "Consumer")
            let afterPurchase = try await client.campaign(key: key, #""trigger": "after_purchase", "delay_days": 10, "ask": "consumers""#)
            _ = try await client.campaign(key: key, """
                "name": "Buyers only", "trigger": "after_purchase", "delay_days": 0, "audience": {"categories": ["prospect"]}
                """)
            let today = Timestamps.today()
            let purchase = try await client.create("/v1/purchases", key: key, """
                {"buyer_id": "\(buyer)", "consumer_ids": ["\(consumer)"], "amount": "120", "purchased_on": "\(today)"}
                """)
            let purchaseText = try #require(purchase["id"] as? String)
            let purchaseID = try #require(UUID(uuidString: purchaseText))
            let scope = try await harness.scopeA()
            let counts = try await harness.database.withTenantTransaction(scope) { session in
                try await SurveyTriggers.purchaseRecorded(purchaseID, scope: scope, in: session)
            }
            // The consumer for the first campaign; the buyer is no prospect for the second.
            #expect(counts.created == 1)
            let rows = try await harness.sql(["""
                SELECT client_id::text, (send_at AT TIME ZONE 'Europe/Paris')::date - current_date, occasion
                FROM survey_invitations WHERE campaign_id = \(try #require(UUID(uuidString: afterPurchase)))
                """])
            #expect(try rows[0].map { try $0.decode(String.self, at: 0) } == [consumer])
            #expect(try rows[0][0].decode(Int.self, at: 1) == 10)
            // The job runs twice: nothing more.
            let twice = try await harness.database.withTenantTransaction(scope) { session in
                try await SurveyTriggers.purchaseRecorded(purchaseID, scope: scope, in: session)
            }
            #expect(twice.created == 0)

            let exit = try await client.campaign(key: key, #""name": "Départ", "trigger": "exit""#)
            _ = try await client.call(.patch, "/v1/clients/\(buyer)", key: key,
                                      json: #"{"category": "former_client", "category_reason": "moved away"}"#)
            let buyerID = try #require(UUID(uuidString: buyer))
            for _ in 0..<2 {
                _ = try await harness.database.withTenantTransaction(scope) { session in
                    try await SurveyTriggers.clientLeft(buyerID, scope: scope, in: session)
                }
            }
            #expect(try await harness.invitations(exit).map(\.client) == [buyer])

            let wave = try await client.campaign(key: key, #""name": "Vague", "trigger": "recurring", "cron": "0 9 1 * *""#)
            for _ in 0..<2 {
                _ = try await harness.database.withTenantTransaction(scope) { session in
                    try await SurveyTriggers.wave(try #require(UUID(uuidString: wave)), scope: scope, in: session)
                }
            }
            #expect(try await harness.invitations(wave).count == 2)
            let schedules = try await SurveyWaves.schedules(scope: scope, database: harness.database)
            #expect(schedules.map(\.cron) == ["0 9 1 * *"])
            #expect(schedules.first?.job.kind == "survey.wave")
        }
    }
}
