import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Survey campaigns and the survey rules: what they hold, who may change them, bad input.
@Suite("Survey campaigns")
struct SurveyCampaignTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("a campaign is created, read, changed and deleted; each trigger carries its own setting")
    func lifecycle() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let created = try await client.create("/v1/survey-campaigns", key: key, """
                {"name": "Après achat", "measure": "csat", "question_fr": "Êtes-vous satisfait ?", "trigger": "after_purchase",
                 "delay_days": 7, "ask": "both", "reminder_after_days": 3, "lifetime_days": 14,
                 "extra_questions": [{"type": "text", "fr": "Qu'avons-nous bien fait ?"}, {"type": "scale", "fr": "Accueil", "en": "Welcome"}],
                 "audience": {"categories": ["actual_client"], "kinds": ["individual"], "tags": ["VIP"], "segment": "loyal"}}
                """)
            let id = try #require(created["id"] as? String)
            #expect(created["delay_days"] as? Int == 7)
            #expect(created["cron"] is NSNull)
            #expect(created["active"] as? Bool == true)
            #expect((created["audience"] as? [String: Any])?["tags"] as? [String] == ["vip"])
            #expect((created["extra_questions"] as? [[String: Any]])?.count == 2)

            // Another trigger drops the old one's setting; recurring needs a valid cron.
            try await client.expectInvalid(.patch, "/v1/survey-campaigns/\(id)", key: key, #"{"trigger": "recurring"}"#, field: "cron")
            try await client.expectInvalid(.patch, "/v1/survey-campaigns/\(id)", key: key,
                                           #"{"trigger": "recurring", "cron": "0 25 * * *"}"#, field: "cron")
            let recurring = try await client.call(.patch, "/v1/survey-campaigns/\(id)", key: key,
                                                  json: #"{"trigger": "recurring", "cron": "0 9 1 */3 *"}"#)
            #expect(recurring.status == .ok, "\(recurring.text)")
            #expect(recurring.json["delay_days"] is NSNull)
            #expect(recurring.json["cron"] as? String == "0 9 1 */3 *")

            let list = try await client.call(.get, "/v1/survey-campaigns?trigger=recurring&active=true", key: key)
            #expect((list.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            let none = try await client.call(.get, "/v1/survey-campaigns?trigger=exit", key: key)
            #expect((none.json["items"] as? [Any])?.isEmpty == true)

            #expect(try await client.call(.delete, "/v1/survey-campaigns/\(id)", key: key).status == .noContent)
            #expect(try await client.call(.get, "/v1/survey-campaigns/\(id)", key: key).status == .notFound)
            #expect(try await harness.audit("survey_campaign", id).map(\.0) == ["create", "update", "delete"])
        }
    }

    @Test("bad input is a 422 naming the field")
    func validation() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let base = #""name": "N", "question_fr": "Q ?""#
            let cases: [(String, String)] = [
                (#"{"question_fr": "Q ?", "measure": "nps", "trigger": "manual"}"#, "name"),
                (#"{\#(base), "measure": "stars", "trigger": "manual"}"#, "measure"),
                (#"{\#(base), "measure": "nps", "trigger": "weekly"}"#, "trigger"),
                (#"{\#(base), "measure": "nps", "trigger": "after_purchase"}"#, "delay_days"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "delay_days": 3}"#, "delay_days"),
                (#"{\#(base), "measure": "nps", "trigger": "after_purchase", "delay_days": 400}"#, "delay_days"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "colour": "red"}"#, "colour"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "id": "x"}"#, "id"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "audience": {"categories": ["client"]}}"#, "audience.categories"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "audience": {"segment": "gold"}}"#, "audience.segment"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "audience": {"age": 3}}"#, "age"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "extra_questions": [{"type": "stars", "fr": "?"}]}"#, "extra_questions.type"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "lifetime_days": 0}"#, "lifetime_days"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "reminder_after_days": 40, "lifetime_days": 30}"#, "reminder_after_days"),
                (#"{\#(base), "measure": "nps", "trigger": "manual", "active": "yes"}"#, "active"),
            ]
            for (json, field) in cases {
                try await client.expectInvalid(.post, "/v1/survey-campaigns", key: key, json, field: field)
            }
            let six = Array(repeating: #"{"type": "text", "fr": "?"}"#, count: 6).joined(separator: ",")
            try await client.expectInvalid(.post, "/v1/survey-campaigns", key: key,
                                           #"{\#(base), "measure": "nps", "trigger": "manual", "extra_questions": [\#(six)]}"#,
                                           field: "extra_questions")
            #expect(try await client.call(.get, "/v1/survey-campaigns?colour=red", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/survey-campaigns/not-a-uuid", key: key).status == .badRequest)
        }
    }

    @Test("one active exit campaign at a time; a campaign that invited someone is deactivated, not deleted")
    func conflicts() async throws {
        let key = harness.keyA
        try await harness.test { client in
            _ = try await client.campaign(key: key, #""trigger": "exit""#)
            let second = try await client.call(.post, "/v1/survey-campaigns", key: key, json: """
                {"name": "Départ", "measure": "nps", "question_fr": "Pourquoi ?", "trigger": "exit"}
                """)
            #expect(second.status == .conflict, "\(second.text)")
            let inactive = try await client.call(.post, "/v1/survey-campaigns", key: key, json: """
                {"name": "Départ 2", "measure": "nps", "question_fr": "Pourquoi ?", "trigger": "exit", "active": false}
                """)
            #expect(inactive.status == .created)

            let used = try await client.campaign(key: key)
            _ = try await client.surveyClient(key: key)
            #expect(try await client.send(used, key: key).0 == 1)
            #expect(try await client.call(.delete, "/v1/survey-campaigns/\(used)", key: key).status == .conflict)
            let off = try await client.call(.patch, "/v1/survey-campaigns/\(used)", key: key, json: #"{"active": false}"#)
            #expect(off.json["active"] as? Bool == false)
            // An inactive campaign is not sent.
            #expect(try await client.call(.post, "/v1/survey-campaigns/\(used)/send", key: key, json: "{}").status == .conflict)
        }
    }

    @Test("agents and viewers read campaigns but do not change, send or read results; tenant B sees none of A's")
    func access() async throws {
        let (_, agent) = try await harness.member(.agent)
        let (_, viewer) = try await harness.member(.viewer)
        let (_, manager) = try await harness.member(.manager)
        let owner = harness.keyA, other = harness.keyB
        try await harness.test { client in
            let id = try await client.campaign(key: manager)
            for key in [agent, viewer] {
                #expect(try await client.call(.get, "/v1/survey-campaigns/\(id)", key: key).status == .ok)
                #expect(try await client.call(.get, "/v1/survey-campaigns", key: key).status == .ok)
                #expect(try await client.call(.get, "/v1/survey-settings", key: key).status == .ok)
                #expect(try await client.call(.patch, "/v1/survey-campaigns/\(id)", key: key, json: #"{"name": "X"}"#).status == .forbidden)
                #expect(try await client.call(.post, "/v1/survey-campaigns/\(id)/send", key: key, json: "{}").status == .forbidden)
                #expect(try await client.call(.get, "/v1/survey-campaigns/\(id)/results", key: key).status == .forbidden)
                #expect(try await client.call(.patch, "/v1/survey-settings", key: key, json: #"{"min_days_between_surveys": 1}"#).status == .forbidden)
                #expect(try await client.call(.delete, "/v1/survey-campaigns/\(id)", key: key).status == .forbidden)
            }
            for (method, path) in [(HTTPRequest.Method.get, ""), (.get, "/results"), (.delete, "")] {
                #expect(try await client.call(method, "/v1/survey-campaigns/\(id)\(path)", key: other).status == .notFound)
            }
            #expect(try await client.call(.patch, "/v1/survey-campaigns/\(id)", key: other, json: #"{"name": "B"}"#).status == .notFound)
            #expect(try await client.call(.post, "/v1/survey-campaigns/\(id)/send", key: other, json: "{}").status == .notFound)
            let listB = try await client.call(.get, "/v1/survey-campaigns", key: other)
            #expect((listB.json["items"] as? [Any])?.isEmpty == true)
            #expect(try await client.call(.get, "/v1/survey-campaigns/\(id)", key: owner).status == .ok)
        }
    }

    @Test("the survey rules: read by all, changed by managers and above, checked")
    func settings() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let initial = try await client.call(.get, "/v1/survey-settings", key: key)
            #expect(initial.json["min_days_between_surveys"] as? Int == 90)
            #expect(initial.json["sender_name"] is NSNull)
            let changed = try await client.call(.patch, "/v1/survey-settings", key: key, json: """
                {"min_days_between_surveys": 30, "sender_name": "Optique A", "reply_to": "contact@optique-a.fr"}
                """)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.json["sender_name"] as? String == "Optique A")
            try await client.expectInvalid(.patch, "/v1/survey-settings", key: key, #"{"min_days_between_surveys": -1}"#,
                                           field: "min_days_between_surveys")
            try await client.expectInvalid(.patch, "/v1/survey-settings", key: key, #"{"min_days_between_surveys": null}"#,
                                           field: "min_days_between_surveys")
            try await client.expectInvalid(.patch, "/v1/survey-settings", key: key, #"{"reply_to": "nobody"}"#, field: "reply_to")
            try await client.expectInvalid(.patch, "/v1/survey-settings", key: key, #"{"sender_name": "A\nBcc: x"}"#, field: "sender_name")
            try await client.expectInvalid(.patch, "/v1/survey-settings", key: key, #"{"frequency": 2}"#, field: "frequency")
            #expect(try await harness.audit("survey_settings", "settings").map(\.0) == ["update"])
        }
    }
}
