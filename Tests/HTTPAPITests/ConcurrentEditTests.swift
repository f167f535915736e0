import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Two people editing one client cannot silently overwrite each other (If-Match and ETag).
@Suite("Concurrent edits")
struct ConcurrentEditTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("every read and write gives the client's ETag; a PATCH with a stale If-Match is 412 and changes nothing")
    func ifMatch() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: key, json: #"{"kind": "individual", "last_name": "Martin"}"#)
            let id = try #require(created.json["id"] as? String)
            let first = try #require(created.headers[.eTag])
            #expect(try await client.call(.get, "/v1/clients/\(id)", key: key).headers[.eTag] == first)

            // Alice saves first, with the ETag she read.
            let alice = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"city": "Lyon"}"#,
                                              headers: [.ifMatch: first])
            #expect(alice.status == .ok)
            let second = try #require(alice.headers[.eTag])
            #expect(second != first)

            // Bob read before Alice saved: his change is refused, not merged over hers.
            let bob = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"city": "Paris"}"#,
                                            headers: [.ifMatch: first])
            #expect(bob.status == .preconditionFailed)
            #expect(bob.problem?["type"] as? String == "/problems/stale-revision")
            #expect(try await client.call(.get, "/v1/clients/\(id)", key: key).json["city"] as? String == "Lyon")

            // Any of several tags, or *, matches; a tag that is not ours never does.
            #expect(try await client.call(.patch, "/v1/clients/\(id)", key: key, json: "{}",
                                          headers: [.ifMatch: "\(first), \(second)"]).status == .ok)
            #expect(try await client.call(.patch, "/v1/clients/\(id)", key: key, json: "{}",
                                          headers: [.ifMatch: "*"]).status == .ok)
            #expect(try await client.call(.patch, "/v1/clients/\(id)", key: key, json: "{}",
                                          headers: [.ifMatch: "W/\"x\""]).status == .preconditionFailed)
            // Without If-Match the last write wins, as before.
            #expect(try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"city": "Paris"}"#).status == .ok)
        }
    }
}
