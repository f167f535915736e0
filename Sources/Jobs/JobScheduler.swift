import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// Fires the ticks of periodic jobs (`JobSchedules`). Every process may run one: each pass is ONE
/// transaction that locks due schedules (`FOR UPDATE SKIP LOCKED`), enqueues each one's tick and
/// advances its `next_run_at`, then commits. A tick is enqueued by the transaction that moves
/// the schedule past it, so it fires once across all processes, with no leader to elect or go
/// stale; the job's unique key (schedule and tick) is a second guard. Dueness is read on the
/// database clock. No advisory locks or session settings: it works behind PgBouncer in
/// transaction mode.
///
/// Missed ticks (every process was down, or the schedule's tenant was suspended): a due schedule
/// fires ONE tick, for the most recent time it should have fired, then continues from its next
/// time after now. A nightly scoring that missed three nights runs once, not three times.
/// Ticks of a suspended or deleted tenant are skipped (the schedule still advances).
public final class JobScheduler: Service, Sendable {
    /// Schedule changes notify this channel, so a listening scheduler sees them at once.
    public static let channel = "clientele_schedules"

    public struct Options: Sendable {
        /// Due schedules handled per transaction.
        public var batchSize = 100
        /// The longest sleep between passes: a schedule created without a notification (or by a
        /// process whose NOTIFY this one missed) is seen within this.
        public var maximumSleep: Duration = .seconds(30)
        /// The shortest sleep, so schedules another process holds locked are not polled in a spin.
        public var minimumSleep: Duration = .milliseconds(50)
        /// The pause after a failed pass (database unreachable).
        public var retryInterval: Duration = .seconds(5)
        public init() {}
    }

    /// What this scheduler did since it started.
    public struct Statistics: Sendable, Equatable {
        /// Ticks enqueued as a new job.
        public var fired = 0
        /// Ticks whose job was already queued (the unique key held it back).
        public var alreadyQueued = 0
        /// Ticks skipped because the schedule's tenant is not active.
        public var skipped = 0
        /// Schedules disabled because their expression or zone no longer reads.
        public var disabled = 0
    }

    let client: PostgresClient
    let queue: JobQueue
    let listener: PostgresListener?
    let logger: Logger
    let options: Options
    private let wakeSignal = WakeSignal()
    private let counters = Mutex(Statistics())

    /// `listener` (on `JobScheduler.channel`) wakes the scheduler when schedules change.
    public init(
        client: PostgresClient, queue: JobQueue? = nil, listener: PostgresListener? = nil,
        logger: Logger, options: Options = Options()
    ) {
        self.client = client
        self.queue = queue ?? JobQueue(client: client)
        self.listener = listener
        self.logger = logger
        self.options = options
    }

    public var statistics: Statistics { counters.withLock { $0 } }

