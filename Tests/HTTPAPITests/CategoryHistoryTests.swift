import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Where a client stands, and every change of it (DOMAIN.md section 1).
@Suite("Client categories and their history")
struct CategoryHistoryTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("non-consumers and former clients need a reason; follow_up_on is for relative non-consumers only")
    func reasonsRequired() async throws {
        let key = harness.keyA
        let refused: [(String, String)] = [
            (#"{"kind": "individual", "last_name": "A", "category": "relative_non_consumer"}"#, "category_reason"),
            (#"{"kind": "individual", "last_name": "A", "category": "absolute_non_consumer"}"#, "category_reason"),
            (#"{"kind": "individual", "last_name": "A", "category": "former_client"}"#, "category_reason"),
            (#"{"kind": "individual", "last_name": "A", "category": "actual_client", "follow_up_on": "2027-01-01"}"#, "follow_up_on"),
            (#"{"kind": "individual", "last_name": "A", "category": "relative_non_consumer", "category_reason": "age", "follow_up_on": "2027-02-30"}"#, "follow_up_on"),
            (#"{"kind": "individual", "last_name": "A", "category": "relative_non_consumer", "category_reason": "age", "follow_up_on": 20270101}"#, "follow_up_on"),
        ]
        try await harness.test { client in
            for (body, field) in refused {
                let response = try await client.call(.post, "/v1/clients", key: key, json: body)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect(response.problem?["field"] as? String == field, "\(body): \(response.text)")
            }
        }
    }

    @Test("every change of category is kept with its reason, author and date, newest first")
    func history() async throws {
        let key = harness.keyA
        let keyID = String(key.dropFirst(3).prefix(16))
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: key, json: """
                {"kind": "individual", "last_name": "Petit", "category": "relative_non_consumer",
                 "category_reason": "too young for glasses", "follow_up_on": "2030-09-01"}
                """)
            #expect(created.status == .created)
            let id = try #require(created.json["id"] as? String)
            #expect(created.json["follow_up_on"] as? String == "2030-09-01")
            #expect(created.json["due_for_follow_up"] as? Bool == false)

            // A change of anything else keeps the category and its reason.
            let renamed = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"city": "Lyon"}"#)
            #expect(renamed.json["category_reason"] as? String == "too young for glasses")

            let moved = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"category": "actual_client"}"#)
            #expect(moved.status == .ok)
            #expect(moved.json["category_reason"] is NSNull)
            #expect(moved.json["follow_up_on"] is NSNull)  // a new standing drops the old one's date
            let left = try await client.call(.patch, "/v1/clients/\(id)", key: key,
                                             json: #"{"category": "former_client", "category_reason": "moved to a competitor: price"}"#)
            #expect(left.status == .ok)

            let history = try await client.call(.get, "/v1/clients/\(id)/category-history", key: key)
            #expect(history.status == .ok)
            let items = try #require(history.json["items"] as? [[String: Any]])
            #expect(items.map { $0["to_category"] as? String } == ["former_client", "actual_client", "relative_non_consumer"])
            #expect(items.map { $0["from_category"] as? String } == ["actual_client", "relative_non_consumer", nil])
            #expect(items[0]["reason"] as? String == "moved to a competitor: price")
            #expect(items[2]["reason"] as? String == "too young for glasses")
            #expect(items.allSatisfy { $0["author"] as? String == "api-key:\(keyID)" })
            #expect(items.allSatisfy { ($0["changed_at"] as? String)?.hasSuffix("Z") == true })
        }
    }

    @Test("relative non-consumers whose follow-up date has come are listed as due")
    func dueForFollowUp() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let due = try await client.call(.post, "/v1/clients", key: key, json: """
                {"kind": "individual", "last_name": "Due", "category": "relative_non_consumer",
                 "category_reason": "budget", "follow_up_on": "2020-01-01"}
                """)
            #expect(due.json["due_for_follow_up"] as? Bool == true)
            _ = try await client.call(.post, "/v1/clients", key: key, json: """
                {"kind": "individual", "last_name": "Later", "category": "relative_non_consumer",
                 "category_reason": "budget", "follow_up_on": "2099-01-01"}
                """)
            _ = try await client.call(.post, "/v1/clients", key: key, json: #"{"kind": "individual", "last_name": "Client"}"#)
            let list = try await client.call(.get, "/v1/clients?due_for_follow_up=true", key: key)
            let names = (list.json["items"] as? [[String: Any]])?.map { $0["last_name"] as? String }
            #expect(names == ["Due"])
            let bad = try await client.call(.get, "/v1/clients?due_for_follow_up=maybe", key: key)
            #expect(bad.status == .badRequest)
        }
    }

    @Test("another tenant's client has no history to show: 404")
    func crossTenant() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "individual", "last_name": "A"}"#)
            let id = try #require(created.json["id"] as? String)
            #expect(try await client.call(.get, "/v1/clients/\(id)/category-history", key: keyB).status == .notFound)
            #expect(try await client.call(.get, "/v1/clients/\(id)/category-history", key: keyA).status == .ok)
        }
    }
}
