import Foundation
import Jobs
import Postgres
import ServiceLifecycle
import Synchronization
import Tenancy
import Testing
import TestSupport

@Suite("Job runner faults")
struct JobFaultTests {
    @Test("PostgreSQL restarted under load: the worker reconnects, wakes on NOTIFY again, and loses no job")
    func databaseRestart() async throws {
        let cluster = try await TestDatabase.privateCluster()
        let configuration = try await cluster.createDatabase("jobs_restart")
        let client = TestDatabase.makeClient(configuration, maximumConnections: 8)
        _ = try await TenantDirectory(client: client, migrations: try TestDatabase.migrations(), logger: TestDatabase.logger)
            .migrator.migratePlatform()
        let queue = JobQueue(client: client)
        _ = try await client.query("INSERT INTO platform.jobs (kind) SELECT 'work' FROM generate_series(1, 1500)")

        let seen = Mutex(Set<Int64>())
        var options = JobWorker.Options()
        options.concurrency = 16
        options.lease = .seconds(2)
        options.rescueInterval = .milliseconds(500)
        options.pollInterval = .seconds(30)  // after the restart, only a NOTIFY wakes it in time
        options.backoff = { _ in .milliseconds(100) }
        let listener = PostgresListener(configuration: configuration, channels: [JobQueue.channel], logger: TestDatabase.logger)
        let worker = JobWorker(queue: queue, handlers: [
            "work": { context in
                try await Task.sleep(for: .milliseconds(2))
                _ = seen.withLock { $0.insert(context.job.id) }
            },
        ], options: options, listener: listener, logger: TestDatabase.logger)
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }

        while seen.withLock({ $0.count }) < 300 { try await Task.sleep(for: .milliseconds(10)) }
        try await cluster.restart()
        let restartedAt = ContinuousClock.now

        let finished = try await waitUntil(seconds: 90) {
            (try? await client.query("SELECT count(*) FROM platform.job_history WHERE state = 'succeeded'")
                .first?.decode(Int.self, at: 0)) == 1500
        }
        #expect(finished)
        #expect(seen.withLock { $0.count } == 1500)
        #expect(try await queue.pendingCounts() == (0, 0))

        // The listener is back too: a new job is worked long before the 30 s poll.
        try await Task.sleep(for: .seconds(2))
        let late = try #require(try await queue.enqueue(NewJob(kind: "work")))
        let wokeUp = try await waitUntil(seconds: 15) { try await queue.status(of: late)?.state == .succeeded }
        #expect(wokeUp, "restarted \(ContinuousClock.now - restartedAt) ago")

        await group.triggerGracefulShutdown()
        try await running.value
        await client.shutdown()
        try await cluster.stop()
    }

    private func waitUntil(seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
