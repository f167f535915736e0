import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

@Suite("Long work: a part of the pool")
struct LongWorkTests {
    /// Counts the bodies running at once, and the most seen.
    final class Running: Sendable {
        private let counts = Mutex((now: 0, most: 0))
        func enter() { counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
        func leave() { counts.withLock { $0.now -= 1 } }
        var most: Int { counts.withLock { $0.most } }
        var now: Int { counts.withLock { $0.now } }
    }

    @Test("long work holds at most half the pool at once, and quick queries go through while it runs")
    func halfThePool() async throws {
        let client = TestDatabase.makeClient(try await TestDatabase.fresh("longwork"), maximumConnections: 4)
        let running = Running()
        let (held, release) = AsyncStream<Void>.makeStream()
        let long = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await client.withLongWork {
                            try await client.withConnection { session in
                                running.enter()
                                defer { running.leave() }
                                _ = try await session.query("SELECT 1")
                                for await _ in held { break }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        while running.now < 2 { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(running.now == 2)
        // Two connections held by long work, two left for the rest.
        #expect(try await client.query("SELECT 42").first?.decode(Int.self, at: 0) == 42)
        for _ in 0..<5 { release.yield() }
        release.finish()
        try await long.value
        #expect(running.most == 2)
        await client.shutdown()
    }

    @Test("long work waits its turn up to its limit, then fails with a clear error; a cancelled waiter takes no place")
    func waitLimitAndCancellation() async throws {
        let client = PostgresClient(
            configuration: try await TestDatabase.fresh("longwork"),
            options: .init(maximumConnections: 2, longWorkConnections: 1, longWorkWait: .milliseconds(300)),
            logger: TestDatabase.logger)
        let (held, release) = AsyncStream<Void>.makeStream()
        let running = Running()
        let holder = Task {
            try await client.withLongWork {
                running.enter()
                for await _ in held { break }
                running.leave()
            }
        }
        while running.now < 1 { try await Task.sleep(for: .milliseconds(10)) }
        let error = try await #require(throws: PostgresError.self) { try await client.withLongWork { 1 } }
        #expect(error.code == .poolTimeout)
        #expect(error.message.contains("long work"))

        let cancelled = Task { try await client.withLongWork { 2 } }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }

        release.yield()
        release.finish()
        try await holder.value
        // The place is free again, and the cancelled waiter did not take it.
        #expect(try await client.withLongWork { 3 } == 3)
        await client.shutdown()
    }
}
