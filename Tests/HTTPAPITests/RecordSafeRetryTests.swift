import Foundation
import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Safe retries and concurrent edits on the records around the purchase, as on clients: a POST
/// sent again with its Idempotency-Key changes nothing, and PATCH and DELETE honour If-Match.
@Suite("Records: Idempotency-Key and If-Match")
struct RecordSafeRetryTests {
    let harness: APIHarness
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("a purchase POSTed twice with one Idempotency-Key is recorded once, counted once, audited once")
    func purchaseReplay() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            let body = #"{"buyer_id": "\#(buyer)", "purchased_on": "2026-03-02", "amount": "189.00"}"#
            let first = try await client.call(.post, "/v1/purchases", key: key, json: body, headers: [Self.idempotencyKey: "till-0042"])
            #expect(first.status == .created)
            let again = try await client.call(.post, "/v1/purchases", key: key, json: body, headers: [Self.idempotencyKey: "till-0042"])
            #expect(again.status == .created)
            #expect(again.text == first.text)
            #expect(again.headers[.location] == first.headers[.location])
            #expect(again.headers[.eTag] == first.headers[.eTag])
            let list = try await client.call(.get, "/v1/purchases?client_id=\(buyer)", key: key)
            #expect((list.json["items"] as? [Any])?.count == 1)
            let id = try #require(first.json["id"] as? String)
            #expect(try await harness.audit("purchase", id).map(\.0) == ["create"])

            let reused = try await client.call(
                .post, "/v1/purchases", key: key, json: body.replacingOccurrences(of: "189.00", with: "190.00"),
                headers: [Self.idempotencyKey: "till-0042"])
            #expect(reused.status == .unprocessableContent)
            #expect(reused.problem?["type"] as? String == "/problems/idempotency-key-reused")
        }
    }

    @Test("an Idempotency-Key is per account: tenant B's same key makes B's own interaction")
    func keysPerTenant() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let clientA = try await client.newClient(key: keyA)
            let clientB = try await client.newClient(key: keyB)
            let first = try await client.call(
                .post, "/v1/interactions", key: keyA, json: #"{"client_id": "\#(clientA)", "channel": "phone", "subject": "Rappel"}"#,
                headers: [Self.idempotencyKey: "call-1"])
            let other = try await client.call(
                .post, "/v1/interactions", key: keyB, json: #"{"client_id": "\#(clientB)", "channel": "phone", "subject": "Rappel"}"#,
                headers: [Self.idempotencyKey: "call-1"])
            #expect(first.status == .created, "\(first.text)")
            #expect(other.status == .created, "\(other.text)")
            #expect(other.json["id"] as? String != first.json["id"] as? String)
            #expect(other.json["client_id"] as? String == clientB)
        }
    }

    @Test("PATCH with a stale If-Match is 412 and changes nothing; with the current ETag it applies and gives a new one")
    func ifMatchOnPatch() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            let created = try await client.call(
                .post, "/v1/payments", key: key, json: #"{"client_id": "\#(buyer)", "amount": "80.00", "due_on": "2026-04-01"}"#)
            let path = try #require(created.headers[.location])
            let read = try await client.call(.get, path, key: key)
            let etag = try #require(read.headers[.eTag])
            #expect(etag == created.headers[.eTag])

            // Two people edit from the same read: the first wins, the second is told.
            let first = try await client.call(.patch, path, key: key, json: #"{"means": "cheque"}"#, headers: [.ifMatch: etag])
            #expect(first.status == .ok)
            let newTag = try #require(first.headers[.eTag])
            #expect(newTag != etag)
            let second = try await client.call(.patch, path, key: key, json: #"{"means": "card"}"#, headers: [.ifMatch: etag])
            #expect(second.status == .preconditionFailed)
            #expect(second.problem != nil)
            #expect(try await client.call(.get, path, key: key).json["means"] as? String == "cheque")

            let third = try await client.call(.patch, path, key: key, json: #"{"means": "card"}"#, headers: [.ifMatch: newTag])
            #expect(third.status == .ok)
            #expect(third.json["means"] as? String == "card")
            // A tag that was never ours never matches.
            let foreign = try await client.call(.patch, path, key: key, json: #"{"means": "cash"}"#, headers: [.ifMatch: "\"42\""])
            #expect(foreign.status == .preconditionFailed)
        }
    }

    @Test("DELETE with a stale If-Match is 412 and keeps the record; with the current ETag it deletes")
    func ifMatchOnDelete() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let clientID = try await client.newClient(key: key)
            let created = try await client.call(
                .post, "/v1/complaints", key: key,
                json: #"{"client_id": "\#(clientID)", "category": "delivery", "opened_on": "2026-05-04"}"#)
            let path = try #require(created.headers[.location])
            let staleTag = try #require(created.headers[.eTag])
            let changed = try await client.call(.patch, path, key: key, json: #"{"status": "in_progress"}"#)
            #expect(changed.status == .ok)

            let stale = try await client.call(.delete, path, key: key, headers: [.ifMatch: staleTag])
            #expect(stale.status == .preconditionFailed)
            #expect(try await client.call(.get, path, key: key).status == .ok)

            let current = try #require(changed.headers[.eTag])
            let deleted = try await client.call(.delete, path, key: key, headers: [.ifMatch: current])
            #expect(deleted.status == .noContent)
            #expect(try await client.call(.get, path, key: key).status == .notFound)
        }
    }
}
