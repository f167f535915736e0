import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Complaints and after-sales cases: opened, category, status, closing date, time spent.
@Suite("Complaints")
struct ComplaintAPITests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("a complaint about a purchase is opened, handled and resolved with its date")
    func lifecycle() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let customer = try await client.newClient(key: key)
            let purchase = try await client.create("/v1/purchases", key: key, #"{"buyer_id": "\#(customer)", "amount": "300"}"#)
            let purchaseID = try #require(purchase["id"] as? String)
            let opened = try await client.create("/v1/complaints", key: key, """
                {"client_id": "\(customer)", "purchase_id": "\(purchaseID)", "opened_on": "2024-02-01",
                 "category": "product_quality", "description": "scratched lens", "handling_minutes": 15}
                """)
            let id = try #require(opened["id"] as? String)
            #expect(opened["status"] as? String == "open")
            #expect(opened["resolved_on"] is NSNull)
            #expect(opened["handling_minutes"] as? Int == 15)
            let path = "/v1/complaints/\(id)"

            try await client.expectInvalid(.patch, path, key: key, #"{"status": "resolved"}"#, field: "resolved_on")
            try await client.expectInvalid(.patch, path, key: key, #"{"resolved_on": "2024-02-10"}"#, field: "resolved_on")
            try await client.expectInvalid(.patch, path, key: key, #"{"status": "resolved", "resolved_on": "2024-01-10"}"#, field: "resolved_on")
            let resolved = try await client.call(.patch, path, key: key,
                json: #"{"status": "resolved", "resolved_on": "2024-02-10", "handling_minutes": 75}"#)
            #expect(resolved.status == .ok, "\(resolved.text)")
            #expect(resolved.json["resolved_on"] as? String == "2024-02-10")

            // Reopened (in litigation): the closing date goes.
            let disputed = try await client.call(.patch, path, key: key, json: #"{"status": "disputed"}"#)
            #expect(disputed.json["status"] as? String == "disputed")
            #expect(disputed.json["resolved_on"] is NSNull)

            let open = try await client.call(.get, "/v1/complaints?client_id=\(customer)&status=disputed", key: key)
            #expect((open.json["items"] as? [Any])?.count == 1)
            let before = try await client.call(.get, "/v1/complaints?to=2024-01-31", key: key)
            #expect((before.json["items"] as? [Any])?.isEmpty == true)

            #expect(try await client.call(.delete, path, key: key).status == .noContent)
            #expect(try await harness.audit("complaint", id).map(\.0) == ["create", "update", "update", "delete"])
        }
    }

    @Test("bad input is a 422 naming the field; the purchase must be one of this client's")
    func validation() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let customer = try await client.newClient(key: key)
            let stranger = try await client.newClient(key: key)
            let theirs = try await client.create("/v1/purchases", key: key, #"{"buyer_id": "\#(stranger)", "amount": "10"}"#)
            let theirID = theirs["id"] as? String ?? ""
            let refused: [(String, String)] = [
                (#"{"category": "delivery"}"#, "client_id"),
                (#"{"client_id": "\#(customer)"}"#, "category"),
                (#"{"client_id": "\#(customer)", "category": "weather"}"#, "category"),
                (#"{"client_id": "\#(customer)", "category": "delivery", "status": "closed"}"#, "status"),
                (#"{"client_id": "\#(customer)", "category": "delivery", "status": "rejected"}"#, "resolved_on"),
                (#"{"client_id": "\#(customer)", "category": "delivery", "handling_minutes": -5}"#, "handling_minutes"),
                (#"{"client_id": "\#(customer)", "category": "delivery", "handling_minutes": 1.5}"#, "handling_minutes"),
                (#"{"client_id": "\#(customer)", "category": "delivery", "purchase_id": "\#(theirID)"}"#, "purchase_id"),
                (#"{"client_id": "\#(customer)", "category": "delivery", "purchase_id": "\#(UUID())"}"#, "purchase_id"),
            ]
            for (body, field) in refused {
                try await client.expectInvalid(.post, "/v1/complaints", key: key, body, field: field)
            }
        }
    }

    @Test("another tenant can neither read tenant A's complaints nor name A's purchases")
    func crossTenant() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let customer = try await client.newClient(key: keyA)
            let purchase = try await client.create("/v1/purchases", key: keyA, #"{"buyer_id": "\#(customer)", "amount": "10"}"#)
            let complaint = try await client.create("/v1/complaints", key: keyA, #"{"client_id": "\#(customer)", "category": "billing"}"#)
            let path = "/v1/complaints/\(complaint["id"] as? String ?? "")"
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, #"{"status": "in_progress"}"#), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                #expect(try await client.call(method, path, key: keyB, json: body).status == .notFound, "\(method)")
            }
            let customerB = try await client.newClient(key: keyB)
            try await client.expectInvalid(.post, "/v1/complaints", key: keyB,
                #"{"client_id": "\#(customerB)", "category": "billing", "purchase_id": "\#(purchase["id"] as? String ?? "")"}"#,
                field: "purchase_id")
        }
    }
}
