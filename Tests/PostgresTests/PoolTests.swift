import Foundation
import LocalPostgres
import Postgres
import Testing
import TestSupport

@Suite("Connection pool")
struct PoolTests {
    @Test("never opens more than its maximum, and a waiter past the acquire timeout gets a clear error")
    func exhaustion() async throws {
        let client = TestDatabase.makeClient(try await TestDatabase.fresh("pool"), maximumConnections: 2, acquireTimeout: .milliseconds(300))
        let (held, release) = AsyncStream<Void>.makeStream()
        let holders = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await client.withConnection { session in
                            try await session.query("SELECT 1")
                            for await _ in held { break }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        while client.statistics.inUse < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(client.statistics.open == 2)
        let error = try await #require(throws: PostgresError.self) { try await client.query("SELECT 1") }
        #expect(error.code == .poolTimeout)
        #expect(error.message.contains("2"))
        release.yield(); release.yield(); release.finish()
        try await holders.value
        // Free again: work goes through.
        #expect(try await client.query("SELECT 7").first?.decode(Int.self, at: 0) == 7)
        #expect(client.statistics.open <= 2)
        await client.shutdown()
    }

    @Test("a task cancelled before it asks for a connection does not wait for one while the pool is full")
    func cancelledBeforeWaiting() async throws {
        let client = TestDatabase.makeClient(try await TestDatabase.fresh("pool"), maximumConnections: 1, acquireTimeout: .seconds(30))
        let (held, release) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await client.withConnection { session in
                try await session.query("SELECT 1")
                for await _ in held { break }
            }
        }
        while client.statistics.inUse < 1 { try await Task.sleep(for: .milliseconds(10)) }
        let (gate, open) = AsyncStream<Void>.makeStream()
        let late = Task {
            for await _ in gate { break }  // not cancellable: the task is cancelled by the time it asks
            return try await client.query("SELECT 2").first?.decode(Int.self, at: 0)
        }
        late.cancel()
        let asked = ContinuousClock.now
        open.yield()
        open.finish()
        await #expect(throws: CancellationError.self) { try await late.value }
        // It did not sit in the queue until the 30 s acquire timeout.
        #expect(ContinuousClock.now - asked < .seconds(10))
        #expect(client.statistics.waiting == 0)
        release.yield()
        release.finish()
        try await holder.value
        #expect(try await client.query("SELECT 3").first?.decode(Int.self, at: 0) == 3)
        await client.shutdown()
    }

    @Test("many concurrent tasks share a small pool")
    func fairShare() async throws {
        // The waits are long on a busy 2-core CI machine; this test is about sharing, not speed.
        let client = TestDatabase.makeClient(try await TestDatabase.fresh("pool"), maximumConnections: 3, acquireTimeout: .seconds(120))
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask { try await client.query("SELECT \(index)").first!.decode(Int.self, at: 0) }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == (0..<200).reduce(0, +))
        #expect(client.statistics.open <= 3)
        await client.shutdown()
    }

    @Test("a broken connection is replaced: the pool survives a PostgreSQL restart")
    func reconnectAfterRestart() async throws {
        let cluster = try await TestDatabase.privateCluster()
        let client = TestDatabase.makeClient(try cluster.applicationConfiguration(), maximumConnections: 2)
        #expect(try await client.query("SELECT 1").first?.decode(Int.self, at: 0) == 1)
        let before = try await client.query("SELECT pg_backend_pid()").first!.decode(Int.self, at: 0)
        try await cluster.restart()
        // The pooled connection died with the server; the next calls get a new one.
        let after = try await client.transaction(["SELECT pg_backend_pid()"])[0][0].decode(Int.self, at: 0)
        #expect(after != before)
        #expect(try await client.query("SELECT 2").first?.decode(Int.self, at: 0) == 2)
        await client.shutdown()
        try await cluster.stop()
    }

    @Test("an unreachable server is a connection error, not a hang")
    func unreachable() async throws {
        var configuration = try await TestDatabase.fresh("pool")
        configuration.port = 1
        configuration.connectTimeout = 2
        let client = TestDatabase.makeClient(configuration, maximumConnections: 1)
        let error = try await #require(throws: PostgresError.self) { try await client.query("SELECT 1") }
        #expect(error.code == .connectionFailed)
        #expect(!error.description.contains(configuration.password ?? "#"))
        await client.shutdown()
    }

    @Test("connections past their maximum lifetime are closed when given back")
    func maximumLifetime() async throws {
        let client = PostgresClient(
            configuration: try await TestDatabase.fresh("pool"),
            options: .init(maximumConnections: 1, maximumLifetime: .milliseconds(1)),
            logger: TestDatabase.logger)
        let first = try await client.query("SELECT pg_backend_pid()").first!.decode(Int.self, at: 0)
        try await Task.sleep(for: .milliseconds(5))
        let second = try await client.query("SELECT pg_backend_pid()").first!.decode(Int.self, at: 0)
        #expect(first != second)
        await client.shutdown()
    }
}
