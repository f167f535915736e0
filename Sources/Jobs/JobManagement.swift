import Foundation
import Postgres

/// A job as operators and tenants see it, pending or finished.
public struct JobRecord: Sendable {
    public var id: Int64
    public var tenantID: Int64?
    public var kind: String
    public var state: JobState
    public var attempts: Int
    public var maxAttempts: Int
    public var runAt: Date
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var lastError: String?
    /// Every failed attempt, oldest first: a JSON array of {attempt, at, error}.
    public var errorsJSON: String

    /// The columns of both tables, in this order (`platform.jobs` has no finished_at).
    static func columns(finished: Bool) -> PostgresQuery {
        """
        id, tenant_id, kind, state, attempts, max_attempts, run_at, created_at, started_at,
        \(unescaped: finished ? "finished_at" : "NULL::timestamptz"), last_error, errors
        """
    }

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        tenantID = try row.decode(at: 1)
        kind = try row.decode(at: 2)
        state = try row.decode(at: 3)
        attempts = try row.decode(at: 4)
        maxAttempts = try row.decode(at: 5)
        runAt = try row.decode(at: 6)
        createdAt = try row.decode(at: 7)
        startedAt = try row.decode(at: 8)
        finishedAt = try row.decode(at: 9)
        lastError = try row.decode(at: 10)
        errorsJSON = try row.decode(PostgresJSONValue.self, at: 11).text
    }
}

/// Why a management action was refused: the job is not in a state that allows it.
public struct JobStateConflict: Error, Sendable {
    public var job: JobRecord
    public var action: String
    public var reason: String?
    public var message: String { reason ?? "job \(job.id) is \(job.state.rawValue); it cannot be \(action)" }
}

/// Listing, cancelling, retrying and snoozing jobs. `tenantID` scopes each call to one tenant's
/// jobs (the API); nil reaches every job (the operator's CLI). Every change is one guarded
/// statement, so it cannot undo what a worker did meanwhile.
extension JobQueue {
    /// Newest first, pending and finished; `before` is the last id of the previous page.
    public func list(tenantID: Int64?, state: JobState? = nil, kind: String? = nil, limit: Int = 50, before: Int64? = nil) async throws -> [JobRecord] {
        let filter: PostgresQuery = """
            (\(tenantID)::bigint IS NULL OR tenant_id = \(tenantID))
            AND (\(state)::text IS NULL OR state = \(state))
            AND (\(kind)::text IS NULL OR kind = \(kind))
            AND (\(before)::bigint IS NULL OR id < \(before))
            """
        return try await client.query("""
            (SELECT \(fragment: JobRecord.columns(finished: false)) FROM platform.jobs
             WHERE \(fragment: filter) ORDER BY id DESC LIMIT \(limit))
            UNION ALL
            (SELECT \(fragment: JobRecord.columns(finished: true)) FROM platform.job_history
             WHERE \(fragment: filter) ORDER BY id DESC LIMIT \(limit))
            ORDER BY id DESC LIMIT \(limit)
            """).map(JobRecord.init(row:))
    }

    public func get(_ id: Int64, tenantID: Int64?) async throws -> JobRecord? {
        try await client.query("""
            SELECT \(fragment: JobRecord.columns(finished: false)) FROM platform.jobs
            WHERE id = \(id) AND (\(tenantID)::bigint IS NULL OR tenant_id = \(tenantID))
            UNION ALL
            SELECT \(fragment: JobRecord.columns(finished: true)) FROM platform.job_history
            WHERE id = \(id) AND (\(tenantID)::bigint IS NULL OR tenant_id = \(tenantID))
            """).first.map(JobRecord.init(row:))
    }

    /// A queued job is kept as cancelled and never runs. A running one cannot be: its worker
    /// holds it (the conflict says so).
    public func cancel(_ id: Int64, tenantID: Int64?) async throws -> JobRecord? {
        try await change(id, tenantID: tenantID, action: "cancelled", """
            WITH gone AS (DELETE FROM platform.jobs WHERE id = \(id) AND state = 'queued' RETURNING *)
            \(fragment: Self.intoHistory(from: "gone", state: "'cancelled'", error: nil))
            RETURNING \(fragment: JobRecord.columns(finished: true))
            """)
    }

    /// A discarded or cancelled job runs again, now, with its attempts counted afresh (its
    /// past errors are kept). Refused while another pending job has its unique key.
    public func retry(_ id: Int64, tenantID: Int64?) async throws -> JobRecord? {
        do {
            return try await change(id, tenantID: tenantID, action: "retried", """
                WITH back AS (
                    DELETE FROM platform.job_history WHERE id = \(id) AND state IN ('discarded', 'cancelled') RETURNING *)
                INSERT INTO platform.jobs
                    (id, tenant_id, kind, payload, state, attempts, max_attempts, run_at, created_at, last_error, errors, unique_key)
                OVERRIDING SYSTEM VALUE
                SELECT id, tenant_id, kind, payload, 'queued', 0, max_attempts, now(), created_at, last_error, errors, unique_key
                FROM back
                RETURNING \(fragment: JobRecord.columns(finished: false))
                """, notify: true)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            guard let job = try await get(id, tenantID: tenantID) else { return nil }
            throw JobStateConflict(job: job, action: "retried", reason: "another pending job of this tenant has the same unique key")
        }
    }

    /// A queued job waits until `until`.
    public func snooze(_ id: Int64, until: Date, tenantID: Int64?) async throws -> JobRecord? {
        try await change(id, tenantID: tenantID, action: "snoozed", """
            UPDATE platform.jobs SET run_at = \(until)
            WHERE id = \(id) AND state = 'queued' RETURNING \(fragment: JobRecord.columns(finished: false))
            """)
    }

    /// nil if no such job (in this tenant); the job as changed; or a conflict with its state.
    private func change(_ id: Int64, tenantID: Int64?, action: String, _ update: PostgresQuery, notify: Bool = false) async throws -> JobRecord? {
        guard let current = try await get(id, tenantID: tenantID) else { return nil }
        var statements = [update]
        if notify { statements.append("SELECT pg_notify(\(Self.channel), \(current.kind))") }
        let rows = try await client.transaction(statements)
        guard let row = rows[0].first else {
            throw JobStateConflict(job: try await get(id, tenantID: tenantID) ?? current, action: action)
        }
        return try JobRecord(row: row)
    }
}
