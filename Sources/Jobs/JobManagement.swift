import Foundation
import Postgres

/// A job as operators and tenants see it.
public struct JobRecord: Sendable {
    public var id: Int64
    public var tenantID: Int64?
    public var kind: String
    public var state: JobState
    public var attempts: Int
    public var maxAttempts: Int
    public var runAt: Date
    public var createdAt: Date
    public var finishedAt: Date?
    public var lastError: String?

    static let columns: PostgresQuery =
        "id, tenant_id, kind, state, attempts, max_attempts, run_at, created_at, finished_at, last_error"

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        tenantID = try row.decode(at: 1)
        kind = try row.decode(at: 2)
        state = try row.decode(at: 3)
        attempts = try row.decode(at: 4)
        maxAttempts = try row.decode(at: 5)
        runAt = try row.decode(at: 6)
        createdAt = try row.decode(at: 7)
        finishedAt = try row.decode(at: 8)
        lastError = try row.decode(at: 9)
    }
}

/// Why a management action was refused: the job is not in a state that allows it.
public struct JobStateConflict: Error, Sendable {
    public var job: JobRecord
    public var action: String
    public var message: String { "job \(job.id) is \(job.state.rawValue); it cannot be \(action)" }
}

/// Listing, cancelling, retrying and snoozing jobs. `tenantID` scopes each call to one tenant's
/// jobs (the API); nil reaches every job (the operator's CLI). Every change is one guarded
/// statement, so it cannot undo what a worker did meanwhile.
extension JobQueue {
    /// Newest first; `before` is the last id of the previous page.
    public func list(tenantID: Int64?, state: JobState? = nil, kind: String? = nil, limit: Int = 50, before: Int64? = nil) async throws -> [JobRecord] {
        try await client.query("""
            SELECT \(fragment: JobRecord.columns) FROM platform.jobs
            WHERE (\(tenantID)::bigint IS NULL OR tenant_id = \(tenantID))
              AND (\(state)::text IS NULL OR state = \(state))
              AND (\(kind)::text IS NULL OR kind = \(kind))
              AND (\(before)::bigint IS NULL OR id < \(before))
            ORDER BY id DESC LIMIT \(limit)
            """).map(JobRecord.init(row:))
    }

    public func get(_ id: Int64, tenantID: Int64?) async throws -> JobRecord? {
        try await client.query("""
            SELECT \(fragment: JobRecord.columns) FROM platform.jobs
            WHERE id = \(id) AND (\(tenantID)::bigint IS NULL OR tenant_id = \(tenantID))
            """).first.map(JobRecord.init(row:))
    }

    /// A queued job is kept as cancelled and never runs. A running one cannot be: its worker
    /// holds it (the conflict says so).
    public func cancel(_ id: Int64, tenantID: Int64?) async throws -> JobRecord? {
        try await change(id, tenantID: tenantID, action: "cancelled", """
            UPDATE platform.jobs SET state = 'cancelled', finished_at = now()
            WHERE id = \(id) AND state = 'queued' RETURNING \(fragment: JobRecord.columns)
            """)
    }

    /// A dead or cancelled job runs again, now, with its attempts counted afresh.
    public func retry(_ id: Int64, tenantID: Int64?) async throws -> JobRecord? {
        try await change(id, tenantID: tenantID, action: "retried", """
            UPDATE platform.jobs SET state = 'queued', attempts = 0, run_at = now(), finished_at = NULL
            WHERE id = \(id) AND state IN ('dead', 'cancelled') RETURNING \(fragment: JobRecord.columns)
            """, notify: true)
    }

    /// A queued job waits until `until`.
    public func snooze(_ id: Int64, until: Date, tenantID: Int64?) async throws -> JobRecord? {
        try await change(id, tenantID: tenantID, action: "snoozed", """
            UPDATE platform.jobs SET run_at = \(until)
            WHERE id = \(id) AND state = 'queued' RETURNING \(fragment: JobRecord.columns)
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
