import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Relationships between records: buys for, prescribes to, referred, member of (with the
/// buying-centre role), influences (DOMAIN.md section 1).
@Suite("Relationships")
struct RelationshipAPITests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("a contact person is a member of an organisation with a function and a buying-centre role")
    func crud() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let person = try await client.newClient(key: key, #"{"kind": "individual", "first_name": "Anne", "last_name": "Roy"}"#)
            let company = try await client.newClient(key: key, #"{"kind": "business", "organisation_name": "Garage Roy"}"#)
            let created = try await client.create("/v1/relationships", key: key, """
                {"from_client_id": "\(person)", "to_client_id": "\(company)", "type": "member_of",
                 "function": "Directrice administrative", "buying_role": "decider", "since": "2020-09-01"}
                """)
            let id = try #require(created["id"] as? String)
            #expect(created["buying_role"] as? String == "decider")
            #expect(created["since"] as? String == "2020-09-01")
            #expect(created["until"] is NSNull)

            #expect(try await client.call(.get, "/v1/relationships/\(id)", key: key).json["function"] as? String == "Directrice administrative")
            for side in [person, company] {
                let list = try await client.call(.get, "/v1/relationships?client_id=\(side)", key: key)
                #expect((list.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            }
            let none = try await client.call(.get, "/v1/relationships?client_id=\(company)&type=referred", key: key)
            #expect((none.json["items"] as? [Any])?.isEmpty == true)

            let changed = try await client.call(.patch, "/v1/relationships/\(id)", key: key,
                                                json: #"{"buying_role": "buyer", "until": "2024-06-30", "function": null}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.json["buying_role"] as? String == "buyer")
            #expect(changed.json["function"] is NSNull)
            #expect(changed.json["until"] as? String == "2024-06-30")

            #expect(try await client.call(.delete, "/v1/relationships/\(id)", key: key).status == .noContent)
            #expect(try await client.call(.get, "/v1/relationships/\(id)", key: key).status == .notFound)
            #expect(try await harness.audit("relationship", id).map(\.0) == ["create", "update", "delete"])
        }
    }

    @Test("the rules: no self-relationship, member_of an organisation, the role fits its kind, dates in order")
    func rules() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let person = try await client.newClient(key: key)
            let other = try await client.newClient(key: key)
            let company = try await client.newClient(key: key, #"{"kind": "business", "organisation_name": "SARL Dupont"}"#)
            let town = try await client.newClient(key: key, #"{"kind": "public_body", "organisation_name": "Mairie de Lyon"}"#)
            let refused: [(String, String)] = [
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(person)", "type": "influences"}"#, "to_client_id"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(other)", "type": "member_of"}"#, "to_client_id"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(company)", "type": "member_of", "buying_role": "procurement_office"}"#, "buying_role"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(town)", "type": "member_of", "buying_role": "decider"}"#, "buying_role"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(other)", "type": "buys_for", "function": "father"}"#, "function"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(other)", "type": "referred", "buying_role": "buyer"}"#, "buying_role"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(other)", "type": "buys_for", "since": "2024-02-01", "until": "2024-01-01"}"#, "until"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(other)", "type": "married_to"}"#, "type"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(other)"}"#, "type"),
                (#"{"to_client_id": "\#(other)", "type": "referred"}"#, "from_client_id"),
                (#"{"from_client_id": "\#(person)", "to_client_id": "\#(UUID())", "type": "referred"}"#, "to_client_id"),
            ]
            for (body, field) in refused {
                try await client.expectInvalid(.post, "/v1/relationships", key: key, body, field: field)
            }
            // A public body's buying centre has its own roles.
            _ = try await client.create("/v1/relationships", key: key,
                #"{"from_client_id": "\#(person)", "to_client_id": "\#(town)", "type": "member_of", "buying_role": "procurement_office"}"#)
        }
    }

    @Test("the same relationship is recorded once (409); another type between the same clients is another relationship")
    func once() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let doctor = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Dr Morel", "category": "prescriber"}"#)
            let patient = try await client.newClient(key: key)
            let body = #"{"from_client_id": "\#(doctor)", "to_client_id": "\#(patient)", "type": "prescribes_to"}"#
            _ = try await client.create("/v1/relationships", key: key, body)
            let again = try await client.call(.post, "/v1/relationships", key: key, json: body)
            #expect(again.status == .conflict)
            #expect(again.problem != nil)
            _ = try await client.create("/v1/relationships", key: key,
                #"{"from_client_id": "\#(doctor)", "to_client_id": "\#(patient)", "type": "referred"}"#)
        }
    }

    @Test("another tenant can neither read tenant A's relationships nor tie its clients to A's")
    func crossTenant() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let a1 = try await client.newClient(key: keyA)
            let a2 = try await client.newClient(key: keyA)
            let relationship = try await client.create("/v1/relationships", key: keyA,
                #"{"from_client_id": "\#(a1)", "to_client_id": "\#(a2)", "type": "referred"}"#)
            let path = "/v1/relationships/\(relationship["id"] as? String ?? "")"
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, #"{"note": "x"}"#), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                #expect(try await client.call(method, path, key: keyB, json: body).status == .notFound, "\(method)")
            }
            let b = try await client.newClient(key: keyB)
            try await client.expectInvalid(.post, "/v1/relationships", key: keyB,
                #"{"from_client_id": "\#(b)", "to_client_id": "\#(a1)", "type": "referred"}"#, field: "to_client_id")
            #expect(try await client.call(.get, path, key: keyA).status == .ok)
        }
    }
}
