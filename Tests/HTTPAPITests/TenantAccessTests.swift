import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Tenancy
import Testing
import TestSupport

@Suite("Tenants over HTTP")
struct TenantAccessTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("another tenant's client is 404 for every verb, exactly like an id that never existed")
    func crossTenantIsNotFound() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "individual", "last_name": "Secret"}"#)
            let id = try #require(created.json["id"] as? String)
            let never = try await client.call(.get, "/v1/clients/\(UUID())", key: keyB)
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, #"{"city": "Paris"}"#), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                let response = try await client.call(method, "/v1/clients/\(id)", key: keyB, json: body)
                #expect(response.status == .notFound, "\(method)")
                #expect(response.problem?["title"] as? String == never.problem?["title"] as? String)
            }
            let listB = try await client.call(.get, "/v1/clients", key: keyB)
            #expect((listB.json["items"] as? [Any])?.isEmpty == true)
            // A's client is untouched.
            let mine = try await client.call(.get, "/v1/clients/\(id)", key: keyA)
            #expect(mine.status == .ok)
            #expect(mine.json["city"] is NSNull)
        }
    }

    @Test("a suspended tenant gets 403 with a clear problem, and works again once resumed")
    func suspended() async throws {
        let (keyA, keyB, directory) = (harness.keyA, harness.keyB, harness.directory)
        try await harness.test { client in
            #expect(try await client.call(.get, "/v1/clients", key: keyA).status == .ok)  // now cached
            _ = try await directory.suspend(slug: "optique-a")
            // The change is announced; the cached credential is dropped.
            let refused = try await eventually { try await client.call(.get, "/v1/clients", key: keyA) } until: { $0.status == .forbidden }
            #expect(refused.problem?["type"] as? String == "/problems/tenant-suspended")
            #expect((refused.problem?["detail"] as? String)?.contains("suspended") == true)
            #expect(try await client.call(.get, "/v1/clients", key: keyB).status == .ok)
            _ = try await directory.resume(slug: "optique-a")
            _ = try await eventually { try await client.call(.get, "/v1/clients", key: keyA) } until: { $0.status == .ok }
        }
    }

    @Test("a revoked key and a deleted tenant's key stop working at once")
    func revokedAndDeleted() async throws {
        let (keyA, keyB, directory, database) = (harness.keyA, harness.keyB, harness.directory, harness.database)
        try await harness.test { client in
            #expect(try await client.call(.get, "/v1/clients", key: keyA).status == .ok)
            #expect(try await client.call(.get, "/v1/clients", key: keyB).status == .ok)
            let keyID = String(keyA.dropFirst(3).prefix(16))
            try await APIKeyStore(client: database).revoke(tenantSlug: "optique-a", keyID: keyID)
            _ = try await eventually { try await client.call(.get, "/v1/clients", key: keyA) } until: { $0.status == .unauthorized }
            _ = try await directory.delete(slug: "garage-b", confirmation: "garage-b")
            _ = try await eventually { try await client.call(.get, "/v1/clients", key: keyB) } until: { $0.status == .unauthorized }
        }
    }
}

/// Repeats a call until its result satisfies the condition, for at most five seconds: changes
/// reach the server by a notification, which takes a moment.
func eventually<T>(
    _ call: () async throws -> T, until condition: (T) -> Bool
) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(5)
    while true {
        let result = try await call()
        if condition(result) || ContinuousClock.now > deadline { 
            #expect(condition(result), "condition not met within 5 seconds")
            return result
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
