import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// A client's timeline: purchases, interactions, complaints, payments, relationships and
/// category changes merged, newest first, paginated.
@Suite("Client timeline")
struct TimelineAPITests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    /// A client with a bit of everything; returns its id and the expected (type, id) order.
    static func story(_ client: some TestClientProtocol, key: String) async throws -> (String, [String]) {
        let me = try await client.newClient(key: key)
        let friend = try await client.newClient(key: key, #"{"kind": "individual", "first_name": "Paul", "last_name": "Petit"}"#)
        let parent = try await client.newClient(key: key)
        func id(_ record: [String: Any]) -> String { record["id"] as? String ?? "" }

        let bought = id(try await client.create("/v1/purchases", key: key,
            #"{"buyer_id": "\#(me)", "amount": "100", "purchased_on": "2024-01-10", "channel": "in_store"}"#))
        let paidFor = id(try await client.create("/v1/purchases", key: key, """
            {"buyer_id": "\(friend)", "payer_id": "\(me)", "consumer_ids": ["\(me)"], "amount": "40", "purchased_on": "2024-01-10"}
            """))
        let used = id(try await client.create("/v1/purchases", key: key,
            #"{"buyer_id": "\#(parent)", "consumer_ids": ["\#(me)"], "amount": "55.50", "purchased_on": "2024-01-05"}"#))
        let dueSameDay = id(try await client.create("/v1/payments", key: key,
            #"{"client_id": "\#(me)", "amount": "100", "due_on": "2024-01-10"}"#))
        let call = id(try await client.create("/v1/interactions", key: key,
            #"{"client_id": "\#(me)", "occurred_at": "2024-01-10T15:00:00Z", "channel": "phone", "subject": "Delivery date"}"#))
        let complaint = id(try await client.create("/v1/complaints", key: key, """
            {"client_id": "\(me)", "category": "delivery", "opened_on": "2024-01-12", "status": "resolved", "resolved_on": "2024-01-20"}
            """))
        let payment = id(try await client.create("/v1/payments", key: key,
            #"{"client_id": "\#(me)", "amount": "100", "due_on": "2024-01-31", "paid_on": "2024-02-05", "means": "card"}"#))
        let referral = id(try await client.create("/v1/relationships", key: key,
            #"{"from_client_id": "\#(me)", "to_client_id": "\#(friend)", "type": "referred"}"#))
        let moved = try await client.call(.patch, "/v1/clients/\(me)", key: key, json: #"{"category": "actual_client"}"#)
        #expect(moved.status == .ok)

        let history = try await client.call(.get, "/v1/clients/\(me)/timeline?types=category_change", key: key)
        let changes = (history.json["items"] as? [[String: Any]] ?? []).map { $0["id"] as? String ?? "" }
        #expect(changes.count == 2)
        let expected = [
            "category_change \(changes.first ?? "")", "relationship \(referral)", "category_change \(changes.last ?? "")",
            "payment_paid \(payment)", "payment_due \(payment)", "complaint_resolved \(complaint)",
            "complaint_opened \(complaint)", "interaction \(call)",
            // At midnight of 2024-01-10: purchases (newest id first), then the payment due that day.
            "purchase \(paidFor)", "purchase \(bought)", "payment_due \(dueSameDay)",
            "purchase \(used)",
        ]
        return (me, expected)
    }

    static func keys(_ response: TestResponse) -> [String] {
        (response.json["items"] as? [[String: Any]] ?? []).map { "\($0["type"] as? String ?? "") \($0["id"] as? String ?? "")" }
    }

    @Test("everything around the client, newest first, each purchase once with the client's part in it")
    func order() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let (me, expected) = try await Self.story(client, key: key)
            let timeline = try await client.call(.get, "/v1/clients/\(me)/timeline", key: key)
            #expect(timeline.status == .ok)
            #expect(Self.keys(timeline) == expected)
            #expect(timeline.json["next_cursor"] is NSNull)

            let items = try #require(timeline.json["items"] as? [[String: Any]])
            let summaries = items.compactMap { $0["summary"] as? String }
            #expect(summaries.contains("Purchase of 40.00 € as payer"))
            #expect(summaries.contains("Purchase of 55.50 € as consumer"))
            #expect(summaries.contains("Purchase of 100.00 € as buyer (in_store)"))
            #expect(summaries.contains("Payment of 100.00 € paid by card, 5 days late"))
            #expect(summaries.contains("Referred Paul Petit"))
            #expect(summaries.contains("Category prospect → actual_client"))
            let paid = try #require(items.first { $0["type"] as? String == "payment_paid" })
            #expect(paid["at"] as? String == "2024-02-05T00:00:00.000Z")
            #expect((paid["data"] as? [String: Any])?["incident"] as? String == "late")
            #expect((paid["data"] as? [String: Any])?["amount"] as? String == "100.00")
            let call = try #require(items.first { $0["type"] as? String == "interaction" })
            #expect(call["at"] as? String == "2024-01-10T15:00:00.000Z")

            // The same relationship from the other side names this client.
            let referral = try #require(items.first { $0["type"] as? String == "relationship" }?["data"] as? [String: Any])
            #expect(referral["other_client_name"] as? String == "Paul Petit")
            let friend = try #require(referral["to_client_id"] as? String)
            let theirs = try await client.call(.get, "/v1/clients/\(friend)/timeline?types=relationship", key: key)
            let incoming = try #require((theirs.json["items"] as? [[String: Any]])?.first)
            #expect((incoming["summary"] as? String)?.hasSuffix(" referred this client") == true, "\(incoming)")
            #expect((incoming["data"] as? [String: Any])?["other_client_id"] as? String == me)
        }
    }

    @Test("pages of any size walk the whole timeline without loss or repeat, across ties of types on one date")
    func pagination() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let (me, expected) = try await Self.story(client, key: key)
            for limit in 1...5 {
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let page = try await client.call(.get,
                        "/v1/clients/\(me)/timeline?limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key)
                    #expect(page.status == .ok, "\(page.text)")
                    let keys = Self.keys(page)
                    #expect(keys.count <= limit)
                    seen += keys
                    cursor = page.json["next_cursor"] as? String
                } while cursor != nil && seen.count <= expected.count
                #expect(seen == expected, "limit \(limit)")
            }
        }
    }

    @Test("only a first page of every type is kept prepared; later pages and chosen types are planned each time")
    func preparedShape() async throws {
        // One connection: every request below runs on the backend the count is read from.
        let single = try await APIHarness.make(maximumConnections: 1)
        let key = single.keyA
        try await single.test { client in
            let (me, expected) = try await Self.story(client, key: key)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await client.call(.get,
                    "/v1/clients/\(me)/timeline?limit=4" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key)
                seen += Self.keys(page)
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil && seen.count <= expected.count
            #expect(seen == expected)
            let purchases = try await client.call(.get, "/v1/clients/\(me)/timeline?types=purchase", key: key)
            #expect(Self.keys(purchases).count == 3)
            let unions = try await single.database.query(
                "SELECT count(*)::int FROM pg_prepared_statements WHERE statement LIKE '%UNION ALL%' AND NOT from_sql")
            #expect(try unions[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test("types= keeps some kinds of events; bad parameters are a 400")
    func filters() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let (me, expected) = try await Self.story(client, key: key)
            let payments = try await client.call(.get, "/v1/clients/\(me)/timeline?types=payment", key: key)
            #expect(Self.keys(payments) == expected.filter { $0.hasPrefix("payment_") })
            let some = try await client.call(.get, "/v1/clients/\(me)/timeline?types=complaint_resolved,interaction", key: key)
            #expect(Self.keys(some) == expected.filter { $0.hasPrefix("complaint_resolved") || $0.hasPrefix("interaction") })
            for query in ["types=weather", "types=", "limit=0", "limit=201", "cursor=garbage", "since=2024-01-01"] {
                let response = try await client.call(.get, "/v1/clients/\(me)/timeline?\(query)", key: key)
                #expect(response.status == .badRequest, "\(query)")
            }
            #expect(try await client.call(.get, "/v1/clients/\(UUID())/timeline", key: key).status == .notFound)
        }
    }

    @Test("another tenant's client has no timeline (404)")
    func crossTenant() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let me = try await client.newClient(key: keyA)
            #expect(try await client.call(.get, "/v1/clients/\(me)/timeline", key: keyA).status == .ok)
            let other = try await client.call(.get, "/v1/clients/\(me)/timeline", key: keyB)
            #expect(other.status == .notFound)
            #expect(other.problem != nil)
        }
    }
}
