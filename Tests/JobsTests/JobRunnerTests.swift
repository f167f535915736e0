import Foundation
import Jobs
import Postgres
import Prometheus
import ServiceLifecycle
import Synchronization
import Tenancy
import Testing
import TestSupport

@Suite("Job runner: fairness, tenants, completion in the job's transaction, history")
struct JobRunnerTests {
    let client: PostgresClient
    let directory: TenantDirectory
    let queue: JobQueue

    init() async throws {
        (client, directory) = try await TestDatabase.platform("runner", maximumConnections: 8)
        queue = JobQueue(client: client)
    }

    private func enqueue(_ count: Int, tenant: Int64?, kind: String = "noop", runAt: Date? = nil) async throws {
        // One statement for many jobs: the test is about claiming, not enqueueing.
        _ = try await client.query("""
            INSERT INTO platform.jobs (tenant_id, kind, run_at)
            SELECT \(tenant), \(kind), coalesce(\(runAt)::timestamptz, now()) FROM generate_series(1, \(count))
            """)
    }

    @Test("one tenant's backlog does not starve another: each due tenant gets its oldest job before any gets a second")
    func fairClaiming() async throws {
        let busy = try await directory.create(slug: "busy", name: "Busy").tenant
        let quiet = try await directory.create(slug: "quiet", name: "Quiet").tenant
        try await enqueue(3000, tenant: busy.id, runAt: Date().addingTimeInterval(-60))
        try await enqueue(3, tenant: quiet.id)
        try await enqueue(1, tenant: nil)
        let batch = try await queue.claim(worker: "w", limit: 8, lease: .seconds(30))
        #expect(batch.count == 8)
        #expect(batch.filter { $0.tenantID == quiet.id }.count == 3)
        #expect(batch.filter { $0.tenantID == nil }.count == 1)
        #expect(batch.filter { $0.tenantID == busy.id }.count == 4)
        await client.shutdown()
    }

    @Test("a tenant alone gets whole batches (work-conserving), and jobs due later are not taken")
    func loneTenantGetsFullBatches() async throws {
        let alone = try await directory.create(slug: "alone", name: "Alone").tenant
        try await enqueue(300, tenant: alone.id)
        try await enqueue(50, tenant: alone.id, runAt: Date().addingTimeInterval(3600))
        let batch = try await queue.claim(worker: "w", limit: 200, lease: .seconds(30))
        #expect(batch.count == 200)
        let rest = try await queue.claim(worker: "w", limit: 200, lease: .seconds(30))
        #expect(rest.count == 100)
        await client.shutdown()
    }

