import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Queries and rows")
struct QueryAndDecodingTests {
    let client: PostgresClient

    init() async throws {
        client = TestDatabase.makeClient(try await TestDatabase.fresh("query"))
    }

    @Test("interpolated values become bound parameters, never SQL text")
    func interpolationBinds() async throws {
        let hostile = "'); DROP TABLE x; --"
        let query: PostgresQuery = "SELECT \(hostile)::text, \(42)"
        #expect(query.sql == "SELECT $1::text, $2")
        #expect(query.binds.count == 2)
        let row = try #require(try await client.query(query).first)
        #expect(try row.decode(String.self, at: 0) == hostile)
        #expect(try row.decode(Int.self, at: 1) == 42)
        await client.shutdown()
    }

    @Test("a spliced fragment's parameters follow the outer ones, in any text around them")
    func fragmentsRenumber() async throws {
        let inner: PostgresQuery = "x.label = \("é → €") AND x.n IN (\(1), \(2))"
        let outer: PostgresQuery = "SELECT \("a") WHERE \(fragment: inner) AND y = \(3) AND \(fragment: inner)"
        #expect(outer.sql == "SELECT $1 WHERE x.label = $2 AND x.n IN ($3, $4) AND y = $5 AND x.label = $6 AND x.n IN ($7, $8)")
        #expect(outer.binds.values == ["a", "é → €", "1", "2", "3", "é → €", "1", "2"])
        // A lone `$`, and a run of digits too long to be one of our parameters, stay as written.
        let odd: PostgresQuery = "\(unescaped: "'$' || '$12345678901'") || \(4)"
        #expect(("SELECT \(5), \(fragment: odd)" as PostgresQuery).sql == "SELECT $1, '$' || '$12345678901' || $2")
        let row = try #require(try await client.query("SELECT \(fragment: odd)").first)
        #expect(try row.decode(String.self, at: 0) == "$$123456789014")

        // Many parts joined in one pass number their parameters in order, as pairs would.
        let parts: [PostgresQuery] = (1...12).map { "SELECT \($0)::int AS n, \("part \($0)") AS label" }
        let union = PostgresQuery(joining: parts, separator: " UNION ALL ")
        #expect(union.binds.count == 24)
        #expect(union.sql.hasSuffix("SELECT $23::int AS n, $24 AS label"))
        let rows = try await client.query("SELECT sum(n)::int, string_agg(label, ',' ORDER BY n) FROM (\(fragment: union)) AS u")
        #expect(try rows.first?.decode(Int.self, at: 0) == 78)
        #expect(try rows.first?.decode(String.self, at: 1) == (1...12).map { "part \($0)" }.joined(separator: ","))
        #expect(PostgresQuery(joining: [], separator: " AND ").sql == "")
        await client.shutdown()
    }

    @Test("UUIDs and dates are read and written as PostgreSQL's canonical text")
    func canonicalTexts() async throws {
        let id = UUID()
        #expect(id.lowercaseText == id.uuidString.lowercased())
        #expect(UUID(canonicalText: id.uuidString) == id)
        #expect(UUID(canonicalText: id.lowercaseText) == id)
        for wrong in ["", String(id.lowercaseText.dropLast()), id.lowercaseText.replacingOccurrences(of: "-", with: "") + "0000",
                      "g" + id.lowercaseText.dropFirst(), "{" + id.lowercaseText.dropFirst().dropLast() + "}"] {
            #expect(UUID(canonicalText: wrong) == nil, "\(wrong)")
        }
        #expect(PostgresDate(year: 2024, month: 2, day: 9).description == "2024-02-09")
        #expect(PostgresDate(year: 987, month: 12, day: 31).description == "0987-12-31")
        let row = try #require(try await client.query("SELECT \(id), \(id)::text = \(id.lowercaseText), DATE '0987-12-31'").first)
        #expect(try row.decode(UUID.self, at: 0) == id)
        #expect(try row.decode(Bool.self, at: 1))
        #expect(try row.decode(PostgresDate.self, at: 2) == PostgresDate(year: 987, month: 12, day: 31))
        await client.shutdown()
    }

