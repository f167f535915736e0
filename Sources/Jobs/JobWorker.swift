import Foundation
import Logging
import CoreMetrics
import Postgres
import ServiceLifecycle
import Synchronization

/// Runs jobs. One fetch loop claims due jobs in batches (fairly across tenants, SKIP LOCKED)
/// as slots free up, and runs each job's handler in a task of its own; completions are
/// committed in groups. Failures are retried with exponential backoff and jitter until
/// `maxAttempts`, then the job is discarded with its errors. Idle, the loop sleeps until a
/// NOTIFY or the poll interval. Leases of running jobs are renewed; jobs of dead workers are
/// rescued when their lease runs out; finished jobs are pruned after the retention period.
///
/// On graceful shutdown it stops claiming, lets running jobs finish for `shutdownGrace`, then
/// cancels the rest and gives them back to the queue (their attempt not counted): nothing is lost.
public final class JobWorker: Service, Sendable {
    public struct Options: Sendable {
        /// Jobs run at once (and the largest batch claimed).
        public var concurrency = 32
        public var lease: Duration = .seconds(30)
        public var pollInterval: Duration = .seconds(2)
        public var rescueInterval: Duration = .seconds(5)
        public var shutdownGrace: Duration = .seconds(20)
        /// Finished jobs are deleted from the history after this long.
        public var retention: Duration = .seconds(14 * 86_400)
        public var pruneInterval: Duration = .seconds(600)
        public var metricsInterval: Duration = .seconds(10)
        /// Where counters, gauges and timers go (the server's Prometheus registry).
        public var metrics: any MetricsFactory = MetricsSystem.factory
        /// The wait before retry `attempt` (1 after the first failure).
        public var backoff: @Sendable (Int) -> Duration = { attempt in
            let base = min(3600.0, pow(2.0, Double(min(attempt, 12))))
            return .milliseconds(Int(base * 1000 * Double.random(in: 0.75...1.25)))
        }
        public init() {}
    }

    public let id: String
    let queue: JobQueue
    let handlers: [String: JobHandler]
    let options: Options
    let listener: PostgresListener?
    let logger: Logger
    let scopes: TenantScopes
    let metrics: JobMetrics
    private let wake = WakeSignal()
    private let slots: JobSlots
    private let completions: CompletionBatcher
    /// Jobs this worker runs now: only their leases are renewed, so a job whose completion
    /// could not be recorded is let go and rescued.
    private let held = Mutex(Set<Int64>())
    /// When the soonest retry of a job this worker failed comes due: the idle loop wakes then
    /// rather than at its next poll.
    private let soonestRetry = Mutex<ContinuousClock.Instant?>(nil)

