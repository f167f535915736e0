import ClientBase
import Foundation
import Postgres
import Tenancy

/// Reads and handles churn alerts. Everyone who reads clients reads alerts (an agent: those of
/// the clients assigned to them, else "not found"); managers and up handle them.
public struct ChurnAlertRepository: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public struct Filter: Sendable {
        public static let maximumLimit = 200
        public var state: ChurnAlert.State?
        public var assignedUserID: UUID?
        public var minimumScore: Int?
        public var clientID: UUID?
        public var limit = 50
        /// The last id of the previous page (newest first).
        public var before: UUID?

        public init(state: ChurnAlert.State? = nil, assignedUserID: UUID? = nil, minimumScore: Int? = nil,
                    clientID: UUID? = nil, limit: Int = 50, before: UUID? = nil) {
            self.state = state
            self.assignedUserID = assignedUserID
            self.minimumScore = minimumScore
            self.clientID = clientID
            self.limit = limit
            self.before = before
        }
    }

    /// `FROM churn_alerts a` joined to the clients the actor may see.
    static func visible(to actor: Actor) -> PostgresQuery {
        """
        churn_alerts a JOIN clients c ON c.id = a.client_id AND \(fragment: actor.access.condition(column: "c.assigned_user_id"))
        """
    }

    /// Newest first; `nextCursor` is set when there is another page.
    public func list(_ filter: Filter, as actor: Actor) async throws -> (items: [ChurnAlert], nextCursor: String?) {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: ChurnAlert.columns) FROM \(fragment: Self.visible(to: actor))
            WHERE (\(filter.state)::text IS NULL OR a.state = \(filter.state))
              AND (\(filter.assignedUserID)::uuid IS NULL OR a.assigned_user_id = \(filter.assignedUserID))
              AND (\(filter.minimumScore)::int IS NULL OR a.score >= \(filter.minimumScore))
              AND (\(filter.clientID)::uuid IS NULL OR a.client_id = \(filter.clientID))
              AND (\(filter.before)::uuid IS NULL OR a.id < \(filter.before))
            ORDER BY a.id DESC LIMIT \(filter.limit + 1)
            """,
        ])
        var alerts = try rows[0].map(ChurnAlert.init(row:))
        var next: String?
        if alerts.count > filter.limit {
            alerts.removeLast()
            next = alerts.last.map { IDCursor.encode($0.id) }
        }
        return (alerts, next)
    }

    public func get(_ id: UUID, as actor: Actor) async throws -> ChurnAlert {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: ChurnAlert.columns) FROM \(fragment: Self.visible(to: actor)) WHERE a.id = \(id)",
        ])
        guard let row = rows[0].first else { throw Self.notFound(id) }
        return try ChurnAlert(row: row)
    }

    /// Moves the alert on: acknowledge (open only), resolve or lose (open or acknowledged); any
    /// other move is a 409. With `ifRevisionIn` (If-Match), refused (412) unless the alert is
    /// still at one of those revisions. Losing makes the client a former client, with the exit
    /// reason as the category reason, through the client base's own category change.
    public func act(
        _ id: UUID, _ action: ChurnAlertAction, as actor: Actor, ifRevisionIn expected: Set<Int>? = nil
    ) async throws -> ChurnAlert {
        try actor.require(.manageAlerts)
        return try await database.withTenantTransaction(actor.scope) { session in
            let current = try await session.query("""
                SELECT \(fragment: ChurnAlert.columns) FROM \(fragment: Self.visible(to: actor))
                WHERE a.id = \(id) FOR UPDATE OF a
                """)
            guard let row = current.first else { throw Self.notFound(id) }
            let before = try ChurnAlert(row: row)
            if let expected, !expected.contains(before.revision) {
                throw ClientBaseError(.staleRevision,
                    "the alert changed since you read it (it is now at revision \(before.revision)); read it again")
            }
            let allowed = action == .acknowledge ? before.state == .open : before.state.isPending
            guard allowed else {
                throw ClientBaseError(.conflict,
                    "an alert that is \(before.state.rawValue) cannot be \(action.target.rawValue)", field: "state")
            }
            var alert = before
            alert.state = action.target
            switch action {
            case .acknowledge:
                break
            case .resolve(let note):
                alert.note = note ?? before.note
            case .lose(let reason, let note):
                alert.exitReason = reason
                alert.note = note ?? before.note
                var changes = ClientChanges()
                changes.category = .set(.formerClient)
                changes.categoryReason = .set(note.map { "\(reason.rawValue): \($0)" } ?? reason.rawValue)
                _ = try await ClientRepository(database: database).update(alert.clientID, changes, as: actor, in: session)
            }
            let acknowledging = action == .acknowledge
            let rows = try await session.pipeline([
                """
                UPDATE churn_alerts a SET state = \(alert.state), note = \(alert.note), exit_reason = \(alert.exitReason),
                    acknowledged_at = CASE WHEN \(acknowledging) THEN now() ELSE acknowledged_at END,
                    acknowledged_by = CASE WHEN \(acknowledging) THEN \(actor.label) ELSE acknowledged_by END,
                    closed_at = CASE WHEN \(acknowledging) THEN NULL ELSE now() END,
                    closed_by = CASE WHEN \(acknowledging) THEN NULL ELSE \(actor.label) END,
                    revision = revision + 1
                WHERE a.id = \(id)
                RETURNING \(fragment: ChurnAlert.columns)
                """,
                AuditLog.entry(by: actor, action: action.verb, entity: "churn_alert", id: id.auditID,
                               before: before.auditSnapshot, after: alert.auditSnapshot),
            ])
            return try ChurnAlert(row: rows[0][0])
        }
    }

    static func notFound(_ id: UUID) -> ClientBaseError {
        ClientBaseError(.notFound, "no alert with id \(id.auditID)")
    }
}

/// A client's churn risk as `GET /v1/clients/{id}/churn` shows it.
public struct ClientChurn: Sendable, Hashable {
    public struct Change: Sendable, Hashable {
        public var score: Int
        public var reasonsJSON: String
        public var at: Date
    }

    public var clientID: UUID
    public var score: Int
    /// The current reasons, a JSON array (`[]` for none).
    public var reasonsJSON: String
    /// When the score or reasons last changed; nil if the client never had a reason.
    public var changedAt: Date?
    /// Newest first, at most `historyLimit`.
    public var history: [Change]
    /// The pending (open or acknowledged) alert, if any.
    public var pendingAlertID: UUID?

    public static let historyLimit = 100
}

extension ChurnAlertRepository {
    /// The client's current score, reasons and score history (readable by whoever reads the client).
    public func churn(of clientID: UUID, as actor: Actor) async throws -> ClientChurn {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT 1 FROM clients c WHERE c.id = \(clientID) AND \(fragment: actor.access.condition(column: "c.assigned_user_id"))",
            "SELECT score, reasons, changed_at FROM churn_scores WHERE client_id = \(clientID)",
            """
            SELECT score, reasons, at FROM churn_score_history WHERE client_id = \(clientID)
            ORDER BY id DESC LIMIT \(ClientChurn.historyLimit)
            """,
            "SELECT id FROM churn_alerts WHERE client_id = \(clientID) AND state IN ('open', 'acknowledged')",
        ])
        guard !rows[0].isEmpty else {
            throw ClientBaseError(.notFound, "no client with id \(clientID.auditID)")
        }
        let current = rows[1].first
        return ClientChurn(
            clientID: clientID, score: try current?.decode(Int.self, at: 0) ?? 0,
            reasonsJSON: try current?.decode(PostgresJSONValue.self, at: 1).text ?? "[]",
            changedAt: try current?.decode(Date.self, at: 2),
            history: try rows[2].map {
                ClientChurn.Change(score: try $0.decode(at: 0), reasonsJSON: try $0.decode(PostgresJSONValue.self, at: 1).text,
                                   at: try $0.decode(at: 2))
            },
            pendingAlertID: try rows[3].first?.decode(UUID.self, at: 0))
    }
}
