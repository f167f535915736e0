import Foundation
import Logging
import Metrics
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
    private let wake = WakeSignal()
    private let slots: JobSlots
    private let completions: CompletionBatcher
    /// Jobs this worker runs now: only their leases are renewed, so a job whose completion
    /// could not be recorded is let go and rescued.
    private let held = Mutex(Set<Int64>())

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
        self.slots = JobSlots(capacity: max(1, options.concurrency))
        self.completions = CompletionBatcher(queue: queue, worker: id)
    }

    public func run() async throws {
        let stopping = StopFlag()
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
                group.addTask { await self.every(self.options.metricsInterval, until: stopping) { try await self.reportGauges() } }
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

    private func fetchLoop(until stopping: StopFlag) async {
        await withDiscardingTaskGroup { running in
            while !stopping.isSet, !Task.isCancelled {
                let free = await slots.waitForFree()
                if free == 0 || stopping.isSet { break }
                let jobs: [Job]
                do {
                    jobs = try await queue.claim(worker: id, limit: free, lease: options.lease)
                } catch {
                    logger.warning("cannot claim jobs", metadata: ["error": "\(error)"])
                    await wake.wait(timeout: options.pollInterval)
                    continue
                }
                if jobs.isEmpty {
                    await wake.wait(timeout: options.pollInterval)
                    continue
                }
                slots.take(jobs.count)
                held.withLock { $0.formUnion(jobs.map(\.id)) }
                for job in jobs {
                    Timer(label: "clientele_job_start_delay", dimensions: [("kind", job.kind)])
                        .recordNanoseconds(Int64(job.waited * 1e9))
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

    func execute(_ job: Job, stopping: StopFlag) async {
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
            Counter(label: "clientele_jobs_completed_total", dimensions: [("kind", job.kind)]).increment()
        } catch is JobLeaseLost {
            logger.warning("job finished after its lease was taken over; its changes were rolled back")
        } catch where Task.isCancelled && stopping.isSet {
            await giveBack(job, logger: logger)
        } catch {
            let discard = error is JobDiscard
            let final = discard || job.attempt >= job.maxAttempts
            logger.warning(final ? "job discarded" : "job failed", metadata: ["attempt": "\(job.attempt)", "error": "\(error)"])
            Counter(label: final ? "clientele_jobs_discarded_total" : "clientele_jobs_failed_total", dimensions: [("kind", job.kind)]).increment()
            do {
                try await queue.fail(job, worker: id, error: "\(error)", retryAfter: options.backoff(job.attempt), discard: discard)
            } catch {
                logger.error("cannot record a job failure; its lease will run out", metadata: ["error": "\(error)"])
            }
        }
    }

    /// A job interrupted by shutdown goes back to the queue, its attempt not counted.
    private func giveBack(_ job: Job, logger: Logger) async {
        // In a task of its own: this one is cancelled, and the pool refuses cancelled work.
        let queue = self.queue, worker = self.id
        let outcome = await Task {
            _ = try await queue.client.query("""
                UPDATE platform.jobs SET state = 'queued', attempts = attempts - 1, run_at = now(),
                       locked_by = NULL, locked_until = NULL
                WHERE id = \(job.id) AND attempts = \(job.attempt) AND state = 'running' AND locked_by = \(worker)
                """)
        }.result
        if case .failure(let error) = outcome {
            logger.error("cannot give back an interrupted job; its lease will run out", metadata: ["error": "\(error)"])
        }
    }

    private func renewLeases() async throws {
        let ids = Array(held.withLock { $0 })
        guard !ids.isEmpty else { return }
        _ = try await queue.client.query("""
            UPDATE platform.jobs SET locked_until = now() + make_interval(secs => \(options.lease.seconds))
            WHERE id = ANY(\(ids)::bigint[]) AND state = 'running' AND locked_by = \(id)
            """)
    }

    private func rescue() async throws {
        let rescued = try await queue.rescue()
        if rescued > 0 {
            logger.notice("rescued jobs of workers that stopped renewing their leases", metadata: ["count": "\(rescued)"])
            Counter(label: "clientele_jobs_rescued_total").increment(by: rescued)
            wake.signal()
        }
    }

    private func prune() async throws {
        let removed = try await queue.prune(olderThan: options.retention)
        if removed > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(removed)"]) }
    }

    private func reportGauges() async throws {
        let counts = try await queue.pendingCounts()
        Gauge(label: "clientele_jobs_queued").record(counts.queued)
        Gauge(label: "clientele_jobs_running").record(counts.running)
    }

    private func every(_ interval: Duration, until stopping: StopFlag, _ work: @Sendable () async throws -> Void) async {
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

final class StopFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
