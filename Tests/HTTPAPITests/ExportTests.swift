import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

/// CSV and JSON export of the clients the list's filters select, streamed whole.
@Suite("Client export")
struct ExportTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("CSV: BOM, ';' by default, the list's filters, RFC 4180 quoting and formulas neutralised; audited")
    func csv() async throws {
        let key = harness.keyA
        try await harness.test { client in
            _ = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "=HYPERLINK(\"http://x\")", "notes": "a; b\nc", "phone": "+33 6 12 34 56 78"}"#)
            _ = try await client.newClient(key: key, #"{"kind": "business", "organisation_name": "Garage Martin", "category": "actual_client"}"#)
            let response = try await client.call(.get, "/v1/exports/clients.csv?kind=individual", key: key)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
            let bytes = Array(response.body.readableBytesView)
            #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]))
            let table = try CSVTable(parsing: bytes)
            #expect(table.delimiter == UInt8(ascii: ";"))
            #expect(table.records.count == 1)
            let row = Dictionary(uniqueKeysWithValues: zip(table.header, table.records[0].fields))
            #expect(row["last_name"] == "'=HYPERLINK(\"http://x\")")
            #expect(row["phone"] == "'+33 6 12 34 56 78")
            #expect(row["notes"] == "a; b\nc")
            #expect(row["kind"] == "individual")

            let comma = try await client.call(.get, "/v1/exports/clients.csv?delimiter=comma&category=actual_client", key: key)
            let business = try CSVTable(parsing: Array(comma.body.readableBytesView))
            #expect(business.delimiter == UInt8(ascii: ","))
            #expect(business.records.map { $0.fields[table.header.firstIndex(of: "organisation_name")!] } == ["Garage Martin"])

            #expect(try await client.call(.get, "/v1/exports/clients.csv?delimiter=tab", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/exports/clients.csv?limit=10", key: key).status == .badRequest)
            let audit = try await harness.sql(["SELECT actor, changes::text FROM audit_log WHERE entity = 'client_export' AND action = 'export' ORDER BY id"])[0]
            #expect(audit.count == 2)
            #expect(try audit[0].decode(String.self, at: 1).contains("filter.kind"))
        }
    }

    @Test("JSON: every matching client across batches, each once, as GET /v1/clients/{id} writes it")
    func json() async throws {
        let key = harness.keyA
        _ = try await harness.sql(["""
            INSERT INTO clients (id, kind, category, last_name, city)
            SELECT gen_random_uuid(), 'individual', 'prospect', 'Nom ' || g, CASE WHEN g % 2 = 0 THEN 'Lyon' ELSE 'Nice' END
            FROM generate_series(1, 2500) AS g
            """])
        try await harness.test { client in
            let response = try await client.call(.get, "/v1/exports/clients.json?city=lyon", key: key)
            #expect(response.status == .ok)
            let items = try #require(response.json["items"] as? [[String: Any]])
            #expect(items.count == 1250)
            #expect(Set(items.compactMap { $0["id"] as? String }).count == 1250)
            #expect(items.allSatisfy { $0["city"] as? String == "Lyon" && $0["erased"] as? Bool == false })
            let sorted = try await client.call(.get, "/v1/exports/clients.json?sort=name&city=nice", key: key)
            let names = (sorted.json["items"] as? [[String: Any]])?.compactMap { $0["last_name"] as? String } ?? []
            #expect(names.count == 1250 && names == names.sorted())
        }
    }

    @Test("another tenant's export holds none of A's clients; agents and viewers may not export")
    func isolationAndRoles() async throws {
        let key = harness.keyA
        let (_, agent) = try await harness.member(.agent)
        let (_, viewer) = try await harness.member(.viewer)
        let (_, manager) = try await harness.member(.manager)
        try await harness.test { client in
            _ = try await client.newClient(key: key)
            let other = try await client.call(.get, "/v1/exports/clients.json", key: harness.keyB)
            #expect((other.json["items"] as? [Any])?.count == 0)
            for refused in [agent, viewer] {
                #expect(try await client.call(.get, "/v1/exports/clients.csv", key: refused).status == .forbidden)
                #expect(try await client.call(.get, "/v1/exports/clients.json", key: refused).status == .forbidden)
            }
            let allowed = try await client.call(.get, "/v1/exports/clients.json", key: manager)
            #expect((allowed.json["items"] as? [Any])?.count == 1)
        }
    }
}