    @Test("a tenant transaction enqueues for its own tenant only; the platform role cannot use that door")
    func tenantEnqueue() async throws {
        let a = try await directory.create(slug: "shop-a", name: "A").tenant
        let b = try await directory.create(slug: "shop-b", name: "B").tenant
        let first = try await client.withTenantTransaction(TenantScope(a)) { session in
            // The job's tenant is ignored: the role decides.
            try await JobQueue.enqueue(NewJob(kind: "survey.purchase", tenantID: b.id, uniqueKey: "k"), inTenantTransaction: session)
        }
        let id = try #require(first)
        #expect(try await queue.get(id, tenantID: a.id)?.tenantID == a.id)
        #expect(try await queue.get(id, tenantID: b.id) == nil)
        // The unique key is per tenant: A's pending "k" blocks A's second, not B's.
        let again = try await client.withTenantTransaction(TenantScope(a)) { session in
            try await JobQueue.enqueue(NewJob(kind: "survey.purchase", uniqueKey: "k"), inTenantTransaction: session)
        }
        #expect(again == nil)
        let forB = try await client.withTenantTransaction(TenantScope(b)) { session in
            try await JobQueue.enqueue(NewJob(kind: "survey.purchase", uniqueKey: "k"), inTenantTransaction: session)
        }
        #expect(forB != nil)
        await #expect(throws: PostgresError.self) {
            try await client.withTransaction { session in
                try await JobQueue.enqueue(NewJob(kind: "x"), inTenantTransaction: session)
            }
        }
        // Rolled back with the data change that caused it.
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await client.withTenantTransaction(TenantScope(a)) { session in
                try await JobQueue.enqueue(NewJob(kind: "ghost"), inTenantTransaction: session)
                throw Abort()
            }
        }
        #expect(try await queue.list(tenantID: a.id, kind: "ghost").isEmpty)
        await client.shutdown()
    }

    @Test("a batch enqueued in a tenant transaction is one statement: the role gives the tenant, keys dedupe, times and payloads are kept")
    func tenantBatchEnqueue() async throws {
        let a = try await directory.create(slug: "batch-a", name: "A").tenant
        let b = try await directory.create(slug: "batch-b", name: "B").tenant
        let later = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded())
        _ = try await client.withTenantTransaction(TenantScope(a)) { session in
            try await JobQueue.enqueue(NewJob(kind: "survey.deliver", uniqueKey: "deliver:1"), inTenantTransaction: session)
        }
        var jobs = (0..<500).map { NewJob(kind: "survey.deliver", payload: ["n": $0], tenantID: b.id, uniqueKey: "deliver:\($0)") }
        jobs.append(NewJob(kind: "survey.deliver", payload: ["n": 2], uniqueKey: "deliver:2"))  // twice in the batch
        jobs.append(NewJob(kind: "survey.remind", payload: ["name": "Zoé \"l'été\" \\ ok"], runAt: later, maxAttempts: 3))
        let count = try await client.withTenantTransaction(TenantScope(a)) { session in
            try await JobQueue.enqueue(jobs, inTenantTransaction: session)
        }
        #expect(count == 500)  // 502 asked: deliver:1 was waiting, deliver:2 came twice
        let rows = try await client.query("""
            SELECT count(*) FILTER (WHERE tenant_id = \(a.id)), count(*) FILTER (WHERE tenant_id = \(b.id)),
                   count(DISTINCT unique_key) FILTER (WHERE kind = 'survey.deliver'),
                   max(run_at) FILTER (WHERE kind = 'survey.remind'), max(max_attempts) FILTER (WHERE kind = 'survey.remind'),
                   max(payload->>'name') FILTER (WHERE kind = 'survey.remind'),
                   (SELECT payload->>'n' FROM platform.jobs WHERE unique_key = 'deliver:2')
            FROM platform.jobs
            """)[0]
        #expect(try rows.decode(Int.self, at: 0) == 501)
        #expect(try rows.decode(Int.self, at: 1) == 0)
        #expect(try rows.decode(Int.self, at: 2) == 500)
        #expect(try rows.decode(Date.self, at: 3) == later)
        #expect(try rows.decode(Int.self, at: 4) == 3)
        #expect(try rows.decode(String.self, at: 5) == "Zoé \"l'été\" \\ ok")
        #expect(try rows.decode(String.self, at: 6) == "2")  // the first of the two
        // Only a tenant's role may use it, and a rollback takes the batch with it.
        await #expect(throws: PostgresError.self) {
            try await client.withTransaction { session in
                try await JobQueue.enqueue([NewJob(kind: "x")], inTenantTransaction: session)
            }
        }
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await client.withTenantTransaction(TenantScope(b)) { session in
                try await JobQueue.enqueue((0..<10).map { _ in NewJob(kind: "ghost") }, inTenantTransaction: session)
                throw Abort()
            }
        }
        #expect(try await queue.list(tenantID: b.id, kind: "ghost").isEmpty)
        // The platform's own batch keeps each job's tenant.
        #expect(try await queue.enqueue([NewJob(kind: "noop", tenantID: b.id), NewJob(kind: "noop")]) == 2)
        #expect(try await queue.list(tenantID: b.id, kind: "noop").count == 1)
        await client.shutdown()
    }

    @Test("a handler's tenant writes commit with its completion; a handler that lost its lease commits nothing")
    func completionInTheJobsTransaction() async throws {
        let shop = try await directory.create(slug: "shop", name: "Shop").tenant
        _ = try await client.tenantTransaction(TenantScope(shop), ["CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text)"])
        let done = try #require(try await queue.enqueue(NewJob(kind: "note", payload: ["body": "kept"], tenantID: shop.id)))
        let lost = try #require(try await queue.enqueue(NewJob(kind: "note", payload: ["body": "lost"], tenantID: shop.id)))
        let rescued = Mutex(false)
        var options = JobWorker.Options()
        options.pollInterval = .milliseconds(50)
        let queue = self.queue, client = self.client
        let worker = JobWorker(queue: queue, handlers: [
            "note": { context in
                let body = try context.job.payload(as: [String: String].self)["body"] ?? ""
                if body == "lost" {
                    // Another worker rescued this job meanwhile (its lease ran out).
                    _ = try await client.query("UPDATE platform.jobs SET locked_by = 'someone-else' WHERE id = \(context.job.id)")
                    rescued.withLock { $0 = true }
                }
                try await context.completeInTenantTransaction { session in
                    _ = try await session.query("INSERT INTO notes (body) VALUES (\(body))")
                }
            },
        ], options: options, listener: nil, logger: TestDatabase.logger)
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }
        try await waitUntil { try await queue.status(of: done)?.state == .succeeded && rescued.withLock { $0 } }
        try await Task.sleep(for: .milliseconds(200))
        await group.triggerGracefulShutdown()
        try await running.value
        let bodies = try await client.tenantTransaction(TenantScope(shop), ["SELECT body FROM notes ORDER BY id"])[0]
            .map { try $0.decode(String.self, at: 0) }
        #expect(bodies == ["kept"])
        #expect(try await queue.status(of: lost)?.state == .running)  // still the other holder's
        await client.shutdown()
    }

    @Test("many jobs run exactly once each with completions committed in groups")
    func manyJobsExactlyOnce() async throws {
        try await enqueue(2000, tenant: nil, kind: "count")
        let runs = Mutex([Int64: Int]())
        var options = JobWorker.Options()
        options.concurrency = 200
        options.pollInterval = .milliseconds(50)
        let worker = JobWorker(queue: queue, handlers: [
            "count": { context in runs.withLock { $0[context.job.id, default: 0] += 1 } },
        ], options: options, listener: nil, logger: TestDatabase.logger)
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }
        let queue = self.queue
        try await waitUntil(seconds: 60) { try await queue.pendingCounts() == (0, 0) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(runs.withLock { $0.count } == 2000)
        #expect(runs.withLock { $0.values.allSatisfy { $0 == 1 } })
        #expect(try await client.query("SELECT count(*) FROM platform.job_history WHERE state = 'succeeded'").first?.decode(Int.self, at: 0) == 2000)
        await client.shutdown()
    }

    @Test("shutdown gives a job that outlasts the grace period back to the queue, its attempt not counted")
    func shutdownGivesBack() async throws {
        let id = try #require(try await queue.enqueue(NewJob(kind: "endless")))
        var options = JobWorker.Options()
        options.pollInterval = .milliseconds(50)
        options.shutdownGrace = .milliseconds(200)
        let worker = JobWorker(queue: queue, handlers: [
            "endless": { _ in try await Task.sleep(for: .seconds(600)) },
        ], options: options, listener: nil, logger: TestDatabase.logger)
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }
        let queue = self.queue
        try await waitUntil { try await queue.status(of: id)?.state == .running }
        let started = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(ContinuousClock.now - started < .seconds(10))
        let status = try #require(try await queue.status(of: id))
        #expect(status.state == .queued)
        #expect(status.attempts == 0)
        await client.shutdown()
    }

    @Test("a job that throws JobDiscard is discarded at once; a rescued job's first holder cannot complete it even under the same worker id")
    func discardAndLeaseToken() async throws {
        let id = try #require(try await queue.enqueue(NewJob(kind: "bad", maxAttempts: 10)))
        let job = try #require(try await queue.claim(worker: "w", limit: 1, lease: .milliseconds(30)).first)
        try await Task.sleep(for: .milliseconds(80))
        #expect(try await queue.rescue() == 1)
        let again = try #require(try await queue.claim(worker: "w", limit: 1, lease: .seconds(30)).first)
        #expect(try await queue.complete(job, worker: "w") == false)  // attempt 1 no longer holds it
        #expect(try await queue.fail(again, worker: "w", error: "bad address", retryAfter: .zero, discard: true))
        #expect(try await queue.status(of: id)?.state == .discarded)
        await client.shutdown()
    }

    @Test("finished jobs are pruned after the retention period; pending ones never are")
    func pruning() async throws {
        try await enqueue(3, tenant: nil)
        let jobs = try await queue.claim(worker: "w", limit: 2, lease: .seconds(30))
        try await queue.complete(jobs, worker: "w")
        _ = try await client.query("UPDATE platform.job_history SET finished_at = now() - interval '15 days' WHERE id = \(jobs[0].id)")
        #expect(try await queue.prune(olderThan: .seconds(14 * 86_400)) == 1)
        #expect(try await queue.get(jobs[0].id, tenantID: nil) == nil)
        #expect(try await queue.get(jobs[1].id, tenantID: nil)?.state == .succeeded)
        #expect(try await queue.pendingCounts() == (1, 0))
        await client.shutdown()
    }

    private func waitUntil(seconds: Int = 10, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("condition not met within \(seconds) s")
    }
}

