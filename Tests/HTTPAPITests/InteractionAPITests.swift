import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Contacts with a client: date, channel, subject, outcome, next step, author.
@Suite("Interactions")
struct InteractionAPITests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("an interaction records its author from the credential; the author cannot be written")
    func crud() async throws {
        let key = harness.keyA
        let keyID = String(key.dropFirst(3).prefix(16))
        let harness = harness
        try await harness.test { client in
            let customer = try await client.newClient(key: key)
            let created = try await client.create("/v1/interactions", key: key, """
                {"client_id": "\(customer)", "occurred_at": "2024-03-14T15:30:00+01:00", "channel": "phone",
                 "direction": "outbound", "subject": "Devis verres progressifs", "outcome": "interested",
                 "next_step": "call back with the quote", "next_step_on": "2024-03-21"}
                """)
            let id = try #require(created["id"] as? String)
            #expect(created["author"] as? String == "api-key:\(keyID)")
            #expect(created["occurred_at"] as? String == "2024-03-14T14:30:00.000Z")
            #expect(created["next_step_on"] as? String == "2024-03-21")

            // Without a date, it happened now.
            let now = try await client.create("/v1/interactions", key: key,
                #"{"client_id": "\#(customer)", "channel": "visit", "subject": "Came in to try frames"}"#)
            let occurred = try #require(now["occurred_at"] as? String)
            #expect(occurred.hasPrefix(String(ISO8601DateFormatter().string(from: Date()).prefix(10))))

            let march = try await client.call(.get, "/v1/interactions?client_id=\(customer)&from=2024-03-14&to=2024-03-14", key: key)
            #expect((march.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            let visits = try await client.call(.get, "/v1/interactions?client_id=\(customer)&channel=visit", key: key)
            #expect((visits.json["items"] as? [Any])?.count == 1)

            let changed = try await client.call(.patch, "/v1/interactions/\(id)", key: key,
                                                json: #"{"outcome": "ordered", "next_step": null, "next_step_on": null}"#)
            #expect(changed.json["outcome"] as? String == "ordered")
            #expect(changed.json["next_step"] is NSNull)
            #expect(changed.json["subject"] as? String == "Devis verres progressifs")
            try await client.expectInvalid(.patch, "/v1/interactions/\(id)", key: key, #"{"author": "someone else"}"#, field: "author")

            #expect(try await client.call(.delete, "/v1/interactions/\(id)", key: key).status == .noContent)
            #expect(try await client.call(.get, "/v1/interactions/\(id)", key: key).status == .notFound)
            #expect(try await harness.audit("interaction", id).map(\.0) == ["create", "update", "delete"])
        }
    }

    @Test("bad input is a 422 naming the field")
    func validation() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let customer = try await client.newClient(key: key)
            let refused: [(String, String)] = [
                (#"{"channel": "phone", "subject": "Hello"}"#, "client_id"),
                (#"{"client_id": "\#(customer)", "subject": "Hello"}"#, "channel"),
                (#"{"client_id": "\#(customer)", "channel": "phone"}"#, "subject"),
                (#"{"client_id": "\#(customer)", "channel": "phone", "subject": "   "}"#, "subject"),
                (#"{"client_id": "\#(customer)", "channel": "telegram", "subject": "Hello"}"#, "channel"),
                (#"{"client_id": "\#(customer)", "channel": "phone", "subject": "Hello", "direction": "sideways"}"#, "direction"),
                (#"{"client_id": "\#(customer)", "channel": "phone", "subject": "Hello", "occurred_at": "2024-03-14 15:30"}"#, "occurred_at"),
                (#"{"client_id": "\#(customer)", "channel": "phone", "subject": "Hello", "next_step_on": "2024-04-01"}"#, "next_step"),
                (#"{"client_id": "\#(customer)", "channel": "phone", "subject": "Hello", "author": "me"}"#, "author"),
                (#"{"client_id": "\#(UUID())", "channel": "phone", "subject": "Hello"}"#, "client_id"),
            ]
            for (body, field) in refused {
                try await client.expectInvalid(.post, "/v1/interactions", key: key, body, field: field)
            }
        }
    }

    @Test("another tenant can neither read tenant A's interactions nor record one for A's client")
    func crossTenant() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let customer = try await client.newClient(key: keyA)
            let interaction = try await client.create("/v1/interactions", key: keyA,
                #"{"client_id": "\#(customer)", "channel": "email", "subject": "Private"}"#)
            let path = "/v1/interactions/\(interaction["id"] as? String ?? "")"
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, #"{"subject": "x"}"#), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                #expect(try await client.call(method, path, key: keyB, json: body).status == .notFound, "\(method)")
            }
            let listB = try await client.call(.get, "/v1/interactions", key: keyB)
            #expect((listB.json["items"] as? [Any])?.isEmpty == true)
            try await client.expectInvalid(.post, "/v1/interactions", key: keyB,
                #"{"client_id": "\#(customer)", "channel": "email", "subject": "Hi"}"#, field: "client_id")
        }
    }
}
