import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// Runs jobs: `concurrency` slots claim due jobs (SKIP LOCKED), run their handler, and record
/// the outcome; failures are retried with exponential backoff until `maxAttempts`. Idle slots
/// wake on NOTIFY or after `pollInterval`. Leases are renewed while jobs run, and jobs of dead
/// workers are rescued when their lease runs out. Graceful shutdown lets running jobs finish.
public final class JobWorker: Service, Sendable {
    public typealias Handler = @Sendable (Job) async throws -> Void

    public struct Options: Sendable {
        public var concurrency = 4
        public var lease: Duration = .seconds(60)
        public var pollInterval: Duration = .seconds(2)
        public var rescueInterval: Duration = .seconds(15)
        /// The wait before retry `attempt` (1 after the first failure).
        public var backoff: @Sendable (Int) -> Duration = { attempt in
            let base = min(3600.0, pow(2.0, Double(min(attempt, 12))))
            return .milliseconds(Int(base * 1000 * Double.random(in: 0.75...1.25)))
        }
        public init() {}
    }

    public let id: String
    let queue: JobQueue
    let handlers: [String: Handler]
    let options: Options
    let listener: PostgresListener?
    let logger: Logger
    private let wake = WakeSignal()

    /// `listener` (on `JobQueue.channel`) wakes idle slots; without it they only poll.
    public init(
        queue: JobQueue, handlers: [String: Handler], options: Options = Options(),
        listener: PostgresListener?, logger: Logger
    ) {
        self.id = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8))"
        self.queue = queue
        self.handlers = handlers
        self.options = options
        self.listener = listener
        self.logger = logger
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
                group.addTask { await self.every(self.options.lease / 3, until: stopping) { try await self.queue.heartbeat(worker: self.id, lease: self.options.lease) } }
                group.addTask { await self.every(self.options.rescueInterval, until: stopping) { try await self.queue.rescue() } }
                await withTaskGroup(of: Void.self) { slots in
                    for _ in 0..<options.concurrency {
                        slots.addTask { await self.slot(until: stopping) }
                    }
                }
                // Every slot has finished its job: stop the helpers.
                await listener?.stop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            stopping.set()
            self.wake.signal()
        }
    }

    private func slot(until stopping: StopFlag) async {
        // Cancellation stops the slot too: a cancelled wait returns at once and would spin.
        while !stopping.isSet, !Task.isCancelled {
            let jobs: [Job]
            do {
                jobs = try await queue.claim(worker: id, limit: 1, lease: options.lease)
            } catch {
                logger.warning("cannot claim jobs", metadata: ["error": "\(error)"])
                await wake.wait(timeout: options.pollInterval)
                continue
            }
            guard let job = jobs.first else {
                await wake.wait(timeout: options.pollInterval)
                continue
            }
            await execute(job)
        }
    }

    func execute(_ job: Job) async {
        var logger = self.logger
        logger[metadataKey: "job"] = "\(job.id)"
        logger[metadataKey: "kind"] = "\(job.kind)"
        do {
            guard let handler = handlers[job.kind] else {
                throw JobError(message: "no handler for job kind '\(job.kind)'")
            }
            try await handler(job)
            if try await !queue.complete(job, worker: id) {
                logger.warning("job finished after its lease was taken over; its outcome is ignored")
            }
        } catch {
            logger.warning("job failed", metadata: ["attempt": "\(job.attempt)", "error": "\(error)"])
            do {
                try await queue.fail(job, worker: id, error: "\(error)", retryAfter: options.backoff(job.attempt))
            } catch {
                logger.error("cannot record a job failure; its lease will expire", metadata: ["error": "\(error)"])
            }
        }
    }

    private func every(_ interval: Duration, until stopping: StopFlag, _ work: @Sendable () async throws -> Void) async {
        while !stopping.isSet, !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
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
