import Foundation
import Postgres

/// A periodic job: at each time its cron expression names, the scheduler enqueues a job of
/// `kind` with the schedule's payload (plus `schedule`, `schedule_id` and `scheduled_at`).
public struct JobSchedule: Sendable {
    public var id: Int64
    /// nil for a platform schedule.
    public var tenantID: Int64?
    public var tenantSlug: String?
    public var name: String
    public var kind: String
    /// The schedule's payload, a JSON object.
    public var payloadJSON: String
    public var cron: String
    /// The zone the cron expression is read in: its own, else its tenant's, else Europe/Paris.
    public var timeZone: String
    /// The zone the schedule names itself; nil when it follows its tenant's.
    public var ownTimeZone: String?
    /// nil when the expression never fires again.
    public var nextRunAt: Date?
    /// The scheduled time of the last tick enqueued.
    public var lastRunAt: Date?
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date

    /// Selects from `platform.job_schedules s LEFT JOIN platform.tenants t`.
    static let columns: PostgresQuery = """
        s.id, s.tenant_id, t.slug, s.name, s.kind, s.payload, s.cron,
        coalesce(s.time_zone, t.time_zone, \(JobSchedules.defaultTimeZone)), s.time_zone,
        s.next_run_at, s.last_run_at, s.enabled, s.created_at, s.updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        tenantID = try row.decode(at: 1)
        tenantSlug = try row.decode(at: 2)
        name = try row.decode(at: 3)
        kind = try row.decode(at: 4)
        payloadJSON = try row.decode(PostgresJSONValue.self, at: 5).text
        cron = try row.decode(at: 6)
        timeZone = try row.decode(at: 7)
        ownTimeZone = try row.decode(at: 8)
        nextRunAt = try row.decode(at: 9)
        lastRunAt = try row.decode(at: 10)
        enabled = try row.decode(at: 11)
        createdAt = try row.decode(at: 12)
        updatedAt = try row.decode(at: 13)
    }
}

/// Why a schedule was refused (`invalid`: callers answer 422, naming `field`) or not found.
public struct JobScheduleError: Error, Sendable, CustomStringConvertible {
    public enum Reason: Sendable { case invalid, notFound }
    public var reason: Reason
    /// "name", "kind", "payload", "cron", "time_zone" or "tenant".
    public var field: String?
    public var message: String
    public var description: String { message }

    init(_ reason: Reason, field: String?, _ message: String) {
        self.reason = reason
        self.field = field
        self.message = message
    }
}

/// The schedules' rows. A schedule is named per tenant (platform schedules among themselves);
/// `tenantID` nil means a platform schedule, except in `list`, where it means every schedule.
public struct JobSchedules: Sendable {
    /// The zone of platform schedules, and of tenants that chose none.
    public static let defaultTimeZone = "Europe/Paris"
    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Creates the schedule or replaces its definition, keeping its enabled state. Its next
    /// firing time is computed afresh only if the expression or its zone changed, so that
    /// declaring the same schedule at every start does not lose a tick that is due.
    /// `timeZone` nil: the tenant's zone (Europe/Paris for platform schedules).
    @discardableResult
    public func upsert(
        name: String, tenantID: Int64?, kind: String, payload: some Encodable & Sendable = [String: String](),
        cron: String, timeZone: String? = nil
    ) async throws -> JobSchedule {
        try Self.validate(name: name, kind: kind)
        let expression: CronExpression
        do {
            expression = try CronExpression(cron)
        } catch {
            throw JobScheduleError(.invalid, field: "cron", "invalid cron expression: \(error.message)")
        }
        if let timeZone { _ = try Self.zone(timeZone, field: "time_zone") }
        let payloadText = PostgresJSON(payload).postgresText
        guard payloadText.hasPrefix("{") else {
            throw JobScheduleError(.invalid, field: "payload", "the payload must be a JSON object")
        }
        return try await client.withTransaction { session in
            let (now, tenantZone) = try await Self.clockAndZone(tenantID: tenantID, in: session)
            let zone = try Self.zone(timeZone ?? tenantZone, field: timeZone == nil ? "tenant" : "time_zone")
            let next = expression.next(after: now, in: zone)
            let rows = try await session.pipeline([
                """
                WITH s AS (
                    INSERT INTO platform.job_schedules AS old (tenant_id, name, kind, payload, cron, time_zone, next_run_at)
                    VALUES (\(tenantID), \(name), \(kind), \(PostgresJSONText(payloadText)), \(expression.source), \(timeZone), \(next))
                    ON CONFLICT (tenant_id, name) DO UPDATE SET
                        kind = excluded.kind, payload = excluded.payload, cron = excluded.cron,
                        time_zone = excluded.time_zone, updated_at = now(),
                        next_run_at = CASE
                            WHEN old.cron = excluded.cron AND old.time_zone IS NOT DISTINCT FROM excluded.time_zone
                            THEN old.next_run_at ELSE excluded.next_run_at END
                    RETURNING *)
                SELECT \(fragment: JobSchedule.columns) FROM s LEFT JOIN platform.tenants t ON t.id = s.tenant_id
                """,
                "SELECT pg_notify(\(JobScheduler.channel), '')",
            ])
            return try JobSchedule(row: try Self.first(rows[0]))
        }
    }

    /// Deletes the schedule; false if there was none. Jobs it already enqueued stay.
    @discardableResult
    public func remove(name: String, tenantID: Int64?) async throws -> Bool {
        try await client.query("""
            DELETE FROM platform.job_schedules WHERE name = \(name) AND tenant_id IS NOT DISTINCT FROM \(tenantID)
            """).affectedRows == 1
    }

    /// By tenant (platform schedules first), then name. `tenantID` nil: every schedule.
    public func list(tenantID: Int64?) async throws -> [JobSchedule] {
        try await client.query("""
            SELECT \(fragment: JobSchedule.columns)
            FROM platform.job_schedules s LEFT JOIN platform.tenants t ON t.id = s.tenant_id
            WHERE \(tenantID)::bigint IS NULL OR s.tenant_id = \(tenantID)
            ORDER BY s.tenant_id NULLS FIRST, s.name
            """).map(JobSchedule.init(row:))
    }

    public func get(name: String, tenantID: Int64?) async throws -> JobSchedule? {
        try await client.query("""
            SELECT \(fragment: JobSchedule.columns)
            FROM platform.job_schedules s LEFT JOIN platform.tenants t ON t.id = s.tenant_id
            WHERE s.name = \(name) AND s.tenant_id IS NOT DISTINCT FROM \(tenantID)
            """).first.map(JobSchedule.init(row:))
    }

    /// Stops the schedule firing; nil if there is no such schedule.
    @discardableResult
    public func disable(name: String, tenantID: Int64?) async throws -> JobSchedule? {
        try await client.query("""
            WITH s AS (
                UPDATE platform.job_schedules SET enabled = false, updated_at = now()
                WHERE name = \(name) AND tenant_id IS NOT DISTINCT FROM \(tenantID) RETURNING *)
            SELECT \(fragment: JobSchedule.columns) FROM s LEFT JOIN platform.tenants t ON t.id = s.tenant_id
            """).first.map(JobSchedule.init(row:))
    }

    /// Lets the schedule fire again from its next time after now: ticks that fell while it was
    /// disabled are not caught up. nil if there is no such schedule.
    @discardableResult
    public func enable(name: String, tenantID: Int64?) async throws -> JobSchedule? {
        try await client.withTransaction { session -> JobSchedule? in
            guard let row = try await session.query("""
                SELECT s.id, s.cron, coalesce(s.time_zone, t.time_zone, \(Self.defaultTimeZone)), s.enabled, now()
                FROM platform.job_schedules s LEFT JOIN platform.tenants t ON t.id = s.tenant_id
                WHERE s.name = \(name) AND s.tenant_id IS NOT DISTINCT FROM \(tenantID)
                FOR UPDATE OF s
                """).first else { return nil }
            let id: Int64 = try row.decode(at: 0)
            var next: Date?
            if try !row.decode(Bool.self, at: 3) {
                let expression = try CronExpression(try row.decode(String.self, at: 1))
                let zone = try Self.zone(try row.decode(at: 2), field: "time_zone")
                next = expression.next(after: try row.decode(at: 4), in: zone)
            }
            let rows = try await session.pipeline([
                """
                WITH s AS (
                    UPDATE platform.job_schedules
                    SET next_run_at = CASE WHEN enabled THEN next_run_at ELSE \(next) END,
                        enabled = true, updated_at = now()
                    WHERE id = \(id) RETURNING *)
                SELECT \(fragment: JobSchedule.columns) FROM s LEFT JOIN platform.tenants t ON t.id = s.tenant_id
                """,
                "SELECT pg_notify(\(JobScheduler.channel), '')",
            ])
            return try JobSchedule(row: try Self.first(rows[0]))
        }
    }

    // MARK: Checks

    static func validate(name: String, kind: String) throws {
        for (field, value) in [("name", name), ("kind", kind)] {
            guard (1...100).contains(value.count), value.trimmingCharacters(in: .whitespacesAndNewlines) == value,
                  !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                throw JobScheduleError(.invalid, field: field,
                    "the \(field) must be 1 to 100 characters, without surrounding spaces or control characters")
            }
        }
    }

    /// The zone of this IANA name, or an error naming the field.
    static func zone(_ identifier: String, field: String) throws -> TimeZone {
        guard let zone = TimeZone(identifier: identifier) else {
            throw JobScheduleError(.invalid, field: field,
                "'\(identifier)' is not a known time zone (use an IANA name like Europe/Paris)")
        }
        return zone
    }

    /// The database clock, and the tenant's zone (the default for platform schedules).
    static func clockAndZone(tenantID: Int64?, in session: PostgresSession) async throws -> (Date, String) {
        let row = try Self.first(try await session.query("""
            SELECT now(), (SELECT time_zone FROM platform.tenants WHERE id = \(tenantID)),
                   \(tenantID)::bigint IS NULL OR EXISTS (SELECT FROM platform.tenants WHERE id = \(tenantID))
            """))
        guard try row.decode(Bool.self, at: 2) else {
            throw JobScheduleError(.notFound, field: "tenant", "no tenant with id \(tenantID ?? 0)")
        }
        return (try row.decode(at: 0), try row.decode(String?.self, at: 1) ?? defaultTimeZone)
    }

    static func first(_ rows: PostgresRows) throws -> PostgresRow {
        guard let row = rows.first else { throw PostgresError(.missingColumn, "the statement returned no row") }
        return row
    }
}

extension JobSchedules {
    /// Sets a tenant's time zone and, in the same transaction, moves the next firing time of
    /// each of its schedules that follow the tenant's zone (those with no zone of their own):
    /// "every day at 9:00" means 9:00 in the new zone from the next tick on. Returns how many
    /// schedules moved. The zone must be a known IANA name.
    @discardableResult
    public static func setTenantTimeZone(_ identifier: String, tenantID: Int64, in session: PostgresSession) async throws -> Int {
        let zone = try Self.zone(identifier, field: "time_zone")
        let rows = try await session.pipeline([
            "UPDATE platform.tenants SET time_zone = \(identifier) WHERE id = \(tenantID)",
            """
            SELECT s.id, s.cron, now() FROM platform.job_schedules s
            WHERE s.tenant_id = \(tenantID) AND s.time_zone IS NULL ORDER BY s.id FOR UPDATE
            """,
        ])
        var moved = 0
        for row in rows[1] {
            let (id, cron, now) = (try row.decode(Int64.self, at: 0), try row.decode(String.self, at: 1), try row.decode(Date.self, at: 2))
            // A stored expression was valid when stored; one that no longer parses keeps its time.
            guard let expression = try? CronExpression(cron) else { continue }
            let next = expression.next(after: now, in: zone)
            _ = try await session.query("UPDATE platform.job_schedules SET next_run_at = \(next), updated_at = now() WHERE id = \(id)")
            moved += 1
        }
        if moved > 0 { _ = try await session.query("SELECT pg_notify(\(JobScheduler.channel), '')") }
        return moved
    }
}
