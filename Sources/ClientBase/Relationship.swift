import Foundation
import Postgres

/// A tie between two client records (DOMAIN.md section 1): from buys for, prescribes to,
/// referred (brought in), is a member of, or influences to. A member of an organisation has a
/// function and a role in its buying centre.
public struct Relationship: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case buysFor = "buys_for"
        case prescribesTo = "prescribes_to"
        case referred
        case memberOf = "member_of"
        case influences
    }

    /// The buying centre: a business's (decider, buyer, user, prescriber or expert,
    /// influencer) and a public body's (user, technical service, procurement office, public
    /// accountant).
    public enum BuyingRole: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case decider, buyer, user, prescriber, influencer
        case technicalService = "technical_service"
        case procurementOffice = "procurement_office"
        case publicAccountant = "public_accountant"

        static func allowed(in kind: Client.Kind) -> [BuyingRole] {
            switch kind {
            case .business: [.decider, .buyer, .user, .prescriber, .influencer]
            case .publicBody: [.user, .technicalService, .procurementOffice, .publicAccountant]
            case .individual: []
            }
        }
    }

    public var id: UUID
    public var fromClientID: UUID
    public var toClientID: UUID
    public var type: Kind
    /// For member_of: the person's function in the organisation (free text).
    public var function: String?
    public var buyingRole: BuyingRole?
    public var since: PostgresDate?
    public var until: PostgresDate?
    public var note: String?
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: PostgresQuery = """
        r.id, r.from_client_id, r.to_client_id, r.type, r.function, r.buying_role, r.since, r.until, r.note,
        r.created_at, r.updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        fromClientID = try row.decode(at: 1)
        toClientID = try row.decode(at: 2)
        type = try row.decode(at: 3)
        function = try row.decode(at: 4)
        buyingRole = try row.decode(at: 5)
        since = try row.decode(at: 6)
        until = try row.decode(at: 7)
        note = try row.decode(at: 8)
        createdAt = try row.decode(at: 9)
        updatedAt = try row.decode(at: 10)
    }

    init(id: UUID, fromClientID: UUID, toClientID: UUID, type: Kind, now: Date) {
        self.id = id
        self.fromClientID = fromClientID
        self.toClientID = toClientID
        self.type = type
        createdAt = now
        updatedAt = now
    }

    var auditSnapshot: AuditSnapshot {
        [
            "from_client_id": fromClientID.auditValue, "to_client_id": toClientID.auditValue, "type": type.auditValue,
            "function": AuditValue(function), "buying_role": AuditValue(buyingRole?.rawValue),
            "since": AuditValue(since), "until": AuditValue(until), "note": AuditValue(note),
        ]
    }

    /// The rules, given the kind of the client it points to.
    func validate(toKind: Client.Kind) throws {
        guard fromClientID != toClientID else {
            throw ClientBaseError(.invalid, "a client cannot be related to itself", field: "to_client_id")
        }
        if type == .memberOf {
            guard toKind != .individual else {
                throw ClientBaseError(.invalid,
                    "member_of points to an organisation (a business or a public body), not an individual", field: "to_client_id")
            }
            if let buyingRole, !BuyingRole.allowed(in: toKind).contains(buyingRole) {
                let allowed = BuyingRole.allowed(in: toKind).map(\.rawValue).joined(separator: ", ")
                throw ClientBaseError(.invalid,
                    "buying_role in a \(toKind.rawValue) must be one of: \(allowed)", field: "buying_role")
            }
        } else {
            if function != nil {
                throw ClientBaseError(.invalid, "function applies to a member_of relationship only", field: "function")
            }
            if buyingRole != nil {
                throw ClientBaseError(.invalid, "buying_role applies to a member_of relationship only", field: "buying_role")
            }
        }
        if let since, let until, until < since {
            throw ClientBaseError(.invalid, "until is before since", field: "until")
        }
    }
}

/// The writable fields of a relationship, as a POST or PATCH body carries them.
public struct RelationshipChanges: Sendable, Hashable, Decodable {
    public var fromClientID: FieldChange<UUID> = .unchanged
    public var toClientID: FieldChange<UUID> = .unchanged
    public var type: FieldChange<Relationship.Kind> = .unchanged
    public var function: FieldChange<String> = .unchanged
    public var buyingRole: FieldChange<Relationship.BuyingRole> = .unchanged
    public var since: FieldChange<PostgresDate> = .unchanged
    public var until: FieldChange<PostgresDate> = .unchanged
    public var note: FieldChange<String> = .unchanged

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder,
            writable: ["from_client_id", "to_client_id", "type", "function", "buying_role", "since", "until", "note"],
            readOnly: ["id", "created_at", "updated_at"])
        fromClientID = try body.id("from_client_id")
        toClientID = try body.id("to_client_id")
        type = try body.enumeration("type")
        function = try body.text("function")
        buyingRole = try body.enumeration("buying_role")
        since = try body.date("since")
        until = try body.date("until")
        note = try body.text("note", maximumLength: 2000)
    }

    func newRelationship(id: UUID, now: Date) throws -> Relationship {
        guard let from = fromClientID.value else {
            throw ClientBaseError(.invalid, "field 'from_client_id' is required", field: "from_client_id")
        }
        guard let to = toClientID.value else {
            throw ClientBaseError(.invalid, "field 'to_client_id' is required", field: "to_client_id")
        }
        guard let type = type.value else {
            let allowed = Relationship.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw ClientBaseError(.invalid, "field 'type' is required (\(allowed))", field: "type")
        }
        var relationship = Relationship(id: id, fromClientID: from, toClientID: to, type: type, now: now)
        try apply(to: &relationship)
        return relationship
    }

    func apply(to relationship: inout Relationship) throws {
        try fromClientID.apply(to: &relationship.fromClientID, name: "from_client_id")
        try toClientID.apply(to: &relationship.toClientID, name: "to_client_id")
        try type.apply(to: &relationship.type, name: "type")
        function.apply(to: &relationship.function)
        buyingRole.apply(to: &relationship.buyingRole)
        since.apply(to: &relationship.since)
        until.apply(to: &relationship.until)
        note.apply(to: &relationship.note)
    }
}
