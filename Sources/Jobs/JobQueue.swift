import Foundation
import Postgres

/// The job table's operations. Every state change is one guarded statement: it names the
/// worker and the attempt that hold the job (the lease), so a worker whose job was rescued
/// meanwhile cannot overwrite what the new holder did. No session state (no advisory locks,
/// no session settings): it works behind PgBouncer in transaction pooling mode.
public struct JobQueue: Sendable {
    /// Enqueueing notifies this channel; idle workers wake on it instead of waiting for a poll.
    public static let channel = "clientele_jobs"
    public let client: PostgresClient
    let debouncer: WakeupDebouncer

    public init(client: PostgresClient) {
        self.init(client: client, debouncer: .shared)
    }

    init(client: PostgresClient, debouncer: WakeupDebouncer) {
        self.client = client
        self.debouncer = debouncer
    }

    // MARK: Enqueueing

    /// Enqueues in its own transaction; returns nil when a pending job has the same unique key.
    @discardableResult
    public func enqueue(_ job: NewJob) async throws -> Int64? {
        let wakeup = self.wakeup(for: [job])
        let rows = try await client.transaction(insert(job, notify: wakeup == .inTransaction))
        if wakeup == .afterTransaction { debouncer.transactionEnded(client: client) }
        return try rows[0].first?.decode(Int64.self, at: 0)
    }

    /// Enqueues inside the caller's platform transaction: the job exists only if it commits.
    @discardableResult
    public func enqueue(_ job: NewJob, in session: PostgresSession) async throws -> Int64? {
        let wakeup = self.wakeup(for: [job])
        let rows = try await session.pipeline(insert(job, notify: wakeup == .inTransaction))
        wakeAfterTransaction(wakeup, of: session)
        return try rows[0].first?.decode(Int64.self, at: 0)
    }

    /// Enqueues inside a tenant's transaction (the data change that causes the job): the job
    /// exists only if that transaction commits. The tenant comes from the transaction's role,
    /// never from the caller; `job.tenantID` is ignored.
    @discardableResult
    public func enqueue(_ job: NewJob, inTenantTransaction session: PostgresSession) async throws -> Int64? {
        let wakeup = self.wakeup(for: [job])
        let id = try await session.query("""
            SELECT platform_api.enqueue_job(\(job.kind), \(PostgresJSONText(job.payloadJSON)),
                                            \(job.runAt)::timestamptz, \(job.maxAttempts)::int, \(job.uniqueKey),
                                            \(wakeup == .inTransaction))
            """).first?.decode(Int64?.self, at: 0)
        wakeAfterTransaction(wakeup, of: session)
        return id
    }

