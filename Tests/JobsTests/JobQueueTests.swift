import Foundation
import Jobs
import Postgres
import ServiceLifecycle
import Synchronization
import Tenancy
import Testing
import TestSupport

@Suite("Job queue")
struct JobQueueTests {
    let client: PostgresClient
    let queue: JobQueue

    init() async throws {
        (client, _) = try await TestDatabase.platform("jobs", maximumConnections: 8)
        queue = JobQueue(client: client)
    }

    struct Greeting: Codable, Sendable, Equatable { var name: String }

    @Test("a claimed job is held by one worker only, even with many claiming at once (SKIP LOCKED)")
    func claimsAreExclusive() async throws {
        for index in 0..<60 { try await queue.enqueue(NewJob(kind: "noop", payload: Greeting(name: "\(index)"))) }
        let queue = self.queue
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var mine: [Int64] = []
                    while true {
                        let jobs = try await queue.claim(worker: "w\(worker)", limit: 3, lease: .seconds(30))
                        if jobs.isEmpty { return mine }
                        mine += jobs.map(\.id)
                    }
                }
            }
            return try await group.reduce(into: [Int64]()) { $0 += $1 }
        }
        #expect(claimed.count == 60)
        #expect(Set(claimed).count == 60)
        await client.shutdown()
    }

    @Test("payloads round-trip, and a job is not run before its time")
    func payloadAndSchedule() async throws {
        try await queue.enqueue(NewJob(kind: "later", payload: Greeting(name: "Léa"), runAt: Date().addingTimeInterval(3600)))
        let now = try #require(try await queue.enqueue(NewJob(kind: "now", payload: Greeting(name: "Karim"))))
        let jobs = try await queue.claim(worker: "w", limit: 10, lease: .seconds(30))
        #expect(jobs.map(\.id) == [now])
        #expect(try jobs[0].payload(as: Greeting.self) == Greeting(name: "Karim"))
        #expect(jobs[0].attempt == 1)
        await client.shutdown()
    }

    @Test("a unique key keeps a second pending job out")
    func uniqueKey() async throws {
        let first = try await queue.enqueue(NewJob(kind: "survey", uniqueKey: "survey:client-1"))
        let second = try await queue.enqueue(NewJob(kind: "survey", uniqueKey: "survey:client-1"))
        #expect(first != nil)
        #expect(second == nil)
        let job = try #require(try await queue.claim(worker: "w", limit: 1, lease: .seconds(30)).first)
        try await queue.complete(job, worker: "w")
        // Once done, the key is free again.
        #expect(try await queue.enqueue(NewJob(kind: "survey", uniqueKey: "survey:client-1")) != nil)
        await client.shutdown()
    }

    @Test("a failed job is retried after its backoff, then discarded once out of attempts, with every error kept")
    func retriesThenDiscarded() async throws {
        let id = try #require(try await queue.enqueue(NewJob(kind: "flaky", maxAttempts: 2)))
        var job = try #require(try await queue.claim(worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(try await queue.fail(job, worker: "w", error: "boom 1", retryAfter: .seconds(3600)))
        #expect(try await queue.status(of: id)?.state == .queued)
        #expect(try await queue.claim(worker: "w", limit: 1, lease: .seconds(30)).isEmpty)  // still backing off
        _ = try await client.query("UPDATE platform.jobs SET run_at = now() WHERE id = \(id)")
        job = try #require(try await queue.claim(worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(job.attempt == 2)
        #expect(try await queue.fail(job, worker: "w", error: "boom 2", retryAfter: .zero))
        let status = try #require(try await queue.status(of: id))
        #expect(status.state == .discarded)
        #expect(status.attempts == 2)
        #expect(status.lastError == "boom 2")
        let record = try #require(try await queue.get(id, tenantID: nil))
        #expect(record.errorsJSON.contains("boom 1") && record.errorsJSON.contains("boom 2"))
        // A finished job has left the table workers claim from.
        #expect(try await client.query("SELECT count(*) FROM platform.jobs").first?.decode(Int.self, at: 0) == 0)
        await client.shutdown()
    }

    @Test("a job whose worker died is rescued when its lease runs out; the dead worker cannot overwrite it")
    func rescue() async throws {
        let id = try #require(try await queue.enqueue(NewJob(kind: "slow")))
        let lost = try #require(try await queue.claim(worker: "dead", limit: 1, lease: .milliseconds(50)).first)
        try await Task.sleep(for: .milliseconds(120))
        #expect(try await queue.rescue() == 1)
        let status = try #require(try await queue.status(of: id))
        #expect(status.state == .queued)
        #expect(status.lastError?.contains("stopped renewing its lease") == true)
        let again = try #require(try await queue.claim(worker: "alive", limit: 1, lease: .seconds(30)).first)
        #expect(again.attempt == 2)
        // The first worker wakes up late: its outcome no longer counts.
        #expect(try await queue.complete(lost, worker: "dead") == false)
        #expect(try await queue.complete(again, worker: "alive"))
        #expect(try await queue.status(of: id)?.state == .succeeded)
        await client.shutdown()
    }

    @Test("a live worker renews its lease, so its job is not rescued")
    func heartbeat() async throws {
        let id = try #require(try await queue.enqueue(NewJob(kind: "slow")))
        let held = try await queue.claim(worker: "w", limit: 1, lease: .milliseconds(100))
        try await queue.heartbeat(held.map(\.id), worker: "w", lease: .seconds(30))
        try await Task.sleep(for: .milliseconds(150))
        #expect(try await queue.rescue() == 0)
        #expect(try await queue.status(of: id)?.state == .running)
        await client.shutdown()
    }

    @Test("a job enqueued in a transaction that rolls back never exists")
    func transactionalEnqueue() async throws {
        struct Abort: Error {}
        let queue = self.queue
        await #expect(throws: Abort.self) {
            try await client.withTransaction { session in
                try await queue.enqueue(NewJob(kind: "ghost"), in: session)
                throw Abort()
            }
        }
        #expect(try await client.query("SELECT count(*) FROM platform.jobs").first?.decode(Int.self, at: 0) == 0)
        await client.shutdown()
    }
}