    /// `listener` (on `JobQueue.channel`) wakes the idle fetch loop; without it, it only polls
    /// (as behind PgBouncer in transaction mode, where LISTEN is not available).
    public init(
        queue: JobQueue, handlers: [String: JobHandler], options: Options = Options(),
        listener: PostgresListener?, logger: Logger
    ) {
        self.id = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8))"
        self.queue = queue
        self.handlers = handlers
        self.options = options
        self.listener = listener
        self.logger = logger
        self.scopes = TenantScopes(client: queue.client)
        self.metrics = JobMetrics(factory: options.metrics)
        self.slots = JobSlots(capacity: max(1, options.concurrency))
        self.completions = CompletionBatcher(queue: queue, worker: id)
    }

    public func run() async throws {
        let stopping = Flag()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                if let listener {
                    let events = listener.events()
                    listener.start()
                    group.addTask {
                        for await _ in events { self.wake.signal() }
                    }
                }
                group.addTask { await self.completions.run() }
                group.addTask { await self.every(self.options.lease / 3, until: stopping) { try await self.renewLeases() } }
                group.addTask { await self.every(self.options.rescueInterval, until: stopping) { try await self.rescue() } }
                group.addTask { await self.every(self.options.pruneInterval, until: stopping) { try await self.prune() } }
                group.addTask {
                    // At once, so a scrape right after the start sees the gauges, then every interval.
                    try? await self.reportGauges()
                    await self.every(self.options.metricsInterval, until: stopping) { try await self.reportGauges() }
                }
                await fetchLoop(until: stopping)
                // Every job has finished or been given back: stop the helpers.
                completions.stop()
                await listener?.stop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            stopping.set()
            self.slots.stop()
            self.wake.signal()
        }
    }

    private func fetchLoop(until stopping: Flag) async {
        await withDiscardingTaskGroup { running in
            while !stopping.isSet, !Task.isCancelled {
                // A quarter of the slots at least: under load, one statement claims many jobs.
                let free = await slots.waitForFree(atLeast: max(1, slots.capacity / 4))
                if free == 0 || stopping.isSet { break }
                let seen = wake.generation  // a signal during the claim is not lost
                let jobs: [Job]
                do {
                    jobs = try await queue.claim(worker: id, limit: free, lease: options.lease)
                } catch {
                    logger.warning("cannot claim jobs", metadata: ["error": "\(error)"])
                    await wake.wait(after: seen, timeout: options.pollInterval)
                    continue
                }
                if jobs.isEmpty {
                    await wake.wait(after: seen, timeout: idleWait())
                    continue
                }
                slots.take(jobs.count)
                held.withLock { $0.formUnion(jobs.map(\.id)) }
                for job in jobs {
                    metrics.started(job)
                    running.addTask {
                        await self.execute(job, stopping: stopping)
                        self.held.withLock { _ = $0.remove(job.id) }
                        self.slots.release()
                    }
                }
            }
            // Stopping: running jobs get a bounded time to finish, then are cancelled (and
            // given back to the queue by `execute`).
            let deadline = ContinuousClock.now + options.shutdownGrace
            while slots.running > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if slots.running > 0 {
                logger.notice("jobs still running at shutdown are given back", metadata: ["count": "\(slots.running)"])
                running.cancelAll()
            }
        }
    }

    func execute(_ job: Job, stopping: Flag) async {
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.id)"
        logger[metadataKey: "kind"] = "\(job.kind)"
        let context = JobContext(job: job, client: queue.client, worker: id, scopes: scopes)
        do {
            guard let handler = handlers[job.kind] else {
                throw JobDiscard("no handler for job kind '\(job.kind)'")
            }
            try await handler(context)
            if !context.completed.isSet, await !completions.complete(job) {
                logger.warning("job finished but its completion was not recorded; it will be rescued and run again")
                return
            }
            metrics.completed(job)
        } catch is JobLeaseLost {
            logger.warning("job finished after its lease was taken over; its changes were rolled back")
        } catch where Task.isCancelled && stopping.isSet {
            await giveBack(job, logger: logger)
        } catch {
            let discard = error is JobDiscard
            let final = discard || job.attempt >= job.maxAttempts
            logger.warning(final ? "job discarded" : "job failed", metadata: ["attempt": "\(job.attempt)", "error": "\(error)"])
            if final { metrics.discarded(job) } else { metrics.failed(job) }
            let retryAfter = options.backoff(job.attempt)
            do {
                try await queue.fail(job, worker: id, error: "\(error)", retryAfter: retryAfter, discard: discard)
                if !final {
                    let due = ContinuousClock.now + retryAfter
                    soonestRetry.withLock { $0 = min($0 ?? due, due) }
                    wake.signal()
                }
            } catch {
                logger.error("cannot record a job failure; its lease will run out", metadata: ["error": "\(error)"])
            }
        }
    }

    /// How long the idle loop sleeps: until the next poll, or the soonest retry if sooner.
    private func idleWait() -> Duration {
        let now = ContinuousClock.now
        return soonestRetry.withLock { soonest in
            guard let due = soonest else { return options.pollInterval }
            if due <= now { soonest = nil; return .zero }
            return min(options.pollInterval, now.duration(to: due))
        }
    }

    /// A job interrupted by shutdown goes back to the queue, its attempt not counted.
    private func giveBack(_ job: Job, logger: Logger) async {
        // In a task of its own: this one is cancelled, and the pool refuses cancelled work.
        let queue = self.queue, worker = self.id
        let outcome = await Task { try await queue.release(job, worker: worker) }.result
        if case .failure(let error) = outcome {
            logger.error("cannot give back an interrupted job; its lease will run out", metadata: ["error": "\(error)"])
        }
    }

    private func renewLeases() async throws {
        try await queue.heartbeat(Array(held.withLock { $0 }), worker: id, lease: options.lease)
    }

    private func rescue() async throws {
        let rescued = try await queue.rescue()
        if rescued > 0 {
            logger.notice("rescued jobs of workers that stopped renewing their leases", metadata: ["count": "\(rescued)"])
            metrics.rescued(rescued)
            wake.signal()
        }
    }

    private func prune() async throws {
        let removed = try await queue.prune(olderThan: options.retention)
        if removed > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(removed)"]) }
    }

    private func reportGauges() async throws {
        let counts = try await queue.pendingCounts()
        metrics.pending(queued: counts.queued, running: counts.running)
    }

    private func every(_ interval: Duration, until stopping: Flag, _ work: @Sendable () async throws -> Void) async {
        while !stopping.isSet, !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled || stopping.isSet { return }
            do { try await work() } catch {
                logger.warning("job maintenance failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

struct JobError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A flag set once, read from any task (the worker is stopping; a handler completed its job).
final class Flag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