    /// Enqueues many jobs in one statement inside a tenant's transaction (a campaign sent to a
    /// thousand clients): one round trip, however many jobs. Returns how many were enqueued (a
    /// unique key already waiting, or twice in the batch, is enqueued once).
    @discardableResult
    public func enqueue(_ jobs: [NewJob], inTenantTransaction session: PostgresSession) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        let wakeup = self.wakeup(for: jobs)
        let count = try await session.query("""
            SELECT platform_api.enqueue_jobs(\(PostgresJSONText(NewJob.jsonArray(jobs))), \(wakeup == .inTransaction))
            """).first?.decode(Int.self, at: 0) ?? 0
        wakeAfterTransaction(wakeup, of: session)
        return count
    }

    /// Enqueues many jobs in one statement, in a transaction of their own (tenant ids as given).
    @discardableResult
    public func enqueue(_ jobs: [NewJob]) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        var statements: [PostgresQuery] = [
            """
            INSERT INTO platform.jobs (tenant_id, kind, payload, run_at, max_attempts, unique_key)
            SELECT j.tenant_id, j.kind, coalesce(j.payload, '{}'), coalesce(to_timestamp(j.run_at), now()),
                   coalesce(j.max_attempts, 10), j.unique_key
            FROM jsonb_to_recordset(\(PostgresJSONText(NewJob.jsonArray(jobs)))) AS j (
                tenant_id bigint, kind text, payload jsonb, run_at double precision, max_attempts integer, unique_key text)
            ON CONFLICT (coalesce(tenant_id, 0), unique_key) WHERE unique_key IS NOT NULL DO NOTHING
            """,
        ]
        let wakeup = self.wakeup(for: jobs)
        if wakeup == .inTransaction { statements.append("SELECT pg_notify(\(Self.channel), '')") }
        let count = try await client.transaction(statements)[0].affectedRows
        if wakeup == .afterTransaction { debouncer.transactionEnded(client: client) }
        return count
    }

    /// The same, where no `JobQueue` is at hand: the session's own client sends any trailing NOTIFY.
    @discardableResult
    public static func enqueue(_ job: NewJob, inTenantTransaction session: PostgresSession) async throws -> Int64? {
        try await JobQueue(client: session.client).enqueue(job, inTenantTransaction: session)
    }

    @discardableResult
    public static func enqueue(_ jobs: [NewJob], inTenantTransaction session: PostgresSession) async throws -> Int {
        try await JobQueue(client: session.client).enqueue(jobs, inTenantTransaction: session)
    }

    /// How an enqueue wakes idle workers (see `WakeupDebouncer`).
    enum Wakeup {
        /// Every job is due later: the workers' poll finds it.
        case none
        /// A NOTIFY in the enqueueing transaction, delivered at its commit.
        case inTransaction
        /// Another enqueue notified moments ago: a trailing NOTIFY once the transaction ends.
        case afterTransaction
    }

    private func wakeup(for jobs: [NewJob]) -> Wakeup {
        guard jobs.contains(where: { ($0.runAt?.timeIntervalSinceNow ?? 0) <= 1 }) else { return .none }
        return debouncer.shouldNotify(client: client) ? .inTransaction : .afterTransaction
    }

    private func wakeAfterTransaction(_ wakeup: Wakeup, of session: PostgresSession) {
        guard wakeup == .afterTransaction else { return }
        let (client, debouncer) = (self.client, self.debouncer)
        session.afterTransaction { debouncer.transactionEnded(client: client) }
    }

    func insert(_ job: NewJob, notify: Bool) -> [PostgresQuery] {
        var statements: [PostgresQuery] = [
            """
            INSERT INTO platform.jobs (tenant_id, kind, payload, run_at, max_attempts, unique_key)
            VALUES (\(job.tenantID), \(job.kind), \(PostgresJSONText(job.payloadJSON)),
                    coalesce(\(job.runAt)::timestamptz, now()), \(job.maxAttempts), \(job.uniqueKey))
            ON CONFLICT (coalesce(tenant_id, 0), unique_key) WHERE unique_key IS NOT NULL DO NOTHING
            RETURNING id
            """,
        ]
        // Delivered at commit, so a woken worker finds the row.
        if notify { statements.append("SELECT pg_notify(\(Self.channel), '')") }
        return statements
    }

    // MARK: Claiming

    /// Takes up to `limit` due jobs for this worker, fairly across tenants: each tenant with due
    /// jobs gets its oldest one before any tenant gets a second, and so on. A tenant alone gets
    /// the whole batch. SKIP LOCKED: two workers never take the same job nor wait for each other.
    ///
    /// The tenants with queued jobs are found by skipping along the `jobs_due` index (one probe
    /// per tenant, however many jobs each has), then each due tenant offers its oldest jobs not
    /// locked by another claimer (so two claimers at once take different jobs, not the same
    /// candidates twice); candidates not picked are unlocked when the statement ends.
    public func claim(worker: String, limit: Int, lease: Duration) async throws -> [Job] {
        try await client.query(Self.claimStatement(worker: worker, limit: limit, lease: lease)).map(Job.init(row:))
    }

    /// The claiming statement (public for the benchmark, which runs it under pgbench).
    public static func claimStatement(worker: String, limit: Int, lease: Duration) -> PostgresQuery {
        """
            WITH RECURSIVE tenants(tenant, first_due) AS (
                (SELECT coalesce(tenant_id, 0), run_at FROM platform.jobs WHERE state = 'queued'
                 ORDER BY coalesce(tenant_id, 0), run_at LIMIT 1)
                UNION ALL
                SELECT next.tenant, next.first_due FROM tenants t, LATERAL (
                    SELECT coalesce(tenant_id, 0) AS tenant, run_at AS first_due FROM platform.jobs
                    WHERE state = 'queued' AND coalesce(tenant_id, 0) > t.tenant
                    ORDER BY coalesce(tenant_id, 0), run_at LIMIT 1) next
            ),
            due AS (SELECT tenant FROM tenants WHERE first_due <= now()),
            share AS (SELECT greatest(2, 2 * ceil(\(limit)::float8 / greatest(count(*), 1)))::int AS n FROM due),
            candidates AS (
                SELECT c.id, c.run_at, row_number() OVER (PARTITION BY d.tenant ORDER BY c.run_at, c.id) AS turn
                FROM due d CROSS JOIN LATERAL (
                    SELECT id, run_at FROM platform.jobs
                    WHERE state = 'queued' AND coalesce(tenant_id, 0) = d.tenant AND run_at <= now()
                    ORDER BY run_at, id LIMIT (SELECT least(n, \(limit)) FROM share)
                    FOR UPDATE SKIP LOCKED) c
            ),
            picked AS (
                SELECT id AS picked_id FROM candidates ORDER BY turn, run_at, id LIMIT \(limit)
            )
            UPDATE platform.jobs j
            SET state = 'running', attempts = attempts + 1, locked_by = \(worker), started_at = now(),
                locked_until = now() + make_interval(secs => \(lease.seconds))
            FROM picked WHERE j.id = picked.picked_id
            RETURNING \(fragment: Job.columns)
            """
    }

    // MARK: Finishing

    /// Moves jobs this worker holds (at these attempts) to the history as succeeded. Returns the
    /// ids it moved: a job missing from it was no longer held (rescued meanwhile).
    @discardableResult
    public func complete(_ jobs: [Job], worker: String) async throws -> Set<Int64> {
        guard !jobs.isEmpty else { return [] }
        let rows = try await client.query(Self.finish(
            ids: jobs.map(\.id), attempts: jobs.map(\.attempt), worker: worker, state: .succeeded))
        return Set(try rows.map { try $0.decode(Int64.self, at: 0) })
    }

    @discardableResult
    public func complete(_ job: Job, worker: String) async throws -> Bool {
        try await complete([job], worker: worker).contains(job.id)
    }

    /// One statement that moves held running jobs to the history in `state`.
    static func finish(ids: [Int64], attempts: [Int], worker: String, state: JobState, error: String? = nil) -> PostgresQuery {
        let message: PostgresQuery = "left(\(error), 2000)"
        return """
            WITH done AS (
                DELETE FROM platform.jobs j
                USING unnest(\(ids)::bigint[], \(attempts.map(Int32.init))::int4[]) AS held(id, attempt)
                WHERE j.id = held.id AND j.attempts = held.attempt AND j.state = 'running' AND j.locked_by = \(worker)
                RETURNING j.*
            )
            \(fragment: intoHistory(from: "done", state: "\(state)",
                                     error: error == nil ? nil : message))
            RETURNING id
            """
    }

    /// Copies the rows of `source` (a CTE of deleted `platform.jobs` rows) into the history,
    /// finished now in `state`; `error`, if any, becomes the last error and joins the list.
    /// The one place that knows the history's columns.
    static func intoHistory(from source: PostgresQuery, state: PostgresQuery, error: PostgresQuery?) -> PostgresQuery {
        let lastError = error ?? "last_error"
        let errors = error.map(appendingError) ?? "errors"
        return """
            INSERT INTO platform.job_history
                (id, tenant_id, kind, payload, state, attempts, max_attempts, run_at, started_at, created_at,
                 finished_at, last_error, errors, unique_key)
            SELECT id, tenant_id, kind, payload, \(fragment: state), attempts, max_attempts, run_at, started_at, created_at,
                   now(), \(fragment: lastError), \(fragment: errors), unique_key
            FROM \(fragment: source)
            """
    }

    /// The job's error list with this attempt's error added.
    static func appendingError(_ message: PostgresQuery) -> PostgresQuery {
        "errors || jsonb_build_object('attempt', attempts, 'at', now(), 'error', \(fragment: message))"
    }

    /// Records a failed run: queued again after `retryAfter`, or discarded (kept in the history
    /// with its errors) once out of attempts, or at once when `discard` is set.
    /// Returns false if this worker no longer held the job.
    @discardableResult
    public func fail(_ job: Job, worker: String, error: String, retryAfter: Duration, discard: Bool = false) async throws -> Bool {
        if discard || job.attempt >= job.maxAttempts {
            let rows = try await client.query(Self.finish(
                ids: [job.id], attempts: [job.attempt], worker: worker, state: .discarded, error: error))
            return !rows.isEmpty
        }
        return try await client.query("""
            UPDATE platform.jobs
            SET state = 'queued', run_at = now() + make_interval(secs => \(retryAfter.seconds)),
                last_error = left(\(error), 2000), errors = \(fragment: Self.appendingError("left(\(error), 2000)")),
                locked_by = NULL, locked_until = NULL
            WHERE id = \(job.id) AND attempts = \(job.attempt) AND state = 'running' AND locked_by = \(worker)
            """).affectedRows == 1
    }

    // MARK: Leases

    /// Renews the leases of these jobs, if this worker still holds them. Only the jobs a worker
    /// is running now: one whose completion could not be recorded is let go, and rescued.
    public func heartbeat(_ ids: [Int64], worker: String, lease: Duration) async throws {
        guard !ids.isEmpty else { return }
        _ = try await client.query("""
            UPDATE platform.jobs SET locked_until = now() + make_interval(secs => \(lease.seconds))
            WHERE id = ANY(\(ids)::bigint[]) AND state = 'running' AND locked_by = \(worker)
            """)
    }

    /// Gives a held job back to the queue, due now, its attempt not counted (a run interrupted
    /// by shutdown, not a failure).
    public func release(_ job: Job, worker: String) async throws {
        _ = try await client.query("""
            UPDATE platform.jobs SET state = 'queued', attempts = attempts - 1, run_at = now(),
                   locked_by = NULL, locked_until = NULL
            WHERE id = \(job.id) AND attempts = \(job.attempt) AND state = 'running' AND locked_by = \(worker)
            """)
    }

    /// Jobs whose worker stopped renewing its lease (it died) go back to the queue, or are
    /// discarded if that was their last attempt. Returns how many were rescued. The row lock
    /// of a completion in progress makes this wait, then skip the job: it is gone.
    @discardableResult
    public func rescue() async throws -> Int {
        let message: PostgresQuery = "'the worker ' || coalesce(locked_by, '?') || ' stopped renewing its lease'"
        let rows = try await client.transaction([
            """
            UPDATE platform.jobs
            SET state = 'queued', run_at = now(), last_error = \(fragment: message),
                errors = \(fragment: Self.appendingError(message)), locked_by = NULL, locked_until = NULL
            WHERE state = 'running' AND locked_until < now() AND attempts < max_attempts
            """,
            """
            WITH lost AS (
                DELETE FROM platform.jobs WHERE state = 'running' AND locked_until < now() AND attempts >= max_attempts
                RETURNING *
            )
            \(fragment: Self.intoHistory(from: "lost", state: "'discarded'", error: message))
            """,
        ])
        return rows[0].affectedRows + rows[1].affectedRows
    }

    // MARK: Housekeeping

    /// Deletes finished jobs older than `retention` from the history, a batch at a time so no
    /// statement holds many locks or runs long. Returns how many went.
    @discardableResult
    public func prune(olderThan retention: Duration, batch: Int = 5000) async throws -> Int {
        var total = 0
        while true {
            let removed = try await client.query("""
                DELETE FROM platform.job_history WHERE id IN (
                    SELECT id FROM platform.job_history
                    WHERE finished_at < now() - make_interval(secs => \(retention.seconds))
                    LIMIT \(batch))
                """).affectedRows
            total += removed
            if removed < batch { return total }
        }
    }

    /// Queued (due or not) and running jobs, from the small table workers claim from.
    public func pendingCounts() async throws -> (queued: Int, running: Int) {
        let row = try await client.query("""
            SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running')
            FROM platform.jobs
            """).first
        return (try row?.decode(Int.self, at: 0) ?? 0, try row?.decode(Int.self, at: 1) ?? 0)
    }

    /// A job's state, attempts and last error (for tests and operators).
    public func status(of id: Int64) async throws -> (state: JobState, attempts: Int, lastError: String?)? {
        guard let row = try await client.query("""
            SELECT state, attempts, last_error FROM platform.jobs WHERE id = \(id)
            UNION ALL
            SELECT state, attempts, last_error FROM platform.job_history WHERE id = \(id)
            """).first
        else { return nil }
        return (try row.decode(at: 0), try row.decode(at: 1), try row.decode(at: 2))
    }
}

extension Duration {
    /// Seconds as a Double, for SQL intervals.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
