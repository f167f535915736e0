import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

@Suite("/v1/clients")
struct ClientAPITests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("create, get, update, list and delete a client, in snake_case JSON")
    func lifecycle() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: key, json: """
                {"kind": "individual", "category": "actual_client", "first_name": "Léa", "last_name": "Martin",
                 "email": "lea@example.fr", "phone": "+33 6 12 34 56 78", "city": "Lyon", "postal_code": "69003"}
                """)
            #expect(created.status == .created)
            let body = created.json
            let id = try #require(body["id"] as? String)
            #expect(created.headers[.location] == "/v1/clients/\(id)")
            #expect(body["first_name"] as? String == "Léa")
            #expect(body["organisation_name"] is NSNull)
            #expect(body["category"] as? String == "actual_client")
            #expect((body["created_at"] as? String)?.hasSuffix("Z") == true)

            let fetched = try await client.call(.get, "/v1/clients/\(id)", key: key)
            #expect(fetched.status == .ok)
            #expect(fetched.json["email"] as? String == "lea@example.fr")

            let patched = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"category": "former_client", "category_reason": "moved away", "phone": null}"#)
            #expect(patched.status == .ok)
            #expect(patched.json["category"] as? String == "former_client")
            #expect(patched.json["phone"] is NSNull)
            #expect(patched.json["email"] as? String == "lea@example.fr")

            let listed = try await client.call(.get, "/v1/clients?category=former_client", key: key)
            #expect((listed.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])

            let deleted = try await client.call(.delete, "/v1/clients/\(id)", key: key)
            #expect(deleted.status == .noContent)
            let gone = try await client.call(.get, "/v1/clients/\(id)", key: key)
            #expect(gone.status == .notFound)
            #expect(gone.problem != nil)
        }
    }

    @Test("lists page with a cursor, a bounded limit and a category filter")
    func pagination() async throws {
        let key = harness.keyA
        try await harness.test { client in
            var ids: [String] = []
            for index in 0..<7 {
                let category = index % 2 == 0 ? "prospect" : "prescriber"
                let response = try await client.call(.post, "/v1/clients", key: key, json: """
                    {"kind": "business", "category": "\(category)", "organisation_name": "Société \(index)"}
                    """)
                ids.append(try #require(response.json["id"] as? String))
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let path = "/v1/clients?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.call(.get, path, key: key)
                #expect(page.status == .ok)
                let items = try #require(page.json["items"] as? [[String: Any]])
                #expect(items.count <= 3)
                seen += items.compactMap { $0["id"] as? String }
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == ids)  // every client once, in creation order

            let prescribers = try await client.call(.get, "/v1/clients?category=prescriber&limit=200", key: key)
            let items = try #require(prescribers.json["items"] as? [[String: Any]])
            #expect(items.count == 3)
            #expect(prescribers.json["next_cursor"] is NSNull)
        }
    }

    @Test("a duplicate external reference is a 409 conflict")
    func conflict() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let body = #"{"kind": "individual", "last_name": "Dupont", "external_ref": "CAISSE-42"}"#
            #expect(try await client.call(.post, "/v1/clients", key: key, json: body).status == .created)
            let second = try await client.call(.post, "/v1/clients", key: key, json: body)
            #expect(second.status == .conflict)
            #expect(second.problem?["field"] as? String == "external_ref")
        }
    }

    @Test("text with quotes, backslashes, control characters and accents comes back as sent")
    func escaping() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: key, json: #"""
                {"kind": "business", "organisation_name": "L'\"Atelier\" \\ Zoé\tet\u0001 fils", "city": "Saint-Étienne"}
                """#)
            let id = try #require(created.json["id"] as? String)
            let fetched = try await client.call(.get, "/v1/clients/\(id)", key: key)
            #expect(fetched.json["organisation_name"] as? String == "L'\"Atelier\" \\ Zoé\tet\u{01} fils")
            #expect(fetched.json["city"] as? String == "Saint-Étienne")
        }
    }

    @Test("an empty list is an empty page, not an error")
    func emptyList() async throws {
        let key = harness.keyB
        try await harness.test { client in
            let response = try await client.call(.get, "/v1/clients", key: key)
            #expect(response.status == .ok)
            #expect((response.json["items"] as? [Any])?.isEmpty == true)
        }
    }
}
