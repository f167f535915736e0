import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Merge and the records around the purchase, built apart, meet here: merging two records
/// moves the duplicate's purchases, contacts and payments to the survivor.
@Suite("Merge with purchases and contacts")
struct MergeAroundPurchaseTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("after a merge the survivor holds the duplicate's purchases, interactions and payments, and its purchase dates")
    func mergeMovesHistory() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let survivor = try #require(try await client.call(.post, "/v1/clients", key: key,
                json: #"{"kind": "individual", "last_name": "Roux", "email": "roux@example.fr"}"#).json["id"] as? String)
            let duplicate = try #require(try await client.call(.post, "/v1/clients?allow_duplicate=true", key: key,
                json: #"{"kind": "individual", "last_name": "Roux", "email": "roux@example.fr"}"#).json["id"] as? String)
            let purchase = try await client.call(.post, "/v1/purchases", key: key, json: """
                {"buyer_id": "\(duplicate)", "purchased_on": "2024-03-05", "channel": "in_store",
                 "purchase_type": "considered", "amount": "320.00"}
                """)
            #expect(purchase.status == .created, "\(purchase.text)")
            let interaction = try await client.call(.post, "/v1/interactions", key: key, json: """
                {"client_id": "\(duplicate)", "channel": "phone", "direction": "inbound", "subject": "Devis verres progressifs"}
                """)
            #expect(interaction.status == .created, "\(interaction.text)")
            let payment = try await client.call(.post, "/v1/payments", key: key, json: """
                {"client_id": "\(duplicate)", "amount": "320.00", "due_on": "2024-03-05", "paid_on": "2024-03-20", "means": "card"}
                """)
            #expect(payment.status == .created, "\(payment.text)")

            let merged = try await client.call(.post, "/v1/clients/\(survivor)/merge", key: key, json: #"{"duplicate_id": "\#(duplicate)"}"#)
            #expect(merged.status == .ok, "\(merged.text)")
            #expect(merged.json["first_purchase_on"] as? String == "2024-03-05")
            #expect(merged.json["last_purchase_on"] as? String == "2024-03-05")

            for path in ["/v1/purchases", "/v1/interactions", "/v1/payments"] {
                let moved = try await client.call(.get, "\(path)?client_id=\(survivor)", key: key)
                #expect((moved.json["items"] as? [Any])?.count == 1, "\(path): \(moved.text)")
            }
            let late = try await client.call(.get, "/v1/payments?client_id=\(survivor)", key: key)
            #expect(((late.json["items"] as? [[String: Any]])?.first?["incident"]) as? String == "late")
            let timeline = try await client.call(.get, "/v1/clients/\(survivor)/timeline", key: key)
            let types = Set((timeline.json["items"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? [])
            #expect(types.isSuperset(of: ["purchase", "interaction"]), "\(types)")
        }
    }
}
