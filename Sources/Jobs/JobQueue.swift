import Foundation
import Postgres

/// The job table's operations. Every state change is one statement, guarded so that a worker
/// whose lease was taken over cannot overwrite what the new holder did.
public struct JobQueue: Sendable {
    /// Enqueueing notifies this channel; idle workers wake on it instead of waiting for a poll.
    public static let channel = "clientele_jobs"
    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Enqueues in its own transaction; returns nil when a pending job has the same unique key.
    @discardableResult
    public func enqueue(_ job: NewJob) async throws -> Int64? {
        let rows = try await client.transaction(Self.insert(job))
        return try rows[0].first?.decode(Int64.self, at: 0)
    }

    /// Enqueues inside the caller's transaction: the job exists only if that transaction commits.
    @discardableResult
    public func enqueue(_ job: NewJob, in session: PostgresSession) async throws -> Int64? {
        let rows = try await session.pipeline(Self.insert(job))
        return try rows[0].first?.decode(Int64.self, at: 0)
    }

    static func insert(_ job: NewJob) -> [PostgresQuery] {
        [
            """
            INSERT INTO platform.jobs (tenant_id, kind, payload, run_at, max_attempts, unique_key)
            VALUES (\(job.tenantID), \(job.kind), \(PostgresJSONText(job.payloadJSON)),
                    coalesce(\(job.runAt)::timestamptz, now()), \(job.maxAttempts), \(job.uniqueKey))
            ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'running') DO NOTHING
            RETURNING id
            """,
            // Delivered at commit, so a woken worker finds the row.
            "SELECT pg_notify(\(channel), \(job.kind))",
        ]
    }

    /// Takes up to `limit` due jobs for this worker. SKIP LOCKED: two workers never take the same
    /// job and never wait for each other.
    public func claim(worker: String, limit: Int, lease: Duration) async throws -> [Job] {
        try await client.query("""
            UPDATE platform.jobs
            SET state = 'running', attempts = attempts + 1, locked_by = \(worker),
                locked_until = clock_timestamp() + make_interval(secs => \(lease.seconds))
            WHERE id IN (
                SELECT id FROM platform.jobs
                WHERE state = 'queued' AND run_at <= clock_timestamp()
                ORDER BY run_at, id
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED)
            RETURNING \(fragment: Job.columns)
            """).map(Job.init(row:))
    }

    /// Marks the job done, if this worker still holds it. Returns false if it did not.
    @discardableResult
    public func complete(_ job: Job, worker: String) async throws -> Bool {
        try await client.query("""
            UPDATE platform.jobs SET state = 'succeeded', finished_at = now(), locked_by = NULL, locked_until = NULL
            WHERE id = \(job.id) AND state = 'running' AND locked_by = \(worker)
            """).affectedRows == 1
    }

    /// Records a failed run: queued again after `retryAfter`, or dead once out of attempts.
    @discardableResult
    public func fail(_ job: Job, worker: String, error: String, retryAfter: Duration) async throws -> Bool {
        try await client.query("""
            UPDATE platform.jobs
            SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
                run_at = clock_timestamp() + make_interval(secs => \(retryAfter.seconds)),
                last_error = left(\(error), 2000), locked_by = NULL, locked_until = NULL
            WHERE id = \(job.id) AND state = 'running' AND locked_by = \(worker)
            """).affectedRows == 1
    }

    /// Renews the leases of this worker's running jobs.
    public func heartbeat(worker: String, lease: Duration) async throws {
        try await client.query("""
            UPDATE platform.jobs SET locked_until = clock_timestamp() + make_interval(secs => \(lease.seconds))
            WHERE state = 'running' AND locked_by = \(worker)
            """)
    }

    /// Jobs whose worker stopped renewing its lease (it died) go back to the queue, or die if
    /// they used their last attempt. Returns how many were rescued.
    @discardableResult
    public func rescue() async throws -> Int {
        try await client.query("""
            UPDATE platform.jobs
            SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
                last_error = 'the worker ' || coalesce(locked_by, '?') || ' stopped renewing its lease',
                locked_by = NULL, locked_until = NULL, run_at = clock_timestamp()
            WHERE state = 'running' AND locked_until < clock_timestamp()
            """).affectedRows
    }

    /// A job's state, attempts and last error (for tests and operators).
    public func status(of id: Int64) async throws -> (state: JobState, attempts: Int, lastError: String?)? {
        guard let row = try await client.query(
            "SELECT state, attempts, last_error FROM platform.jobs WHERE id = \(id)").first
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
