import Foundation
import Postgres

/// What a client owes and pays (DOMAIN.md section 2: payments, delays and incidents). A
/// payment paid after its due date is `late`, set by the server, unless a worse incident
/// (a rejected payment, a litigation) is recorded; those carry the date they happened.
public struct Payment: Sendable, Hashable {
    public enum Means: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case card, cash, cheque, transfer
        case directDebit = "direct_debit"
        case other
    }

    public enum Incident: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case none, late, rejected, litigation

        /// Worse than late: kept whatever the dates say, and dated.
        var isDated: Bool { self == .rejected || self == .litigation }
    }

    public var id: UUID
    public var clientID: UUID
    public var purchaseID: UUID?
    public var amount: Decimal
    public var dueOn: PostgresDate
    public var paidOn: PostgresDate?
    public var means: Means?
    public var incident: Incident = .none
    public var incidentOn: PostgresDate?
    public var incidentNote: String?
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: PostgresQuery = """
        m.id, m.client_id, m.purchase_id, m.amount, m.due_on, m.paid_on, m.means, m.incident, m.incident_on,
        m.incident_note, m.created_at, m.updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        clientID = try row.decode(at: 1)
        purchaseID = try row.decode(at: 2)
        amount = try row.decode(at: 3)
        dueOn = try row.decode(at: 4)
        paidOn = try row.decode(at: 5)
        means = try row.decode(at: 6)
        incident = try row.decode(at: 7)
        incidentOn = try row.decode(at: 8)
        incidentNote = try row.decode(at: 9)
        createdAt = try row.decode(at: 10)
        updatedAt = try row.decode(at: 11)
    }

    init(id: UUID, clientID: UUID, amount: Decimal, dueOn: PostgresDate, now: Date) {
        self.id = id
        self.clientID = clientID
        self.amount = amount
        self.dueOn = dueOn
        createdAt = now
        updatedAt = now
    }

    /// Derives what the dates say: paid after the due date is late, paid on time is no
    /// incident; a rejection or litigation stays, dated today unless a date is given.
    mutating func settleIncident(today: PostgresDate, incidentOnGiven: Bool) throws {
        if incident.isDated {
            if incidentOn == nil { incidentOn = today }
            return
        }
        if incidentOnGiven, incidentOn != nil {
            throw ClientBaseError(.invalid, "incident_on applies to a rejected payment or a litigation only", field: "incident_on")
        }
        incidentOn = nil
        if let paidOn { incident = paidOn > dueOn ? .late : .none }
    }

    func validate() throws {
        guard amount > 0 else {
            throw ClientBaseError(.invalid, "amount must be more than 0", field: "amount")
        }
    }

    var auditSnapshot: AuditSnapshot {
        [
            "client_id": clientID.auditValue, "purchase_id": AuditValue(purchaseID), "amount": amount.auditValue,
            "due_on": dueOn.auditValue, "paid_on": AuditValue(paidOn), "means": AuditValue(means?.rawValue),
            "incident": incident.auditValue, "incident_on": AuditValue(incidentOn), "incident_note": AuditValue(incidentNote),
        ]
    }
}

/// The writable fields of a payment, as a POST or PATCH body carries them.
public struct PaymentChanges: Sendable, Hashable, Decodable {
    public var clientID: FieldChange<UUID> = .unchanged
    public var purchaseID: FieldChange<UUID> = .unchanged
    public var amount: FieldChange<Decimal> = .unchanged
    public var dueOn: FieldChange<PostgresDate> = .unchanged
    public var paidOn: FieldChange<PostgresDate> = .unchanged
    public var means: FieldChange<Payment.Means> = .unchanged
    public var incident: FieldChange<Payment.Incident> = .unchanged
    public var incidentOn: FieldChange<PostgresDate> = .unchanged
    public var incidentNote: FieldChange<String> = .unchanged

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder,
            writable: ["client_id", "purchase_id", "amount", "due_on", "paid_on", "means", "incident", "incident_on",
                       "incident_note"],
            readOnly: ["id", "created_at", "updated_at"])
        clientID = try body.id("client_id")
        purchaseID = try body.id("purchase_id")
        amount = try body.money("amount")
        dueOn = try body.date("due_on")
        paidOn = try body.date("paid_on")
        means = try body.enumeration("means")
        incident = try body.enumeration("incident")
        incidentOn = try body.date("incident_on")
        incidentNote = try body.text("incident_note", maximumLength: 2000)
    }

    /// `due_on` defaults to `paid_on` (a payment made on the spot).
    func newPayment(id: UUID, now: Date) throws -> Payment {
        guard let client = clientID.value else {
            throw ClientBaseError(.invalid, "field 'client_id' is required", field: "client_id")
        }
        guard let amount = amount.value else {
            throw ClientBaseError(.invalid, "field 'amount' is required", field: "amount")
        }
        guard let due = dueOn.value ?? paidOn.value else {
            throw ClientBaseError(.invalid, "field 'due_on' is required (or paid_on, for a payment made on the spot)", field: "due_on")
        }
        var payment = Payment(id: id, clientID: client, amount: amount, dueOn: due, now: now)
        try apply(to: &payment, today: Timestamps.today(now))
        return payment
    }

    func apply(to payment: inout Payment, today: PostgresDate) throws {
        try clientID.apply(to: &payment.clientID, name: "client_id")
        purchaseID.apply(to: &payment.purchaseID)
        try amount.apply(to: &payment.amount, name: "amount")
        try dueOn.apply(to: &payment.dueOn, name: "due_on")
        paidOn.apply(to: &payment.paidOn)
        means.apply(to: &payment.means)
        switch incident {
        case .set(let value): payment.incident = value
        case .cleared: payment.incident = .none
        case .unchanged: break
        }
        incidentOn.apply(to: &payment.incidentOn)
        incidentNote.apply(to: &payment.incidentNote)
        try payment.settleIncident(today: today, incidentOnGiven: !incidentOn.isUnchanged)
        try payment.validate()
    }
}
