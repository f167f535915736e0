import ClientBase
import Foundation
import Postgres

/// A churn alert: raised when a client's score crosses the tenant's threshold, then handled.
/// open → acknowledged → resolved (client kept) | lost (client left, with the exit reason);
/// open may go straight to resolved or lost. A client has at most one pending (open or
/// acknowledged) alert.
public struct ChurnAlert: Sendable, Hashable {
    public enum State: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case open, acknowledged, resolved, lost

        public var isPending: Bool { self == .open || self == .acknowledged }
    }

    /// Why a client left (research: the "client lost" taxonomy).
    public enum ExitReason: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case price, quality, service, competitor, moved
        case businessClosed = "business_closed"
        case noLongerNeeded = "no_longer_needed"
        case other
    }

    public var id: UUID
    public var clientID: UUID
    public var state: State
    /// The score and reasons when the alert was raised; reasons as stored (a JSON array).
    public var score: Int
    public var reasonsJSON: String
    /// The client's assigned user when the alert was raised.
    public var assignedUserID: UUID?
    public var raisedAt: Date
    public var acknowledgedAt: Date?
    public var acknowledgedBy: String?
    public var closedAt: Date?
    public var closedBy: String?
    public var exitReason: ExitReason?
    public var note: String?
    /// Counts the alert's changes: its ETag.
    public var revision: Int

    static let columns: PostgresQuery = """
        a.id, a.client_id, a.state, a.score, a.reasons, a.assigned_user_id, a.raised_at, a.acknowledged_at, a.acknowledged_by,
        a.closed_at, a.closed_by, a.exit_reason, a.note, a.revision
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        clientID = try row.decode(at: 1)
        state = try row.decode(at: 2)
        score = try row.decode(at: 3)
        reasonsJSON = try row.decode(PostgresJSONValue.self, at: 4).text
        assignedUserID = try row.decode(at: 5)
        raisedAt = try row.decode(at: 6)
        acknowledgedAt = try row.decode(at: 7)
        acknowledgedBy = try row.decode(at: 8)
        closedAt = try row.decode(at: 9)
        closedBy = try row.decode(at: 10)
        exitReason = try row.decode(at: 11)
        note = try row.decode(at: 12)
        revision = try row.decode(at: 13)
    }

    public var reasons: [ChurnReason.Code] { ChurnReason.codes(in: reasonsJSON) }

    var auditSnapshot: AuditSnapshot {
        ["state": state.auditValue, "exit_reason": AuditValue(exitReason?.rawValue), "note": AuditValue(note)]
    }
}

/// What handling an alert does.
public enum ChurnAlertAction: Sendable, Hashable {
    case acknowledge
    /// The client is kept; an optional note.
    case resolve(note: String?)
    /// The client left: why (required), and an optional note. Makes the client a former client.
    case lose(reason: ChurnAlert.ExitReason, note: String?)

    var target: ChurnAlert.State {
        switch self {
        case .acknowledge: .acknowledged
        case .resolve: .resolved
        case .lose: .lost
        }
    }

    var verb: String {
        switch self {
        case .acknowledge: "acknowledge"
        case .resolve: "resolve"
        case .lose: "lose"
        }
    }
}

/// The body of `POST /v1/alerts/{id}/resolve` (`note`) and `/lose` (`exit_reason`, `note`).
public struct ChurnAlertActionBody: Sendable, Hashable, Decodable {
    public var exitReason: ChurnAlert.ExitReason?
    public var note: String?

    public init(exitReason: ChurnAlert.ExitReason? = nil, note: String? = nil) {
        self.exitReason = exitReason
        self.note = note
    }

    public init(from decoder: any Decoder) throws {
        let body = try ChurnBody(decoder, writable: ["exit_reason", "note"])
        exitReason = try body.enumeration("exit_reason")
        note = try body.optionalText("note", maximumLength: 2000).value
    }

    /// Reads the body of a resolve (no exit reason) or a lose (an exit reason required).
    public func action(lose: Bool) throws -> ChurnAlertAction {
        if lose {
            guard let exitReason else {
                throw ClientBaseError(.invalid,
                    "exit_reason is required: one of \(ChurnAlert.ExitReason.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "exit_reason")
            }
            return .lose(reason: exitReason, note: note)
        }
        guard exitReason == nil else {
            throw ClientBaseError(.invalid, "exit_reason is for lose; a resolved alert kept its client", field: "exit_reason")
        }
        return .resolve(note: note)
    }
}

extension FieldChange {
    var value: Value? {
        if case .set(let value) = self { return value }
        return nil
    }
}
