import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

@Suite("Transactions")
struct TransactionTests {
    let client: PostgresClient

    init() async throws {
        client = TestDatabase.makeClient(try await TestDatabase.fresh("tx"), maximumConnections: 1)
        _ = try await client.query("CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)")
    }

    struct Boom: Error {}

    final class Log: Sendable {
        let entries = Mutex<[String]>([])
        func add(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    @Test("an action after the transaction runs when it ends (committed or rolled back), or at once outside one")
    func afterTransaction() async throws {
        let log = Log()
        try await client.withTransaction { session in
            session.afterTransaction { log.add("before any statement") }
            try await session.query("INSERT INTO notes VALUES (1, 'kept')")
            session.afterTransaction { log.add("committed") }
            #expect(log.all.isEmpty)  // the transaction is still open
        }
        #expect(log.all == ["before any statement", "committed"])
        await #expect(throws: Boom.self) {
            try await client.withTransaction { session in
                try await session.query("INSERT INTO notes VALUES (2, 'lost')")
                session.afterTransaction { log.add("rolled back") }
                throw Boom()
            }
        }
        #expect(log.all.last == "rolled back")
        try await client.withConnection { session in
            try await session.query("SELECT 1")
            session.afterTransaction { log.add("no transaction") }
            #expect(log.all.last == "no transaction")  // nothing open: at once
        }
        #expect(try await client.query("SELECT count(*) FROM notes").first?.decode(Int.self, at: 0) == 1)
        await client.shutdown()
    }

    @Test("a body that returns commits")
    func commit() async throws {
        try await client.withTransaction { session in
            try await session.query("INSERT INTO notes VALUES (1, 'kept')")
        }
        #expect(try await client.query("SELECT body FROM notes").first?.decode(String.self, at: 0) == "kept")
        await client.shutdown()
    }

    @Test("any thrown error rolls back")
    func rollbackOnThrow() async throws {
        await #expect(throws: Boom.self) {
            try await client.withTransaction { session in
                try await session.query("INSERT INTO notes VALUES (2, 'lost')")
                throw Boom()
            }
        }
        #expect(try await client.query("SELECT count(*) FROM notes").first?.decode(Int.self, at: 0) == 0)
        await client.shutdown()
    }

    @Test("a failed statement rolls back the statements before it")
    func rollbackOnServerError() async throws {
        await #expect(throws: PostgresError.self) {
            try await client.withTransaction { session in
                try await session.query("INSERT INTO notes VALUES (3, 'first')")
                try await session.query("INSERT INTO notes VALUES (3, 'duplicate')")
            }
        }
        #expect(try await client.query("SELECT count(*) FROM notes").first?.decode(Int.self, at: 0) == 0)
        await client.shutdown()
    }

    @Test("one-round-trip transactions commit together or not at all")
    func batchedTransaction() async throws {
        let rows = try await client.transaction([
            "INSERT INTO notes VALUES (10, 'a')",
            "INSERT INTO notes VALUES (11, 'b') RETURNING id",
        ])
        #expect(try rows[1][0].decode(Int.self, at: 0) == 11)
        await #expect(throws: PostgresError.self) {
            try await client.transaction(["INSERT INTO notes VALUES (12, 'c')", "INSERT INTO notes VALUES (10, 'dup')"])
        }
        #expect(try await client.query("SELECT array_agg(id ORDER BY id) FROM notes").first?.decode([Int].self, at: 0) == [10, 11])
        await client.shutdown()
    }

    @Test("a connection given back mid-transaction is rolled back before reuse")
    func midTransactionConnectionIsCleaned() async throws {
        // One connection only: the next lease gets the same backend.
        try await client.withConnection { session in
            try await session.query("BEGIN")
            try await session.query("INSERT INTO notes VALUES (20, 'abandoned')")
            try await session.query("SET LOCAL statement_timeout = '1s'")
        }
        try await client.withConnection { session in
            let row = try #require(try await session.query(
                "SELECT (SELECT count(*) FROM notes WHERE id = 20), current_setting('statement_timeout')"
            ).first)
            #expect(try row.decode(Int.self, at: 0) == 0)
            #expect(try row.decode(String.self, at: 1) == "0")
        }
        await client.shutdown()
    }
}