    /// Ends the current sleep, or the next one if a pass is running: another pass starts now.
    public func wake() {
        wakeSignal.signal()
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            if let listener {
                let events = listener.events()
                listener.start()
                group.addTask {
                    for await _ in events { self.wake() }
                }
            }
            // Graceful shutdown cancels the loop: a sleep ends at once, and a pass in flight
            // commits or rolls back whole (a tick it did not commit is fired by the next pass).
            await cancelWhenGracefulShutdown { await self.loop() }
            await listener?.stop()
            group.cancelAll()
        }
    }

    private func loop() async {
        while !Task.isCancelled {
            let seen = wakeSignal.generation  // a wake() during the pass is not lost
            do {
                let handled = try await fireDueTicks()
                if handled == options.batchSize { continue }  // more may be due
                let sleep = try await timeUntilNextTick()
                await wakeSignal.wait(after: seen, timeout: sleep)
            } catch {
                if Task.isCancelled { return }
                logger.warning("scheduling periodic jobs failed", metadata: ["error": "\(error)"])
                await wakeSignal.wait(after: seen, timeout: options.retryInterval)
            }
        }
    }

    /// How long to sleep: until the earliest next tick, within the bounds of the options.
    func timeUntilNextTick() async throws -> Duration {
        let seconds = try await client.query("""
            SELECT extract(epoch FROM min(next_run_at) - now())::float8 FROM platform.job_schedules WHERE enabled
            """).first?.decode(Double?.self, at: 0)
        guard let seconds else { return options.maximumSleep }
        return min(max(.milliseconds(Int64(seconds * 1000)), options.minimumSleep), options.maximumSleep)
    }

    /// One pass: fires the ticks of up to `batchSize` due schedules in one transaction and
    /// returns how many schedules it handled. Schedules another pass holds are skipped.
    @discardableResult
    public func fireDueTicks() async throws -> Int {
        let (queue, logger, limit) = (self.queue, self.logger, options.batchSize)
        let outcome = try await client.withTransaction { session -> Statistics in
            let rows = try await session.query("""
                SELECT s.id, s.tenant_id, s.name, s.kind, s.payload, s.cron,
                       coalesce(s.time_zone, t.time_zone, \(JobSchedules.defaultTimeZone)),
                       s.next_run_at, now(), t.status IS NULL OR t.status = 'active'
                FROM platform.job_schedules s LEFT JOIN platform.tenants t ON t.id = s.tenant_id
                WHERE s.enabled AND s.next_run_at <= now()
                ORDER BY s.next_run_at
                LIMIT \(limit)
                FOR UPDATE OF s SKIP LOCKED
                """)
            var outcome = Statistics()
            var updates: [PostgresQuery] = []
            for row in rows {
                let due = try DueSchedule(row: row)
                guard let expression = try? CronExpression(due.cron), let zone = TimeZone(identifier: due.zone) else {
                    logger.error("a schedule no longer reads; it is disabled", metadata: [
                        "schedule": "\(due.id)", "cron": "\(due.cron)", "time_zone": "\(due.zone)"])
                    updates.append("UPDATE platform.job_schedules SET enabled = false, updated_at = now() WHERE id = \(due.id)")
                    outcome.disabled += 1
                    continue
                }
                let tick = Self.latestTick(of: expression, due: due.nextRunAt, notAfter: due.now, in: zone)
                let following = expression.next(after: max(tick, due.now), in: zone)
                guard due.tenantActive else {
                    updates.append("UPDATE platform.job_schedules SET next_run_at = \(following) WHERE id = \(due.id)")
                    outcome.skipped += 1
                    continue
                }
                if try await queue.enqueue(due.job(tick: tick), in: session) == nil {
                    outcome.alreadyQueued += 1
                } else {
                    outcome.fired += 1
                }
                updates.append("""
                    UPDATE platform.job_schedules SET next_run_at = \(following), last_run_at = \(tick) WHERE id = \(due.id)
                    """)
            }
            if !updates.isEmpty { _ = try await session.pipeline(updates) }
            return outcome
        }
        counters.withLock { total in
            total.fired += outcome.fired
            total.alreadyQueued += outcome.alreadyQueued
            total.skipped += outcome.skipped
            total.disabled += outcome.disabled
        }
        return outcome.fired + outcome.alreadyQueued + outcome.skipped + outcome.disabled
    }

    /// The most recent tick at or before `now`, starting from the schedule's due tick. Looks in
    /// a window before `now` that widens while it holds no tick, so a schedule that fires every
    /// minute and missed a month does not walk through forty thousand ticks.
    static func latestTick(of expression: CronExpression, due: Date, notAfter now: Date, in zone: TimeZone) -> Date {
        var window: TimeInterval = 3600
        var tick = due
        while now.addingTimeInterval(-window) > due {
            if let first = expression.next(after: now.addingTimeInterval(-window), in: zone), first <= now {
                tick = first
                break
            }
            window *= 24
        }
        while let next = expression.next(after: tick, in: zone), next <= now { tick = next }
        return tick
    }
}

/// A schedule as a pass locked it.
struct DueSchedule {
    var id: Int64
    var tenantID: Int64?
    var name: String
    var kind: String
    var payloadJSON: String
    var cron: String
    var zone: String
    var nextRunAt: Date
    var now: Date
    var tenantActive: Bool

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        tenantID = try row.decode(at: 1)
        name = try row.decode(at: 2)
        kind = try row.decode(at: 3)
        payloadJSON = try row.decode(PostgresJSONValue.self, at: 4).text
        cron = try row.decode(at: 5)
        zone = try row.decode(at: 6)
        nextRunAt = try row.decode(at: 7)
        now = try row.decode(at: 8)
        tenantActive = try row.decode(at: 9)
    }

    /// The tick's job: the schedule's payload with `schedule`, `schedule_id` and `scheduled_at`
    /// added, unique per schedule and tick.
    func job(tick: Date) -> NewJob {
        let time = tick.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
        var job = NewJob(kind: kind, tenantID: tenantID, uniqueKey: "schedule:\(id):\(time)")
        // jsonb prints an object as `{...}`: our keys go last, and jsonb keeps the last of
        // duplicate keys, so they win over the schedule's own.
        let own = payloadJSON.trimmingCharacters(in: .whitespaces).dropFirst().dropLast()
            .trimmingCharacters(in: .whitespaces)
        let added = #""schedule": \#(PostgresJSON(name).postgresText), "schedule_id": \#(id), "scheduled_at": "\#(time)""#
        job.payloadJSON = "{" + (own.isEmpty ? "" : own + ", ") + added + "}"
        return job
    }
}
