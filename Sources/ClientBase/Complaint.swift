import Foundation
import Postgres

/// A complaint or an after-sales case (réclamation, SAV; DOMAIN.md section 2). A closed case
/// (resolved or rejected) has the date it closed; `disputed` is a case in litigation. The time
/// spent handling it is what a difficult client costs (DOMAIN.md section 3).
public struct Complaint: Sendable, Hashable {
    public enum Category: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case productQuality = "product_quality", delivery, billing, service
        case afterSales = "after_sales"
        case other
    }

    public enum Status: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case open
        case inProgress = "in_progress"
        case resolved, rejected, disputed

        var isClosed: Bool { self == .resolved || self == .rejected }
    }

    public var id: UUID
    public var clientID: UUID
    public var purchaseID: UUID?
    public var openedOn: PostgresDate
    public var category: Category
    public var status: Status = .open
    public var resolvedOn: PostgresDate?
    public var description: String?
    public var handlingMinutes: Int = 0
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: PostgresQuery = """
        k.id, k.client_id, k.purchase_id, k.opened_on, k.category, k.status, k.resolved_on, k.description,
        k.handling_minutes, k.created_at, k.updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        clientID = try row.decode(at: 1)
        purchaseID = try row.decode(at: 2)
        openedOn = try row.decode(at: 3)
        category = try row.decode(at: 4)
        status = try row.decode(at: 5)
        resolvedOn = try row.decode(at: 6)
        description = try row.decode(at: 7)
        handlingMinutes = try row.decode(at: 8)
        createdAt = try row.decode(at: 9)
        updatedAt = try row.decode(at: 10)
    }

    init(id: UUID, clientID: UUID, category: Category, openedOn: PostgresDate, now: Date) {
        self.id = id
        self.clientID = clientID
        self.category = category
        self.openedOn = openedOn
        createdAt = now
        updatedAt = now
    }

    func validate() throws {
        if status.isClosed, resolvedOn == nil {
            throw ClientBaseError(.invalid, "a \(status.rawValue) complaint needs resolved_on, the date it closed", field: "resolved_on")
        }
        if !status.isClosed, resolvedOn != nil {
            throw ClientBaseError(.invalid, "resolved_on applies to a resolved or rejected complaint only", field: "resolved_on")
        }
        if let resolvedOn, resolvedOn < openedOn {
            throw ClientBaseError(.invalid, "resolved_on is before opened_on", field: "resolved_on")
        }
        guard (0...1_000_000).contains(handlingMinutes) else {
            throw ClientBaseError(.invalid, "handling_minutes must be a whole number of minutes from 0 to 1000000", field: "handling_minutes")
        }
    }

    var auditSnapshot: AuditSnapshot {
        [
            "client_id": clientID.auditValue, "purchase_id": AuditValue(purchaseID), "opened_on": openedOn.auditValue,
            "category": category.auditValue, "status": status.auditValue, "resolved_on": AuditValue(resolvedOn),
            "description": AuditValue(description), "handling_minutes": .integer(handlingMinutes),
        ]
    }
}

/// The writable fields of a complaint, as a POST or PATCH body carries them.
public struct ComplaintChanges: Sendable, Hashable, Decodable {
    public var clientID: FieldChange<UUID> = .unchanged
    public var purchaseID: FieldChange<UUID> = .unchanged
    public var openedOn: FieldChange<PostgresDate> = .unchanged
    public var category: FieldChange<Complaint.Category> = .unchanged
    public var status: FieldChange<Complaint.Status> = .unchanged
    public var resolvedOn: FieldChange<PostgresDate> = .unchanged
    public var description: FieldChange<String> = .unchanged
    public var handlingMinutes: FieldChange<Int> = .unchanged

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder,
            writable: ["client_id", "purchase_id", "opened_on", "category", "status", "resolved_on", "description",
                       "handling_minutes"],
            readOnly: ["id", "created_at", "updated_at"])
        clientID = try body.id("client_id")
        purchaseID = try body.id("purchase_id")
        openedOn = try body.date("opened_on")
        category = try body.enumeration("category")
        status = try body.enumeration("status")
        resolvedOn = try body.date("resolved_on")
        description = try body.text("description", maximumLength: 4000)
        handlingMinutes = try body.integer("handling_minutes")
    }

    func newComplaint(id: UUID, now: Date) throws -> Complaint {
        guard let client = clientID.value else {
            throw ClientBaseError(.invalid, "field 'client_id' is required", field: "client_id")
        }
        guard let category = category.value else {
            let allowed = Complaint.Category.allCases.map(\.rawValue).joined(separator: ", ")
            throw ClientBaseError(.invalid, "field 'category' is required (\(allowed))", field: "category")
        }
        var complaint = Complaint(id: id, clientID: client, category: category, openedOn: Timestamps.today(now), now: now)
        try apply(to: &complaint)
        return complaint
    }

    func apply(to complaint: inout Complaint) throws {
        try clientID.apply(to: &complaint.clientID, name: "client_id")
        purchaseID.apply(to: &complaint.purchaseID)
        try openedOn.apply(to: &complaint.openedOn, name: "opened_on")
        try category.apply(to: &complaint.category, name: "category")
        try status.apply(to: &complaint.status, name: "status")
        // Reopening a closed case drops its closing date, unless the request gives one.
        if let status = status.value, !status.isClosed, resolvedOn.isUnchanged { complaint.resolvedOn = nil }
        resolvedOn.apply(to: &complaint.resolvedOn)
        description.apply(to: &complaint.description)
        if case .cleared = handlingMinutes { complaint.handlingMinutes = 0 }
        if let minutes = handlingMinutes.value { complaint.handlingMinutes = minutes }
        try complaint.validate()
    }
}
