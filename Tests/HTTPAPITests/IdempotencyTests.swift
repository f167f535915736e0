import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Safe retries: a POST sent again with the same Idempotency-Key changes nothing.
@Suite("Idempotency-Key")
struct IdempotencyTests {
    let harness: APIHarness
    static let header = HTTPField.Name("Idempotency-Key")!

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("a retried POST returns the first result and creates nothing more")
    func replay() async throws {
        let key = harness.keyA
        let body = #"{"kind": "individual", "last_name": "Durand"}"#
        try await harness.test { client in
            let first = try await client.call(.post, "/v1/clients", key: key, json: body, headers: [Self.header: "order-42"])
            #expect(first.status == .created)
            let again = try await client.call(.post, "/v1/clients", key: key, json: body, headers: [Self.header: "order-42"])
            #expect(again.status == .created)
            #expect(again.json["id"] as? String == first.json["id"] as? String)
            #expect(again.headers[.location] == first.headers[.location])
            #expect(again.headers[.eTag] == first.headers[.eTag])
            let other = try await client.call(.post, "/v1/clients", key: key, json: body, headers: [Self.header: "order-43"])
            #expect(other.json["id"] as? String != first.json["id"] as? String)
            let list = try await client.call(.get, "/v1/clients", key: key)
            #expect((list.json["items"] as? [Any])?.count == 2)
        }
    }

    @Test("concurrent retries with one key create one client")
    func concurrentRetries() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await client.call(.post, "/v1/clients", key: key, json: #"{"kind": "business", "organisation_name": "SARL Dupuis"}"#,
                                              headers: [Self.header: "same"]).json["id"] as? String
                    }
                }
                return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let list = try await client.call(.get, "/v1/clients", key: key)
            #expect((list.json["items"] as? [Any])?.count == 1)
        }
    }

    @Test("the same key with another body is refused; keys are per tenant; bad keys are 400")
    func misuse() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            _ = try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "individual", "last_name": "A"}"#,
                                      headers: [Self.header: "k1"])
            let reused = try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "individual", "last_name": "B"}"#,
                                               headers: [Self.header: "k1"])
            #expect(reused.status == .unprocessableContent)
            #expect(reused.problem?["type"] as? String == "/problems/idempotency-key-reused")
            // Tenant B's "k1" is its own.
            let otherTenant = try await client.call(.post, "/v1/clients", key: keyB, json: #"{"kind": "individual", "last_name": "A"}"#,
                                                    headers: [Self.header: "k1"])
            #expect(otherTenant.status == .created)
            let tooLong = try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "individual", "last_name": "C"}"#,
                                                headers: [Self.header: String(repeating: "x", count: 256)])
            #expect(tooLong.status == .badRequest)
            // A failed request stores nothing: fixed, it goes through with the same key.
            let invalid = try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "business"}"#,
                                                headers: [Self.header: "k2"])
            #expect(invalid.status == .unprocessableContent)
            let fixed = try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "business", "organisation_name": "X"}"#,
                                              headers: [Self.header: "k2"])
            #expect(fixed.status == .created)
        }
    }
}
