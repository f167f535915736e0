import Foundation
import Postgres
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport

@testable import Jobs

@Suite("Debounced NOTIFY")
struct WakeupDebouncerTests {
    @Test("a job enqueued without NOTIFY, in a transaction that ends after the window, still wakes an idle worker")
    func lateCommit() async throws {
        let (client, _) = try await TestDatabase.platform("debounce", maximumConnections: 8)
        // A long window, so the second enqueue surely falls inside it however slow the machine.
        let queue = JobQueue(client: client, debouncer: WakeupDebouncer(window: .seconds(2)))
        let done = Mutex<Set<Int64>>([])
        var options = JobWorker.Options()
        options.pollInterval = .seconds(60)  // only a NOTIFY wakes it in time
        let listener = PostgresListener(configuration: client.configuration, channels: [JobQueue.channel], logger: TestDatabase.logger)
        let worker = JobWorker(
            queue: queue, handlers: ["work": { context in _ = done.withLock { $0.insert(context.job.id) } }],
            options: options, listener: listener, logger: TestDatabase.logger)
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }

        let first = try #require(try await queue.enqueue(NewJob(kind: "work")))  // notifies, opens the window
        let late = try await client.withTransaction { session in
            let id = try await queue.enqueue(NewJob(kind: "work"), in: session)  // inside the window: no NOTIFY
            try await Task.sleep(for: .milliseconds(2500))  // commits after the window has closed
            return id
        }
        let lateID = try #require(late)
        let deadline = ContinuousClock.now + .seconds(15)
        while done.withLock({ !$0.isSuperset(of: [first, lateID]) }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(done.withLock { $0 } == [first, lateID])
        await group.triggerGracefulShutdown()
        try await running.value
        await client.shutdown()
    }
}
