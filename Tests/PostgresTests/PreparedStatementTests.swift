import Postgres
import Testing
import TestSupport

@Suite("Prepared statements")
struct PreparedStatementTests {
    let client: PostgresClient

    init() async throws {
        // One connection: every run below meets the statements prepared by the runs before.
        client = TestDatabase.makeClient(try await TestDatabase.fresh("prepared"), maximumConnections: 1)
    }

    /// How many times the server ran the named statement holding this text (0 if it holds none).
    private func runs(of query: PostgresQuery, in session: PostgresSession) async throws -> Int {
        let rows = try await session.query("""
            SELECT coalesce(sum(generic_plans + custom_plans), 0)::int FROM pg_prepared_statements
            WHERE statement = \(query.sql) AND NOT from_sql
            """)
        return try rows[0].decode(Int.self, at: 0)
    }

    @Test("a prepared statement is prepared once per connection, then run by name with new values")
    func reused() async throws {
        let query: PostgresQuery = "SELECT \(0)::int * 2"
        try await client.withConnection { session in
            for value in [1, 2, 3, 4, 5, 6, 7] {
                let doubled: PostgresQuery = "SELECT \(value)::int * 2"
                #expect(try await session.query(doubled.prepared())[0].decode(Int.self, at: 0) == value * 2)
            }
            #expect(try await runs(of: query, in: session) == 7)
            #expect(try await session.query("SELECT count(*)::int FROM pg_prepared_statements")[0].decode(Int.self, at: 0) == 1)
            // Unmarked statements are not kept.
            _ = try await session.query("SELECT \(1)::int + 1")
            #expect(try await session.query("SELECT count(*)::int FROM pg_prepared_statements")[0].decode(Int.self, at: 0) == 1)
        }
        await client.shutdown()
    }

    @Test("one text prepared twice in a pipeline is prepared once; a NULL (untyped) gets its own statement")
    func samePipeline() async throws {
        try await client.withConnection { session in
            let rows = try await session.pipeline([
                ("SELECT \("a")::text || 'x'" as PostgresQuery).prepared(),
                ("SELECT \("b")::text || 'x'" as PostgresQuery).prepared(),
                ("SELECT \(String?.none)::text || 'x'" as PostgresQuery).prepared(),
            ])
            #expect(try rows.map { try $0[0].decode(String?.self, at: 0) } == ["ax", "bx", nil])
            #expect(try await session.query("SELECT count(*)::int FROM pg_prepared_statements")[0].decode(Int.self, at: 0) == 2)
        }
        await client.shutdown()
    }

    @Test("a preparation made in a transaction that rolls back is still there to use")
    func survivesRollback() async throws {
        struct Abort: Error {}
        let query: PostgresQuery = ("SELECT \(41)::int + 1" as PostgresQuery).prepared()
        await #expect(throws: Abort.self) {
            try await client.withTransaction { session in
                #expect(try await session.query(query)[0].decode(Int.self, at: 0) == 42)
                throw Abort()
            }
        }
        try await client.withConnection { session in
            let answer = try await session.query(query)[0].decode(Int.self, at: 0)
            #expect(answer == 42)
            #expect(try await runs(of: query, in: session) == 2)
        }
        await client.shutdown()
    }

    @Test("a preparation the pipeline skipped after an error is not counted as made")
    func skippedPreparation() async throws {
        let query: PostgresQuery = ("SELECT \(7)::int" as PostgresQuery).prepared()
        try await client.withConnection { session in
            let error = try await #require(throws: PostgresError.self) {
                try await session.pipeline(["SELECT 1/0", query])
            }
            #expect(error.sqlState?.rawValue == "22012")
            #expect(try await runs(of: query, in: session) == 0)
            #expect(try await session.query(query)[0].decode(Int.self, at: 0) == 7)
            #expect(try await runs(of: query, in: session) == 1)
        }
        await client.shutdown()
    }

    @Test("a prepared statement with an error in it is a clear error, and the connection goes on")
    func badStatement() async throws {
        try await client.withConnection { session in
            let error = try await #require(throws: PostgresError.self) {
                try await session.query(("SELEC \(1)" as PostgresQuery).prepared())
            }
            #expect(error.sqlState?.rawValue == "42601")
            #expect(try await session.query(("SELECT \(2)::int" as PostgresQuery).prepared())[0].decode(Int.self, at: 0) == 2)
        }
        await client.shutdown()
    }

    @Test("with no room for named statements (a pooler in transaction mode), prepared() runs unnamed")
    func disabled() async throws {
        var options = PostgresClient.Options(maximumConnections: 1)
        options.preparedStatementsPerConnection = 0
        let unnamed = PostgresClient(configuration: client.configuration, options: options, logger: TestDatabase.logger)
        let query: PostgresQuery = ("SELECT \(5)::int" as PostgresQuery).prepared()
        try await unnamed.withConnection { session in
            let five = try await session.query(query)[0].decode(Int.self, at: 0)
            #expect(five == 5)
            #expect(try await session.query("SELECT count(*)::int FROM pg_prepared_statements")[0].decode(Int.self, at: 0) == 0)
        }
        await unnamed.shutdown()
        await client.shutdown()
    }

    @Test("statements the server dropped (DISCARD ALL) fail once, then are prepared again")
    func discarded() async throws {
        let query: PostgresQuery = ("SELECT \(3)::int" as PostgresQuery).prepared()
        try await client.withConnection { session in
            #expect(try await session.query(query)[0].decode(Int.self, at: 0) == 3)
            _ = try await session.query("DISCARD ALL")
            let error = try await #require(throws: PostgresError.self) { try await session.query(query) }
            #expect(error.sqlState?.rawValue == "26000")
            #expect(try await session.query(query)[0].decode(Int.self, at: 0) == 3)
        }
        await client.shutdown()
    }
}