@Suite("Job worker")
struct JobWorkerTests {
    @Test("runs handlers, retries failures, and wakes on NOTIFY rather than waiting for its poll")
    func runsJobs() async throws {
        let (client, _) = try await TestDatabase.platform("worker", maximumConnections: 8)
        let queue = JobQueue(client: client)
        let seen = Mutex<[String]>([])
        let failures = Mutex(0)
        var options = JobWorker.Options()
        options.concurrency = 2
        options.pollInterval = .seconds(60)  // only NOTIFY can wake it in time
        options.backoff = { _ in .zero }
        let listener = PostgresListener(configuration: client.configuration, channels: [JobQueue.channel], logger: TestDatabase.logger)
        let worker = JobWorker(
            queue: queue,
            handlers: [
                "greet": { context in
                    let name = try context.job.payload(as: [String: String].self)["name"] ?? "?"
                    seen.withLock { $0.append(name) }
                },
                "flaky": { context in
                    if context.job.attempt < 3 {
                        failures.withLock { $0 += 1 }
                        throw CancellationError()
                    }
                },
            ],
            options: options, listener: listener, logger: TestDatabase.logger)
        let running = Task { try await worker.run() }
        try await Task.sleep(for: .milliseconds(300))  // the slots are idle, waiting

        // One transaction: its NOTIFY comes with all three jobs visible. (Enqueues in separate
        // transactions within the debounce window share one trailing NOTIFY, which a slow commit
        // can miss; only the poll would find that job.)
        let ids = try await client.withTransaction { session in
            [
                try await queue.enqueue(NewJob(kind: "greet", payload: ["name": "Léa"]), in: session),
                try await queue.enqueue(NewJob(kind: "flaky", maxAttempts: 5), in: session),
                try await queue.enqueue(NewJob(kind: "nobody-handles-this", maxAttempts: 1), in: session),
            ]
        }
        let greet = try #require(ids[0]), flaky = try #require(ids[1]), unknown = try #require(ids[2])
        for id in [greet, flaky, unknown] {
            let state = try await waitForEnd(of: id, queue: queue)
            #expect(state == (id == unknown ? .discarded : .succeeded), "job \(id)")
        }
        #expect(seen.withLock { $0 } == ["Léa"])
        #expect(failures.withLock { $0 } == 2)
        #expect(try await queue.status(of: unknown)?.lastError?.contains("no handler") == true)
        running.cancel()
        _ = await running.result  // cancellation stops the worker: run() returns
        await listener.stop()
        await client.shutdown()
    }

    @Test("graceful shutdown lets running jobs finish: none is left half-done under a lease")
    func gracefulShutdown() async throws {
        let (client, _) = try await TestDatabase.platform("worker", maximumConnections: 8)
        let queue = JobQueue(client: client)
        var options = JobWorker.Options()
        options.pollInterval = .milliseconds(50)
        let worker = JobWorker(
            queue: queue, handlers: ["slow": { _ in try await Task.sleep(for: .milliseconds(500)) }],
            options: options, listener: nil, logger: TestDatabase.logger)
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }
        let id = try #require(try await queue.enqueue(NewJob(kind: "slow")))
        while try await queue.status(of: id)?.state != .running { try await Task.sleep(for: .milliseconds(10)) }
        await group.triggerGracefulShutdown()
        let later = try #require(try await queue.enqueue(NewJob(kind: "slow")))
        try await running.value
        #expect(try await queue.status(of: id)?.state == .succeeded)
        // Taken before the slots saw the shutdown, or left for the next worker; never abandoned.
        #expect([JobState.succeeded, .queued].contains(try await queue.status(of: later)?.state))
        #expect(try await client.query("SELECT count(*) FROM platform.jobs WHERE state = 'running'").first?.decode(Int.self, at: 0) == 0)
        await client.shutdown()
    }

    /// Waits (at most 10 s, far above what a NOTIFY takes) for the job to succeed or die.
    private func waitForEnd(of id: Int64, queue: JobQueue) async throws -> JobState? {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let state = try await queue.status(of: id)?.state, state == .succeeded || state == .discarded { return state }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await queue.status(of: id)?.state
    }
}