    @Test("identifiers are quoted by one function")
    func identifierQuoting() {
        #expect(quoteIdentifier("tenant_1") == "\"tenant_1\"")
        #expect(quoteIdentifier("we\"ird") == "\"we\"\"ird\"")
        let query: PostgresQuery = "SELECT * FROM \(identifier: "a\"b")"
        #expect(query.sql == "SELECT * FROM \"a\"\"b\"")
    }

    @Test("scalar types round-trip")
    func scalarTypes() async throws {
        let id = UUID()
        let when = Date(timeIntervalSince1970: 1_790_000_000.123456)
        let amount = Decimal(string: "12345678901234567890.123456789")!
        let row = try #require(try await client.query("""
            SELECT \(Int64.max), \(3.25), \(amount), \(true), \(id), \(when), \("héllo ✓"), 'text'::varchar
            """).first)
        #expect(try row.decode(Int64.self, at: 0) == .max)
        #expect(try row.decode(Double.self, at: 1) == 3.25)
        #expect(try row.decode(Decimal.self, at: 2) == amount)
        #expect(try row.decode(Bool.self, at: 3) == true)
        #expect(try row.decode(UUID.self, at: 4) == id)
        let decoded = try row.decode(Date.self, at: 5)
        #expect(abs(decoded.timeIntervalSince(when)) < 0.000_001)
        #expect(try row.decode(String.self, at: 6) == "héllo ✓")
        #expect(try row.decode(String.self, at: 7) == "text")
        await client.shutdown()
    }

    @Test("numeric keeps every digit")
    func numericPrecision() async throws {
        let row = try #require(try await client.query("SELECT 0.1::numeric + 0.2::numeric").first)
        #expect(try row.decode(Decimal.self, at: 0) == Decimal(string: "0.3"))
        await client.shutdown()
    }

    @Test("NULL decodes as nil for optionals and is an error otherwise")
    func nulls() async throws {
        let optional: String? = nil
        let row = try #require(try await client.query("SELECT NULL::text, \(optional), 'x'::text").first)
        #expect(try row.decode(String?.self, at: 0) == nil)
        #expect(try row.decode(String?.self, at: 1) == nil)
        #expect(try row.decode(String?.self, at: 2) == "x")
        #expect(throws: PostgresError.self) { try row.decode(String.self, at: 0) }
        await client.shutdown()
    }

    @Test("a type mismatch is a clear decoding error naming the column")
    func typeMismatch() async throws {
        let row = try #require(try await client.query("SELECT 'abc'::text AS label, 7 AS n").first)
        let error = try #require(throws: PostgresError.self) { try row.decode(Int.self, named: "label") }
        #expect(error.code == .decoding)
        #expect(error.message.contains("label"))
        #expect(throws: PostgresError.self) { try row.decode(UUID.self, at: 1) }
        let missing = try #require(throws: PostgresError.self) { try row.decode(Int.self, named: "nope") }
        #expect(missing.code == .missingColumn)
        await client.shutdown()
    }

    @Test("arrays and JSON")
    func arraysAndJSON() async throws {
        struct Item: Codable, Equatable, Sendable { var name: String; var count: Int }
        let row = try #require(try await client.query("""
            SELECT \(["a", "b c", "d\"e"]), ARRAY[1, 2, 3]::int8[], ARRAY['x', NULL]::text[], \(PostgresJSON(Item(name: "n", count: 2)))
            """).first)
        #expect(try row.decode([String].self, at: 0) == ["a", "b c", "d\"e"])
        #expect(try row.decode([Int].self, at: 1) == [1, 2, 3])
        #expect(try row.decode([String?].self, at: 2) == ["x", nil])
        let json = try row.decode(PostgresJSONValue.self, at: 3)
        #expect(try json.decode(Item.self) == Item(name: "n", count: 2))
        await client.shutdown()
    }

    @Test("server errors carry SQLSTATE, message and constraint")
    func serverErrors() async throws {
        try await client.withConnection { session in
            try await session.query("CREATE TABLE things (id bigint PRIMARY KEY, label text NOT NULL)")
            try await session.query("INSERT INTO things VALUES (1, 'a')")
            let duplicate = try await #require(throws: PostgresError.self) {
                try await session.query("INSERT INTO things VALUES (1, 'b')")
            }
            #expect(duplicate.sqlState == .uniqueViolation)
            #expect(duplicate.isUniqueViolation)
            #expect(duplicate.constraint == "things_pkey")
            #expect(duplicate.message.contains("duplicate key"))
            let syntax = try await #require(throws: PostgresError.self) { try await session.query("SELEC 1") }
            #expect(syntax.sqlState?.rawValue == "42601")
            // The connection stays usable after an error.
            #expect(try await session.query("SELECT count(*) FROM things").first?.decode(Int.self, at: 0) == 1)
        }
        await client.shutdown()
    }

    @Test("a pipeline runs several statements in one round trip, and stops at the first error")
    func pipeline() async throws {
        try await client.withConnection { session in
            let results = try await session.pipeline(["SELECT 1", "SELECT \("two")", "SELECT 3"])
            #expect(try results.map { try $0[0].decode(String.self, at: 0) } == ["1", "two", "3"])
            await #expect(throws: PostgresError.self) {
                try await session.pipeline(["SELECT 1", "SELECT 1/0", "SELECT 3"])
            }
            #expect(try await session.query("SELECT 5").first?.decode(Int.self, at: 0) == 5)
        }
        await client.shutdown()
    }
}
