import Churn
import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Synchronization
import Tenancy
import Testing
import TestSupport

/// Churn risk: each reason on data built for it, the settings' weights and threshold, the alerts
/// raised when a score crosses the threshold and their workflow, scoping and isolation.
@Suite("Churn risk and alerts")
struct ChurnTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    // MARK: Reasons

    @Test("each reason fires on the data built for it, and not on its near miss")
    func reasons() async throws {
        let h = harness
        // Survey answers come from the surveys work; here a table of our own feeds the view.
        _ = try await h.sql([
            "CREATE TABLE test_answers (client_id uuid, measure text, score integer, answered_at timestamptz)",
            "CREATE OR REPLACE VIEW churn_survey_answers AS SELECT client_id, measure, score, answered_at FROM test_answers",
        ])
        var expected: [UUID: [String]] = [:]
        func client(_ reasons: [String], _ setup: (UUID) -> [PostgresQuery]) async throws {
            let id = try await h.actualClient()
            _ = try await h.sql(setup(id))
            expected[id] = reasons
        }
        try await client(["open_complaint"]) { id in
            ["INSERT INTO complaints (id, client_id, opened_on, category, status) VALUES (\(UUID()), \(id), current_date - 30, 'delivery', 'open')"]
        }
        try await client([]) { id in [
            "INSERT INTO complaints (id, client_id, opened_on, category, status) VALUES (\(UUID()), \(id), current_date - 3, 'delivery', 'open')",
            "INSERT INTO complaints (id, client_id, opened_on, category, status, resolved_on) VALUES (\(UUID()), \(id), current_date - 60, 'billing', 'resolved', current_date - 50)",
        ] }
        try await client(["payment_incident"]) { id in
            ["INSERT INTO payments (id, client_id, amount, due_on, incident, incident_on) VALUES (\(UUID()), \(id), 50, current_date - 20, 'rejected', current_date - 10)"]
        }
        try await client(["payment_incident"]) { id in
            ["INSERT INTO payments (id, client_id, amount, due_on, paid_on, incident) VALUES (\(UUID()), \(id), 50, current_date - 40, current_date - 5, 'late')"]
        }
        try await client([]) { id in [
            "INSERT INTO payments (id, client_id, amount, due_on, incident, incident_on) VALUES (\(UUID()), \(id), 50, current_date - 420, 'litigation', current_date - 400)",
            "INSERT INTO payments (id, client_id, amount, due_on, paid_on) VALUES (\(UUID()), \(id), 50, current_date - 20, current_date - 10)",
        ] }
        // Every 30 days, the last 100 days ago: past 30 × 1.5.
        try await client(["overdue_repeat_buyer"]) { id in h.purchases(id, daysAgo: [190, 160, 130, 100], amount: 100) }
        // The same rhythm, the last 10 days ago; and a two-purchase client is no repeat buyer.
        try await client([]) { id in h.purchases(id, daysAgo: [100, 70, 40, 10], amount: 100) }
        try await client([]) { id in h.purchases(id, daysAgo: [300, 200], amount: 100) }
        // 1000 in the previous 12 months, 100 in the last: fell by more than half.
        try await client(["falling_spend"]) { id in h.purchases(id, daysAgo: [500, 30], amount: nil, amounts: [1000, 100]) }
        try await client([]) { id in h.purchases(id, daysAgo: [500, 30], amount: nil, amounts: [100, 90]) }
        try await client(["no_contact"]) { id in ["UPDATE clients SET created_at = now() - interval '2 years' WHERE id = \(id)"] }
        try await client([]) { id in [
            "UPDATE clients SET created_at = now() - interval '2 years' WHERE id = \(id)",
            "INSERT INTO interactions (id, client_id, occurred_at, channel, subject, author) VALUES (\(UUID()), \(id), now() - interval '10 days', 'phone', 'call', 'test')",
        ] }
        try await client(["detractor_answer"]) { id in
            ["INSERT INTO test_answers VALUES (\(id), 'nps', 9, now() - interval '90 days'), (\(id), 'nps', 4, now() - interval '3 days')"]
        }
        try await client(["detractor_answer"]) { id in ["INSERT INTO test_answers VALUES (\(id), 'csat', 2, now() - interval '3 days')"] }
        try await client([]) { id in [
            "INSERT INTO test_answers VALUES (\(id), 'nps', 3, now() - interval '90 days'), (\(id), 'nps', 9, now() - interval '3 days')",
        ] }
        try await client([]) { id in ["INSERT INTO test_answers VALUES (\(id), 'nps', 2, now() - interval '400 days')"] }
        // Two reasons add up, strongest first.
        try await client(["open_complaint", "payment_incident"]) { id in [
            "INSERT INTO complaints (id, client_id, opened_on, category, status) VALUES (\(UUID()), \(id), current_date - 30, 'service', 'disputed')",
            "INSERT INTO payments (id, client_id, amount, due_on, incident, incident_on) VALUES (\(UUID()), \(id), 50, current_date - 20, 'litigation', current_date - 10)",
        ] }
        // A former client is not scored, whatever happened.
        let former = try await h.actualClient(category: "former_client")
        _ = try await h.sql(["INSERT INTO complaints (id, client_id, opened_on, category, status) VALUES (\(UUID()), \(former), current_date - 30, 'delivery', 'open')"])
        expected[former] = []

        let run = try await h.scoreAll()
        let weights = ["detractor_answer": 35, "open_complaint": 25, "payment_incident": 20, "overdue_repeat_buyer": 35,
                       "falling_spend": 20, "no_contact": 10]
        for (id, reasons) in expected {
            let churn = try await h.churn(id)
            #expect(churn.reasons == reasons, "client \(id): \(churn.reasons)")
            #expect(churn.score == reasons.reduce(0) { $0 + weights[$1]! }, "client \(id)")
        }
        #expect(run.changedScores == expected.values.filter { !$0.isEmpty }.count)
        // Rescoring changes nothing, whether for everyone or for one client: the same SQL.
        #expect(try await h.scoreAll().changedScores == 0)
        for id in expected.keys { #expect(try await h.score(id).changedScores == 0) }
        // The facts behind a reason are kept with it.
        let overdue = try #require(expected.first { $0.value == ["overdue_repeat_buyer"] }?.key)
        let row = try await h.sql(["SELECT reasons->0->>'usual_interval_days', reasons->0->>'last_purchase_on' FROM churn_scores WHERE client_id = \(overdue)"])[0][0]
        #expect(try row.decode(String.self, at: 0) == "30")
        #expect(try row.decode(String?.self, at: 1) != nil)
    }

    @Test("weights and the threshold come from the settings; a changed score leaves one history row")
    func settingsChangeTheScore() async throws {
        let h = harness, key = h.keyA
        let id = try await h.actualClient()
        _ = try await h.sql(["INSERT INTO complaints (id, client_id, opened_on, category, status) VALUES (\(UUID()), \(id), current_date - 10, 'delivery', 'open')"])
        _ = try await h.scoreAll()
        #expect(try await h.churn(id).score == 0)  // 10 days: not yet 14
        try await h.test { client in
            let patched = try await client.call(.patch, "/v1/churn/settings", key: key,
                json: #"{"complaint_open_days": 7, "weight_open_complaint": 60, "overdue_factor": 2.5, "webhook_url": "https://hooks.example.fr/churn"}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(patched.json["weight_open_complaint"] as? Int == 60)
            #expect(patched.json["overdue_factor"] as? Double == 2.5)
            #expect((patched.json["webhook_secret"] as? String)?.count == 64)
            _ = try await h.scoreAll()
            #expect(try await h.churn(id).score == 60)
            let off = try await client.call(.patch, "/v1/churn/settings", key: key, json: #"{"weight_open_complaint": 0}"#)
            #expect(off.status == .ok, "\(off.text)")
            _ = try await h.scoreAll()
            #expect(try await h.churn(id).score == 0)
            let response = try await client.call(.get, "/v1/clients/\(id.auditID)/churn", key: key)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["score"] as? Int == 0)
            let history = response.json["history"] as? [[String: Any]] ?? []
            #expect(history.map { $0["score"] as? Int } == [0, 60])
            #expect(try await h.audit("churn_settings", "settings").count == 2)
        }
    }

    // MARK: Alerts

    @Test("crossing the threshold raises one alert; staying above or acknowledged raises none; resolved allows a new one")
    func alertLifecycle() async throws {
        let h = harness, key = h.keyA
        let (agent, _) = try await h.member(.agent)
        let id = try await h.actualClient()
        try await h.assign(id.auditID, to: agent.id)
        let complaint = UUID()
        _ = try await h.sql(["INSERT INTO complaints (id, client_id, opened_on, category, status) VALUES (\(complaint), \(id), current_date - 30, 'delivery', 'open')"])
        try await h.test { client in
            let patched = try await client.call(.patch, "/v1/churn/settings", key: key, json: #"{"alert_threshold": 40}"#)
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(try await h.scoreAll().raisedAlerts.isEmpty)  // 25 < 40

            // A payment incident adds 20: 45 crosses 40.
            _ = try await h.sql(["INSERT INTO payments (id, client_id, amount, due_on, incident, incident_on) VALUES (\(UUID()), \(id), 50, current_date - 20, 'rejected', current_date - 10)"])
            let first = try await h.score(id).raisedAlerts
            #expect(first.count == 1)
            // The alert's notification job comes with it, once.
            #expect(try await h.notifyJobs(first[0]) == 1)
            // Staying above: nothing new, even with a higher score.
            _ = try await h.sql(["UPDATE churn_settings SET weight_open_complaint = 50"])
            #expect(try await h.scoreAll().raisedAlerts.isEmpty)
            #expect(try await h.notifyJobs(first[0]) == 1)

            let path = "/v1/alerts/\(first[0].auditID)"
            let alert = try await client.call(.get, path, key: key)
            #expect(alert.status == .ok, "\(alert.text)")
            #expect(alert.json["state"] as? String == "open")
            #expect(alert.json["score"] as? Int == 45)  // as raised
            #expect(alert.json["assigned_user_id"] as? String == agent.id.auditID)
            #expect((alert.json["reasons"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["open_complaint", "payment_incident"])
            #expect(alert.headers[.eTag] == "\"1\"")

            // A stale If-Match is refused; then acknowledged; acknowledging twice is a conflict.
            let stale = try await client.call(.post, "\(path)/acknowledge", key: key, headers: [.ifMatch: "\"7\""])
            #expect(stale.status == .preconditionFailed)
            let acknowledged = try await client.call(.post, "\(path)/acknowledge", key: key, headers: [.ifMatch: "\"1\""])
            #expect(acknowledged.status == .ok, "\(acknowledged.text)")
            #expect(acknowledged.json["state"] as? String == "acknowledged")
            #expect(try await client.call(.post, "\(path)/acknowledge", key: key).status == .conflict)
            // Down below the threshold and up again while acknowledged: still that one alert.
            _ = try await h.sql(["UPDATE complaints SET status = 'resolved', resolved_on = current_date WHERE id = \(complaint)"])
            _ = try await h.score(id)
            _ = try await h.sql(["UPDATE complaints SET status = 'disputed', resolved_on = NULL WHERE id = \(complaint)"])
            #expect(try await h.score(id).raisedAlerts.isEmpty)

            let resolved = try await client.call(.post, "/v1/alerts/\(first[0].auditID)/resolve", key: key, json: #"{"note": "called, gesture made"}"#)
            #expect(resolved.status == .ok, "\(resolved.text)")
            #expect(resolved.json["state"] as? String == "resolved")
            #expect(resolved.json["note"] as? String == "called, gesture made")
            #expect(try await client.call(.post, "/v1/alerts/\(first[0].auditID)/lose", key: key,
                                          json: #"{"exit_reason": "price"}"#).status == .conflict)
            // Resolved: the next crossing raises a new alert.
            _ = try await h.sql(["UPDATE complaints SET status = 'resolved', resolved_on = current_date WHERE id = \(complaint)"])
            _ = try await h.score(id)
            _ = try await h.sql(["UPDATE complaints SET status = 'open', resolved_on = NULL WHERE id = \(complaint)"])
            let second = try await h.score(id).raisedAlerts
            #expect(second.count == 1 && second != first)
            let open = try await client.call(.get, "/v1/alerts?state=open&client_id=\(id.auditID)", key: key)
            #expect((open.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [second[0].auditID])
            let all = try await client.call(.get, "/v1/alerts?client_id=\(id.auditID)&limit=1", key: key)
            #expect((all.json["items"] as? [Any])?.count == 1)
            let cursor = try #require(all.json["next_cursor"] as? String)
            let next = try await client.call(.get, "/v1/alerts?client_id=\(id.auditID)&limit=1&cursor=\(cursor)", key: key)
            #expect((next.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [first[0].auditID])
            let mine = try await client.call(.get, "/v1/alerts?assigned_user_id=\(agent.id.auditID)&min_score=45", key: key)
            #expect((mine.json["items"] as? [Any])?.count == 2)
            let high = try await client.call(.get, "/v1/alerts?min_score=70", key: key)
            #expect((high.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [second[0].auditID])
            let churn = try await client.call(.get, "/v1/clients/\(id.auditID)/churn", key: key)
            #expect(churn.json["pending_alert_id"] as? String == second[0].auditID)
            let risky = try await client.call(.get, "/v1/clients?churn_risk=70", key: key)
            #expect((risky.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id.auditID])
            #expect(try await client.call(.get, "/v1/clients?churn_risk=0", key: key).status == .badRequest)
            #expect(try await h.audit("churn_alert", first[0].auditID).map(\.0) == ["create", "acknowledge", "resolve"])
        }
    }

    @Test("losing a client records the exit reason and makes them a former client with it")
    func lose() async throws {
        let h = harness, key = h.keyA
        let alert = try await h.raiseAlert()
        try await h.test { client in
            try await client.expectInvalid(.post, "/v1/alerts/\(alert.alert.auditID)/lose", key: key, #"{"note": "gone"}"#, field: "exit_reason")
            try await client.expectInvalid(.post, "/v1/alerts/\(alert.alert.auditID)/lose", key: key, #"{"exit_reason": "weather"}"#, field: "exit_reason")
            try await client.expectInvalid(.post, "/v1/alerts/\(alert.alert.auditID)/lose", key: key,
                                           #"{"exit_reason": "price", "mood": "sad"}"#, field: "mood")
            try await client.expectInvalid(.post, "/v1/alerts/\(alert.alert.auditID)/resolve", key: key,
                                           #"{"exit_reason": "price"}"#, field: "exit_reason")
            let lost = try await client.call(.post, "/v1/alerts/\(alert.alert.auditID)/lose", key: key,
                                             json: #"{"exit_reason": "competitor", "note": "cheaper next door"}"#)
            #expect(lost.status == .ok, "\(lost.text)")
            #expect(lost.json["state"] as? String == "lost")
            #expect(lost.json["exit_reason"] as? String == "competitor")
            #expect(lost.json["closed_at"] is String)
            let record = try await client.call(.get, "/v1/clients/\(alert.client.auditID)", key: key)
            #expect(record.json["category"] as? String == "former_client")
            #expect(record.json["category_reason"] as? String == "competitor: cheaper next door")
            let history = try await client.call(.get, "/v1/clients/\(alert.client.auditID)/category-history", key: key)
            let latest = (history.json["items"] as? [[String: Any]])?.first
            #expect(latest?["to_category"] as? String == "former_client")
            #expect(latest?["from_category"] as? String == "actual_client")
            // A former client is no longer scored: back to 0.
            _ = try await h.scoreAll()
            #expect(try await h.churn(alert.client).score == 0)
        }
    }

    @Test("agents read their own clients' alerts only and cannot act; viewers read; other tenants see nothing")
    func scoping() async throws {
        let h = harness, key = h.keyA, keyB = h.keyB
        let (agent, agentKey) = try await h.member(.agent)
        let (_, viewerKey) = try await h.member(.viewer)
        let (_, managerKey) = try await h.member(.manager)
        let mine = try await h.raiseAlert(assignTo: agent.id)
        let theirs = try await h.raiseAlert()
        try await h.test { client in
            let list = try await client.call(.get, "/v1/alerts", key: agentKey)
            #expect((list.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [mine.alert.auditID])
            #expect(try await client.call(.get, "/v1/alerts/\(theirs.alert.auditID)", key: agentKey).status == .notFound)
            #expect(try await client.call(.get, "/v1/clients/\(theirs.client.auditID)/churn", key: agentKey).status == .notFound)
            #expect(try await client.call(.get, "/v1/clients/\(mine.client.auditID)/churn", key: agentKey).status == .ok)
            #expect(try await client.call(.post, "/v1/alerts/\(mine.alert.auditID)/acknowledge", key: agentKey).status == .forbidden)
            #expect(try await client.call(.get, "/v1/churn/settings", key: agentKey).status == .forbidden)

            let viewerList = try await client.call(.get, "/v1/alerts", key: viewerKey)
            #expect((viewerList.json["items"] as? [Any])?.count == 2)
            #expect(try await client.call(.post, "/v1/alerts/\(mine.alert.auditID)/resolve", key: viewerKey).status == .forbidden)
            #expect(try await client.call(.post, "/v1/alerts/\(mine.alert.auditID)/acknowledge", key: managerKey).status == .ok)

            for path in ["/v1/alerts/\(mine.alert.auditID)", "/v1/clients/\(mine.client.auditID)/churn"] {
                #expect(try await client.call(.get, path, key: keyB).status == .notFound, "\(path)")
            }
            #expect(try await client.call(.post, "/v1/alerts/\(theirs.alert.auditID)/resolve", key: keyB).status == .notFound)
            let listB = try await client.call(.get, "/v1/alerts", key: keyB)
            #expect((listB.json["items"] as? [Any])?.isEmpty == true)
            #expect(try await client.call(.get, "/v1/alerts", key: key).status == .ok)
        }
    }

    @Test("bad settings and bad list parameters are refused, naming the field")
    func badInput() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let refused: [(String, String)] = [
                (#"{"alert_threshold": 0}"#, "alert_threshold"),
                (#"{"alert_threshold": 101}"#, "alert_threshold"),
                (#"{"weight_no_contact": -1}"#, "weight_no_contact"),
                (#"{"weight_no_contact": "ten"}"#, "weight_no_contact"),
                (#"{"nps_detractor_max": 11}"#, "nps_detractor_max"),
                (#"{"overdue_factor": 0.5}"#, "overdue_factor"),
                (#"{"overdue_factor": 1.555}"#, "overdue_factor"),
                (#"{"falling_spend_drop": 0}"#, "falling_spend_drop"),
                (#"{"webhook_url": "ftp://example.fr"}"#, "webhook_url"),
                (#"{"digest_email": null}"#, "digest_email"),
                (#"{"webhook_secret": "mine"}"#, "webhook_secret"),
                (#"{"weight_everything": 5}"#, "weight_everything"),
            ]
            for (body, field) in refused {
                try await client.expectInvalid(.patch, "/v1/churn/settings", key: key, body, field: field)
            }
            for query in ["state=closed", "min_score=101", "client_id=nope", "limit=0", "cursor=zzz", "colour=red"] {
                #expect(try await client.call(.get, "/v1/alerts?\(query)", key: key).status == .badRequest, "\(query)")
            }
            #expect(try await client.call(.get, "/v1/alerts/not-an-id", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/alerts/\(UUID().uuidString)", key: key).status == .notFound)
            // Rotating the secret gives a new one.
            let before = try await client.call(.get, "/v1/churn/settings", key: key).json["webhook_secret"] as? String
            let after = try await client.call(.patch, "/v1/churn/settings", key: key, json: #"{"rotate_webhook_secret": true}"#)
            #expect(after.json["webhook_secret"] as? String != before)
        }
    }

    // MARK: Jobs

    @Test("a complaint opened or a payment incident enqueues the client's rescore in its own transaction")
    func rescoreEnqueued() async throws {
        let h = harness, key = h.keyA
        let scope = try await h.scopeA()
        let id = try await h.actualClient()
        struct RolledBack: Error {}
        let changes = try JSONDecoder().decode(ComplaintChanges.self, from: Data(#"{"client_id": "\#(id.auditID)", "category": "delivery"}"#.utf8))
        await #expect(throws: RolledBack.self) {
            try await h.database.withTenantTransaction(scope) { session in
                _ = try await ComplaintRepository(database: h.database).create(changes, as: .system(scope, label: "test"), in: session)
                throw RolledBack()
            }
        }
        #expect(try await h.rescoreJobs(id) == 0)
        let calm = try await h.actualClient()
        try await h.test { client in
            _ = try await client.create("/v1/complaints", key: key, #"{"client_id": "\#(id.auditID)", "category": "delivery"}"#)
            _ = try await client.create("/v1/payments", key: key,
                #"{"client_id": "\#(id.auditID)", "amount": "40", "due_on": "2026-01-10", "incident": "rejected", "incident_on": "2026-01-12"}"#)
            // One pending job per client, whatever the number of events.
            #expect(try await h.rescoreJobs(id) == 1)
            _ = try await client.create("/v1/payments", key: key, #"{"client_id": "\#(calm.auditID)", "amount": "40", "due_on": "2026-01-10"}"#)
            #expect(try await h.rescoreJobs(calm) == 0)
        }
    }

    // MARK: Notifications

    @Test("a new alert's webhook is sent once, even when its job runs twice; no URL: skipped")
    func webhook() async throws {
        let h = harness
        let notifier = RecordingNotifier()
        let notifications = ChurnNotifications(database: h.database, notifier: notifier)
        let scope = try await h.scopeA()
        let quiet = try await h.raiseAlert()
        #expect(try await notifications.notify(alertID: quiet.alert, scope: scope) == .skipped)
        _ = try await h.sql(["UPDATE churn_settings SET webhook_url = 'https://hooks.example.fr/churn'"])
        let loud = try await h.raiseAlert()
        #expect(try await notifications.notify(alertID: loud.alert, scope: scope) == .sent)
        #expect(try await notifications.notify(alertID: loud.alert, scope: scope) == .sent)
        #expect(notifier.sentWebhooks == [loud.alert])
        // Users with pending alerts get one digest a day.
        let (agent, _) = try await h.member(.agent)
        let assigned = try await h.raiseAlert(assignTo: agent.id)
        let day = PostgresDate(year: 2026, month: 3, day: 2)
        #expect(try await notifications.sendDigests(scope: scope, on: day) == 1)
        #expect(try await notifications.sendDigests(scope: scope, on: day) == 0)
        #expect(notifier.sentDigests == [[assigned.alert]])
        // The next day, nothing new: no mail. A new alert the day after: the whole list again.
        #expect(try await notifications.sendDigests(scope: scope, on: PostgresDate(year: 2026, month: 3, day: 3)) == 0)
        let second = try await h.raiseAlert(assignTo: agent.id)
        #expect(try await notifications.sendDigests(scope: scope, on: PostgresDate(year: 2026, month: 3, day: 4)) == 1)
        #expect(notifier.sentDigests.count == 2)
        #expect(Set(notifier.sentDigests.last ?? []) == [assigned.alert, second.alert])
        #expect(notifier.lastDigestText.contains("dont 1 nouveau)"))
        #expect(notifier.lastDigestText.components(separatedBy: "[nouveau]").count == 2)
    }
}

/// Records what would have been sent.
final class RecordingNotifier: AlertNotifier {
    let webhooks = Mutex<[UUID]>([])
    let digests = Mutex<[[UUID]]>([])
    let texts = Mutex<[String]>([])
    var sentWebhooks: [UUID] { webhooks.withLock { $0 } }
    var sentDigests: [[UUID]] { digests.withLock { $0 } }
    var lastDigestText: String { texts.withLock { $0.last ?? "" } }

    func sendWebhook(_ alert: AlertWebhookPayload, to url: String, secret: String, deliveryID: String) async throws {
        #expect(url == "https://hooks.example.fr/churn" && secret.count == 64)
        _ = try alert.json()
        webhooks.withLock { $0.append(alert.alertID) }
    }

    func sendDigest(_ digest: AlertDigest, tenantID: Int64, userID: UUID) async throws {
        #expect(!digest.plainText.isEmpty)
        digests.withLock { $0.append(digest.items.map(\.alertID)) }
        texts.withLock { $0.append(digest.plainText) }
    }
}

extension APIHarness {
    /// A client of tenant A in the given category (an actual client by default).
    func actualClient(category: String = "actual_client") async throws -> UUID {
        let id = UUIDv7.make()
        _ = try await sql(["INSERT INTO clients (id, kind, category, last_name) VALUES (\(id), 'individual', \(category), 'Churn')"])
        return id
    }

    /// Purchases by the client so many days ago, of `amount` each or of `amounts` in order.
    func purchases(_ client: UUID, daysAgo: [Int], amount: Int?, amounts: [Int] = []) -> [PostgresQuery] {
        daysAgo.enumerated().map { index, days in
            let value = amount ?? amounts[index]
            return "INSERT INTO purchases (id, buyer_id, purchased_on, amount) VALUES (\(UUID()), \(client), current_date - \(days)::int, \(value))"
        }
    }

    /// Queued `churn.notify` jobs of the alert.
    func notifyJobs(_ alert: UUID) async throws -> Int {
        try await database.query("SELECT count(*)::int FROM platform.jobs WHERE kind = 'churn.notify' AND unique_key = \("churn.notify:" + alert.auditID) AND payload->>'alert_id' = \(alert.auditID)")[0]
            .decode(Int.self, at: 0)
    }

    /// Queued `churn.rescore` jobs of the client.
    func rescoreJobs(_ client: UUID) async throws -> Int {
        try await database.query("SELECT count(*)::int FROM platform.jobs WHERE unique_key = \("churn.rescore:" + client.auditID)")[0]
            .decode(Int.self, at: 0)
    }

    func scoreAll() async throws -> ChurnRun {
        try await database.withTenantTransaction(try await scopeA()) { try await ChurnScorer.score(client: nil, in: $0) }
    }

    func score(_ client: UUID) async throws -> ChurnRun {
        try await database.withTenantTransaction(try await scopeA()) { try await ChurnScorer.score(client: client, in: $0) }
    }

    /// The client's current score and reason codes.
    func churn(_ client: UUID) async throws -> (score: Int, reasons: [String]) {
        let churn = try await ChurnAlertRepository(database: database).churn(of: client, as: .system(try await scopeA(), label: "test"))
        return (churn.score, ChurnReason.codes(in: churn.reasonsJSON).map(\.rawValue))
    }

    /// A client with an old open complaint and a threshold of 20: scoring raises one alert.
    func raiseAlert(assignTo user: UUID? = nil) async throws -> (client: UUID, alert: UUID) {
        let id = try await actualClient()
        if let user { try await assign(id.auditID, to: user) }
        _ = try await sql([
            "UPDATE churn_settings SET alert_threshold = 20",
            "INSERT INTO complaints (id, client_id, opened_on, category, status) VALUES (\(UUID()), \(id), current_date - 30, 'delivery', 'open')",
        ])
        let raised = try await score(id).raisedAlerts
        return (id, try #require(raised.first))
    }
}