@Suite("Job runner metrics")
struct JobMetricsTests {
    @Test("the worker reports completed, failed and discarded jobs, the start delay, and the pending gauges")
    func metrics() async throws {
        let (client, _) = try await TestDatabase.platform("metrics", maximumConnections: 4)
        let queue = JobQueue(client: client)
        let registry = PrometheusCollectorRegistry()
        var options = JobWorker.Options()
        options.pollInterval = .milliseconds(50)
        options.metricsInterval = .milliseconds(100)
        options.backoff = { _ in .zero }
        options.metrics = PrometheusMetricsFactory(registry: registry)
        let worker = JobWorker(queue: queue, handlers: [
            "ok": { _ in },
            "flaky": { context in if context.job.attempt == 1 { throw CancellationError() } },
            "bad": { _ in throw JobDiscard("bad address") },
        ], options: options, listener: nil, logger: TestDatabase.logger)
        for kind in ["ok", "ok", "flaky", "bad"] { try await queue.enqueue(NewJob(kind: kind)) }
        try await queue.enqueue(NewJob(kind: "ok", runAt: Date().addingTimeInterval(3600)))
        let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while try await queue.pendingCounts() != (1, 0), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))  // a gauge reading after the work
        await group.triggerGracefulShutdown()
        try await running.value
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains(#"clientele_jobs_completed_total{kind="ok"} 2"#))
        #expect(text.contains(#"clientele_jobs_completed_total{kind="flaky"} 1"#))
        #expect(text.contains(#"clientele_jobs_failed_total{kind="flaky"} 1"#))
        #expect(text.contains(#"clientele_jobs_discarded_total{kind="bad"} 1"#))
        #expect(text.contains("clientele_job_start_delay"))
        #expect(text.contains("clientele_jobs_queued 1"))
        #expect(text.contains("clientele_jobs_running 0"))
        await client.shutdown()
    }
}
