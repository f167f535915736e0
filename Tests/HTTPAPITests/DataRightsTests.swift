import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

/// Subject access (everything held about a client) and erasure (personal data gone from every
/// table, aggregates still true), both owner and admin only, both audited.
@Suite("Data rights")
struct DataRightsTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    /// A client with something in every table around them; returns (client, other client).
    func clientWithHistory(_ client: some TestClientProtocol) async throws -> (String, String) {
        let key = harness.keyA
        _ = try await client.call(.post, "/v1/custom-fields", key: key, json: #"{"key": "lens", "label": "Lens", "type": "text"}"#)
        let response = try await client.call(.post, "/v1/clients", key: key, json: """
            {"kind": "individual", "first_name": "Hélène", "last_name": "Zwierzynska", "email": "helene.zw@example.fr",
             "phone": "06 98 76 54 32", "city": "Lyon", "external_ref": "TILL-4242", "notes": "Zwierzynska prefers mornings",
             "tags": ["vip"], "custom_fields": {"lens": "Zwierzynska special"}, "category": "relative_non_consumer",
             "category_reason": "Zwierzynska is waiting for surgery"}
            """, headers: [HTTPField.Name("Idempotency-Key")!: "create-helene"])
        #expect(response.status == .created, "\(response.text)")
        let id = try #require(response.json["id"] as? String)
        let other = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Martin"}"#)
        #expect(try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"email": "h.zw@example.fr", "category": "actual_client"}"#).status == .ok)
        let purchase = try await client.create("/v1/purchases", key: key,
            #"{"buyer_id": "\#(id)", "amount": "300.00", "note": "for Zwierzynska's husband", "purchased_on": "2024-02-01"}"#)
        _ = try await client.create("/v1/purchases", key: key,
            #"{"buyer_id": "\#(other)", "consumer_ids": ["\#(id)"], "amount": "50.00", "note": "gift to Zwierzynska"}"#)
        _ = try await client.create("/v1/interactions", key: key,
            #"{"client_id": "\#(id)", "channel": "phone", "subject": "Call Zwierzynska back", "outcome": "Zwierzynska agreed"}"#)
        _ = try await client.create("/v1/complaints", key: key,
            #"{"client_id": "\#(id)", "category": "delivery", "description": "Zwierzynska got the wrong frame", "purchase_id": "\#(purchase["id"]!)"}"#)
        _ = try await client.create("/v1/payments", key: key,
            #"{"client_id": "\#(id)", "amount": "300.00", "due_on": "2024-02-01", "paid_on": "2024-02-03", "incident": "rejected", "incident_on": "2024-02-03", "incident_note": "Zwierzynska's cheque bounced"}"#)
        _ = try await client.create("/v1/relationships", key: key,
            #"{"from_client_id": "\#(other)", "to_client_id": "\#(id)", "type": "referred", "note": "Martin brought Zwierzynska"}"#)
        return (id, other)
    }

    @Test("subject access returns everything held about the client in one document, and is audited")
    func subjectAccess() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let (id, _) = try await clientWithHistory(client)
            let response = try await client.call(.get, "/v1/clients/\(id)/personal-data", key: key)
            #expect(response.status == .ok, "\(response.text)")
            let body = response.json
            #expect((body["client"] as? [String: Any])?["last_name"] as? String == "Zwierzynska")
            #expect((body["category_history"] as? [Any])?.count == 2)
            #expect((body["purchases"] as? [Any])?.count == 2)  // as buyer and as consumer
            #expect((body["interactions"] as? [Any])?.count == 1)
            #expect((body["complaints"] as? [Any])?.count == 1)
            #expect((body["payments"] as? [Any])?.count == 1)
            #expect((body["relationships"] as? [Any])?.count == 1)
            let audit = try #require(body["audit_log"] as? [[String: Any]])
            #expect(Set(audit.compactMap { $0["entity"] as? String }) == ["client", "purchase", "interaction", "complaint", "payment", "relationship"])
            #expect(try await harness.audit("client", id).last?.0 == "export")

            #expect(try await client.call(.get, "/v1/clients/\(id)/personal-data", key: harness.keyB).status == .notFound)
            #expect(try await client.call(.get, "/v1/clients/not-a-uuid/personal-data", key: key).status == .badRequest)
        }
    }

    @Test("erasure leaves no trace of the person in any table of the tenant, keeps revenue, and freezes the record")
    func erasure() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let (id, other) = try await clientWithHistory(client)
            let revenue = "SELECT sum(amount)::text, count(*) FROM purchases"
            let before = try await harness.sql([PostgresQuery(unsafeSQL: revenue)])[0][0]

            let erased = try await client.call(.post, "/v1/clients/\(id)/erase", key: key)
            #expect(erased.status == .ok, "\(erased.text)")
            #expect(erased.json["erased"] as? Bool == true)
            #expect(erased.json["last_name"] is NSNull && erased.json["email"] is NSNull)
            #expect(erased.json["category"] as? String == "actual_client")
            #expect(erased.json["last_purchase_on"] as? String == "2024-02-01")

            for secret in ["Zwierzynska", "zwierzynska", "helene.zw@example.fr", "h.zw@example.fr", "06 98 76 54 32", "TILL-4242", "Hélène"] {
                #expect(try await tablesHolding(secret) == [], "\(secret)")
            }
            for term in ["zwierzynska", "h.zw@example.fr", "0698765432"] {
                let search = try await client.call(.get, "/v1/clients?q=\(percentEncoded(term))", key: key)
                #expect((search.json["items"] as? [Any])?.count == 0, "\(term)")
            }
            let after = try await harness.sql([PostgresQuery(unsafeSQL: revenue)])[0][0]
            #expect(try after.decode(String.self, at: 0) == before.decode(String.self, at: 0))
            #expect(try after.decode(Int.self, at: 1) == 2)

            let patch = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"last_name": "Back"}"#)
            #expect(patch.status == .unprocessableContent)
            let merge = try await client.call(.post, "/v1/clients/\(id)/merge", key: key, json: #"{"duplicate_id": "\#(other)"}"#)
            #expect(merge.status == .unprocessableContent)
            #expect(try await client.call(.get, "/v1/clients/\(other)", key: key).status == .ok)

            let audit = try await harness.audit("client", id)
            #expect(audit.last?.0 == "erase")
            #expect(audit.first?.1.contains("[erased]") == true)
            #expect(audit.first?.1.contains("\"category\"") == true)  // which fields changed is still said
            // Erasing again is harmless.
            #expect(try await client.call(.post, "/v1/clients/\(id)/erase", key: key).status == .ok)
        }
    }

    @Test("an erased person is not brought back by an import unless asked; only digests of their identifiers are kept")
    func erasedPersonStaysOut() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let (id, _) = try await clientWithHistory(client)
            _ = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"kind": "business", "siren": "732829320", "organisation_name": "Zw SARL"}"#)
            #expect(try await client.call(.post, "/v1/clients/\(id)/erase", key: key).status == .ok)
            let digests = try await harness.sql(["SELECT digest FROM erased_identifiers ORDER BY digest"])[0].map { try $0.decode(String.self, at: 0) }
            #expect(digests.count == 3)  // email, phone, SIREN
            #expect(digests.allSatisfy { $0.count == 64 })
            #expect(try await tablesHolding("h.zw@example.fr") == [])

            // The till's export still has them, with their phone written another way.
            let csv = """
                kind;last_name;organisation_name;email;phone;siren
                individual;Zwierzynska;;H.ZW@example.fr;;
                individual;Zwierzynska;;;+33 6 98 76 54 32;
                business;;Zw SARL;;;732829320
                individual;Nouveau;;nouveau@example.fr;;

                """
            let refused = try await client.importCSV("/v1/imports/clients", key: key, csv)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.importErrors.map(\.line) == [2, 3, 4])
            #expect(refused.importErrors.map(\.field) == ["email", "phone", "siren"])
            #expect(refused.importErrors.first?.message.contains("erased at their request") == true)
            // Tenant B never erased anyone: the same file imports there.
            #expect(try await client.importCSV("/v1/imports/clients", key: harness.keyB, csv).json["created"] as? Int == 4)
            let asked = try await client.importCSV("/v1/imports/clients", key: key, csv, query: "allow_erased=true")
            #expect(asked.json["created"] as? Int == 4, "\(asked.text)")
        }
    }

    @Test("another tenant gets 404; managers, agents and viewers may not use data rights", arguments: [AccessRole.manager, .agent, .viewer])
    func isolationAndRoles(role: AccessRole) async throws {
        let key = harness.keyA
        let (member, memberKey) = try await harness.member(role)
        let (admin, adminKey) = try await harness.member(.admin)
        _ = admin
        try await harness.test { client in
            let id = try await client.newClient(key: key)
            try await harness.assign(id, to: member.id)
            #expect(try await client.call(.post, "/v1/clients/\(id)/erase", key: harness.keyB).status == .notFound)
            #expect(try await client.call(.get, "/v1/clients/\(id)/personal-data", key: memberKey).status == .forbidden)
            #expect(try await client.call(.post, "/v1/clients/\(id)/erase", key: memberKey).status == .forbidden)
            #expect(try await client.call(.get, "/v1/clients/\(id)", key: key).json["erased"] as? Bool == false)
            #expect(try await client.call(.post, "/v1/clients/\(id)/erase", key: adminKey).status == .ok)
        }
    }

    /// The tables of tenant A's schema with a row whose text holds `secret`.
    func tablesHolding(_ secret: String) async throws -> [String] {
        let scope = try await harness.scope()
        let tables = try await harness.sql([
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \(scope.schemaName) AND table_type = 'BASE TABLE'",
        ])[0].map { try $0.decode(String.self, at: 0) }
        #expect(tables.contains("audit_log") && tables.contains("clients") && tables.contains("idempotency_keys"))
        var holding: [String] = []
        for table in tables {
            let count = try await harness.sql([
                "SELECT count(*) FROM \(identifier: table) t WHERE strpos(t::text, \(secret)) > 0",
            ])[0][0].decode(Int.self, at: 0)
            if count > 0 { holding.append(table) }
        }
        return holding
    }
}
