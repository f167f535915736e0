import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

/// Duplicates are caught on create, listed on demand, and merged keeping all history.
@Suite("Duplicates and merge")
struct DuplicateMergeTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("a new client with the same email, phone (any French form) or SIREN is a 409 listing the matches, unless allowed")
    func refusedOnCreate() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let first = try await client.call(.post, "/v1/clients", key: keyA, json: """
                {"kind": "individual", "last_name": "Morel", "email": "paul.morel@example.fr", "phone": "06 12 34 56 78"}
                """)
            let firstID = try #require(first.json["id"] as? String)
            let company = try await client.call(.post, "/v1/clients", key: keyA,
                                                json: #"{"kind": "business", "organisation_name": "Morel SA", "siren": "443061841"}"#)
            let companyID = try #require(company.json["id"] as? String)

            for (body, expected) in [
                (#"{"kind": "individual", "last_name": "P", "email": "Paul.Morel@Example.fr"}"#, firstID),
                (#"{"kind": "individual", "last_name": "P", "phone": "+33 6 12 34 56 78"}"#, firstID),
                (#"{"kind": "individual", "last_name": "P", "phone": "0033 (0)6.12.34.56.78"}"#, firstID),
                (#"{"kind": "public_body", "organisation_name": "Mairie", "siren": "443 061 841"}"#, companyID),
            ] {
                let response = try await client.call(.post, "/v1/clients", key: keyA, json: body)
                #expect(response.status == .conflict, "\(body)")
                #expect(response.problem?["type"] as? String == "/problems/duplicate")
                #expect(response.problem?["duplicates"] as? [String] == [expected], "\(body): \(response.text)")
            }
            let allowed = try await client.call(.post, "/v1/clients?allow_duplicate=true", key: keyA,
                                                json: #"{"kind": "individual", "last_name": "P", "phone": "+33 6 12 34 56 78"}"#)
            #expect(allowed.status == .created)
            #expect(try await client.call(.post, "/v1/clients?allow_duplicate=maybe", key: keyA, json: "{}").status == .badRequest)
            // Another tenant's clients are never duplicates.
            let other = try await client.call(.post, "/v1/clients", key: keyB,
                                              json: #"{"kind": "individual", "last_name": "Morel", "email": "paul.morel@example.fr"}"#)
            #expect(other.status == .created)
        }
    }

    @Test("a PATCH giving a client another client's email or phone is a 409 too, and changes nothing unless allowed")
    func duplicateOnPatch() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let first = try await client.call(.post, "/v1/clients", key: key,
                json: #"{"kind": "individual", "last_name": "Roux", "email": "roux@example.fr", "phone": "06 12 34 56 78"}"#)
            let firstID = try #require(first.json["id"] as? String)
            let second = try await client.call(.post, "/v1/clients", key: key,
                json: #"{"kind": "individual", "last_name": "Blanc", "email": "blanc@example.fr"}"#)
            let secondID = try #require(second.json["id"] as? String)

            let taken = try await client.call(.patch, "/v1/clients/\(secondID)", key: key, json: #"{"phone": "+33 6 12 34 56 78"}"#)
            #expect(taken.status == .conflict)
            #expect(taken.json["duplicates"] as? [String] == [firstID])
            #expect(try await client.call(.get, "/v1/clients/\(secondID)", key: key).json["phone"] is NSNull)

            // Its own identifiers, sent again, are no duplicate of itself.
            let same = try await client.call(.patch, "/v1/clients/\(firstID)", key: key,
                json: #"{"email": "roux@example.fr", "notes": "rappeler"}"#)
            #expect(same.status == .ok)

            let allowed = try await client.call(.patch, "/v1/clients/\(secondID)?allow_duplicate=true", key: key,
                json: #"{"email": "roux@example.fr"}"#)
            #expect(allowed.status == .ok)
            #expect(allowed.json["email"] as? String == "roux@example.fr")
            #expect(try await client.call(.patch, "/v1/clients/\(secondID)?force=1", key: key, json: "{}").status == .badRequest)
        }
    }

    @Test("the duplicates of a client: same identifiers first, then very similar names despite accents and typos")
    func listed() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            func create(_ json: String) async throws -> String {
                let response = try await client.call(.post, "/v1/clients?allow_duplicate=true", key: keyA, json: json)
                return try #require(response.json["id"] as? String, "\(response.text)")
            }
            let helene = try await create(#"{"kind": "individual", "first_name": "Hélène", "last_name": "Dupont", "email": "h.dupont@example.fr"}"#)
            let typo = try await create(#"{"kind": "individual", "first_name": "Helene", "last_name": "Dupond"}"#)
            let sameMail = try await create(#"{"kind": "individual", "first_name": "H", "last_name": "D", "email": "h.dupont@example.fr"}"#)
            _ = try await create(#"{"kind": "individual", "first_name": "Marc", "last_name": "Lefèvre"}"#)

            let response = try await client.call(.get, "/v1/clients/\(helene)/duplicates", key: keyA)
            #expect(response.status == .ok)
            let items = try #require(response.json["items"] as? [[String: Any]])
            #expect(items.compactMap { ($0["client"] as? [String: Any])?["id"] as? String } == [sameMail, typo])
            #expect(items.first?["matched_on"] as? [String] == ["email"])
            #expect(items.last?["matched_on"] as? [String] == ["name"])
            #expect((items.last?["name_similarity"] as? Double ?? 0) >= 0.6)

            #expect(try await client.call(.get, "/v1/clients/\(helene)/duplicates", key: keyB).status == .notFound)
        }
    }

    @Test("merge fills the survivor's gaps, unions tags, moves every referencing row and deletes the duplicate")
    func merge() async throws {
        let (keyA, keyB, database, directory) = (harness.keyA, harness.keyB, harness.database, harness.directory)
        let scope = TenantScope(try await directory.find(slug: "optique-a"))
        // A table someone adds later, with a unique constraint per client: merge must cover it
        // without being told about it.
        try await database.withTenantTransaction(scope) { session in
            try await session.query("""
                CREATE TABLE loyalty_cards (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    holder_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
                    programme text NOT NULL, number text NOT NULL,
                    UNIQUE (holder_id, programme))
                """)
        }
        try await harness.test { client in
            let survivor = try await client.call(.post, "/v1/clients", key: keyA, json: """
                {"kind": "individual", "category": "actual_client", "first_name": "Anne", "last_name": "Girard",
                 "tags": ["vip"], "first_purchase_on": "2021-06-01"}
                """)
            let survivorID = try #require(survivor.json["id"] as? String)
            let duplicate = try await client.call(.post, "/v1/clients", key: keyA, json: """
                {"kind": "individual", "category": "prospect", "first_name": "Anne", "last_name": "Girrard",
                 "email": "anne.girard@example.fr", "phone": "06 98 76 54 32", "city": "Lyon", "tags": ["newsletter", "vip"],
                 "first_purchase_on": "2018-02-01", "consent": {"surveys": {"granted": true, "source": "in_store"}}}
                """)
            let duplicateID = try #require(duplicate.json["id"] as? String)
            _ = try await client.call(.patch, "/v1/clients/\(duplicateID)", key: keyA, json: #"{"category": "prescriber"}"#)
            try await database.withTenantTransaction(scope) { session in
                try await session.pipeline([
                    "INSERT INTO loyalty_cards (holder_id, programme, number) VALUES (\(UUID(uuidString: survivorID)!), 'club', 'S-1')",
                    "INSERT INTO loyalty_cards (holder_id, programme, number) VALUES (\(UUID(uuidString: duplicateID)!), 'club', 'D-1')",
                    "INSERT INTO loyalty_cards (holder_id, programme, number) VALUES (\(UUID(uuidString: duplicateID)!), 'kids', 'D-2')",
                ])
            }

            // Tenant B cannot merge A's clients; a stale If-Match changes nothing.
            let crossTenant = try await client.call(.post, "/v1/clients/\(survivorID)/merge", key: keyB, json: #"{"duplicate_id": "\#(duplicateID)"}"#)
            #expect(crossTenant.status == .notFound)
            let stale = try await client.call(.post, "/v1/clients/\(survivorID)/merge", key: keyA,
                                              json: #"{"duplicate_id": "\#(duplicateID)"}"#, headers: [.ifMatch: "\"7\""])
            #expect(stale.status == .preconditionFailed)
            let staleDuplicate = try await client.call(.post, "/v1/clients/\(survivorID)/merge", key: keyA,
                                                       json: #"{"duplicate_id": "\#(duplicateID)", "duplicate_revision": 1}"#)
            #expect(staleDuplicate.status == .preconditionFailed)
            #expect(try await client.call(.post, "/v1/clients/\(survivorID)/merge", key: keyA, json: #"{"duplicate_id": "\#(survivorID)"}"#).status == .unprocessableContent)
            #expect(try await client.call(.post, "/v1/clients/\(survivorID)/merge", key: keyA, json: #"{"id": "\#(duplicateID)"}"#).problem?["field"] as? String == "id")

            let merged = try await client.call(.post, "/v1/clients/\(survivorID)/merge", key: keyA,
                                               json: #"{"duplicate_id": "\#(duplicateID)", "duplicate_revision": 2}"#,
                                               headers: [.ifMatch: "\"1\""])
            #expect(merged.status == .ok, "\(merged.text)")
            let body = merged.json
            #expect(body["id"] as? String == survivorID)
            #expect(body["last_name"] as? String == "Girard")  // the survivor's own value stays
            #expect(body["category"] as? String == "actual_client")
            #expect(body["email"] as? String == "anne.girard@example.fr")  // gaps filled
            #expect(body["city"] as? String == "Lyon")
            #expect(body["tags"] as? [String] == ["vip", "newsletter"])
            #expect(body["first_purchase_on"] as? String == "2018-02-01")  // the earliest
            #expect((body["consent"] as? [String: [String: Any]])?["surveys"]?["granted"] as? Bool == true)
            #expect(merged.headers[.eTag] == "\"2\"")

            #expect(try await client.call(.get, "/v1/clients/\(duplicateID)", key: keyA).status == .notFound)

            // All of the duplicate's history now belongs to the survivor, with a note of the merge.
            let history = try await client.call(.get, "/v1/clients/\(survivorID)/category-history", key: keyA)
            let changes = try #require(history.json["items"] as? [[String: Any]])
            #expect(changes.count == 4)  // survivor's creation, duplicate's creation and move, the merge note
            #expect((changes.first?["reason"] as? String)?.contains("merged with client \(duplicateID)") == true)
            #expect(changes.contains { $0["to_category"] as? String == "prescriber" })

            // The later table's rows moved; the one that would have doubled the survivor's club card was dropped.
            let cards = try await database.tenantTransaction(scope, [
                "SELECT holder_id, number FROM loyalty_cards ORDER BY number",
            ])[0].map { (try $0.decode(UUID.self, at: 0).uuidString.lowercased(), try $0.decode(String.self, at: 1)) }
            #expect(cards.map(\.1) == ["D-2", "S-1"])
            #expect(cards.allSatisfy { $0.0 == survivorID })

            // Both ids have a merge entry in the audit log.
            for id in [survivorID, duplicateID] {
                let entries = try await AuditLog.read(entity: "client", id: id, limit: 1, as: .system(scope, label: "test"), database: database)
                #expect(entries.first?.action == "merge", "\(id)")
            }
            // The duplicate's identifiers now point at the survivor.
            let again = try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "individual", "last_name": "G", "phone": "+33698765432"}"#)
            #expect(again.problem?["duplicates"] as? [String] == [survivorID])
        }
    }

    @Test("merging needs the right to delete clients")
    func roles() async throws {
        let (keyA, database) = (harness.keyA, harness.database)
        let viewer = try await APIKeyStore(client: database).create(tenantSlug: "optique-a", name: "viewer", role: .viewer).token
        let scope = TenantScope(try await harness.directory.find(slug: "optique-a"))
        try await harness.test { client in
            let a = try #require(try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "individual", "last_name": "A"}"#).json["id"] as? String)
            let b = try #require(try await client.call(.post, "/v1/clients", key: keyA, json: #"{"kind": "individual", "last_name": "B"}"#).json["id"] as? String)
            let refused = try await client.call(.post, "/v1/clients/\(a)/merge", key: viewer, json: #"{"duplicate_id": "\#(b)"}"#)
            #expect(refused.status == .forbidden)
            #expect(try await client.call(.get, "/v1/clients/\(b)", key: keyA).status == .ok)

            let agent = Actor(scope: scope, role: .agent, userID: UUID(), label: "user:agent")
            do {
                _ = try await ClientRepository(database: database).merge(UUID(uuidString: b)!, into: UUID(uuidString: a)!, as: agent)
                Issue.record("an agent merged clients")
            } catch let error as ClientBaseError {
                #expect(error.code == .forbidden)
            }
        }
    }
}
