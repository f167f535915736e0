import Foundation
import Postgres

/// A purchase (DOMAIN.md section 1): one buyer, one payer (the buyer unless said otherwise),
/// zero or more consumers, each a client record. Its amount is given, or computed from its
/// lines with the margin.
public struct Purchase: Sendable, Hashable {
    public enum Channel: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case inStore = "in_store", phone, web, email
        case fieldVisit = "field_visit"
        case marketplace, other
    }

    /// DOMAIN.md section 2: how the client decided.
    public enum PurchaseType: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case considered, impulse
        case `repeat`
    }

    /// One thing bought. Its total is rounded to the cent, as an invoice line is.
    public struct Line: Sendable, Hashable {
        public var description: String
        public var quantity: Decimal
        public var unitPrice: Decimal
        public var unitCost: Decimal?

        public init(description: String, quantity: Decimal, unitPrice: Decimal, unitCost: Decimal? = nil) {
            self.description = description
            self.quantity = quantity
            self.unitPrice = unitPrice
            self.unitCost = unitCost
        }

        public var amount: Decimal { Money.rounded(quantity * unitPrice) }
        public var cost: Decimal? { unitCost.map { Money.rounded(quantity * $0) } }
    }

    public var id: UUID
    public var buyerID: UUID
    /// The buyer unless someone else pays (stored only then).
    public var payerID: UUID
    public var consumerIDs: [UUID] = []
    public var purchasedOn: PostgresDate
    public var channel: Channel?
    public var purchaseType: PurchaseType?
    /// nil when the amount was given directly.
    public var lines: [Line]?
    public var amount: Decimal = 0
    public var margin: Decimal?
    public var note: String?
    public var externalRef: String?
    /// The market the purchase belongs to (analytics: market share), lowercased labels.
    public var marketZone: String?
    public var productLine: String?
    public var createdAt: Date
    public var updatedAt: Date

    init(id: UUID, buyerID: UUID, purchasedOn: PostgresDate, now: Date) {
        self.id = id
        self.buyerID = buyerID
        self.payerID = buyerID
        self.purchasedOn = purchasedOn
        createdAt = now
        updatedAt = now
    }

    static let columns: PostgresQuery = """
        p.id, p.buyer_id, coalesce(p.payer_id, p.buyer_id), p.purchased_on, p.channel, p.purchase_type, p.amount, p.margin, p.note,
        p.external_ref, p.created_at, p.updated_at,
        ARRAY(SELECT pc.client_id FROM purchase_consumers pc WHERE pc.purchase_id = p.id ORDER BY pc.id),
        (SELECT json_agg(json_build_object('description', l.description, 'quantity', l.quantity::text,
                                           'unit_price', l.unit_price::text, 'unit_cost', l.unit_cost::text)
                         ORDER BY l.position)
         FROM purchase_lines l WHERE l.purchase_id = p.id),
        p.market_zone, p.product_line
        """

    private struct StoredLine: Decodable {
        var description: String
        var quantity: String
        var unit_price: String
        var unit_cost: String?
    }

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        buyerID = try row.decode(at: 1)
        payerID = try row.decode(at: 2)
        purchasedOn = try row.decode(at: 3)
        channel = try row.decode(at: 4)
        purchaseType = try row.decode(at: 5)
        amount = try row.decode(at: 6)
        margin = try row.decode(at: 7)
        note = try row.decode(at: 8)
        externalRef = try row.decode(at: 9)
        createdAt = try row.decode(at: 10)
        updatedAt = try row.decode(at: 11)
        consumerIDs = try row.decode(at: 12)
        if let json = try row.decode(PostgresJSONValue?.self, at: 13) {
            lines = try json.decode([StoredLine].self).map {
                let posix = Locale(identifier: "en_US_POSIX")
                guard let quantity = Decimal(string: $0.quantity, locale: posix),
                      let price = Decimal(string: $0.unit_price, locale: posix)
                else { throw PostgresError(.decoding, "a purchase line holds a number that is not one") }
                return Line(description: $0.description, quantity: quantity, unitPrice: price,
                            unitCost: $0.unit_cost.flatMap { Decimal(string: $0, locale: posix) })
            }
        }
        marketZone = try row.decode(at: 14)
        productLine = try row.decode(at: 15)
    }

    /// payer_id as stored: nil when the buyer pays.
    var storedPayerID: UUID? { payerID == buyerID ? nil : payerID }

    /// Amount and margin from the lines: the margin only when every line has a unit cost.
    mutating func computeFromLines() {
        guard let lines else { return }
        amount = lines.reduce(Decimal(0)) { $0 + $1.amount }
        let costs = lines.compactMap(\.cost)
        margin = costs.count == lines.count ? amount - costs.reduce(Decimal(0), +) : nil
    }

    func validate() throws {
        if let lines {
            guard !lines.isEmpty else {
                throw ClientBaseError(.invalid, "lines must hold at least one line; leave them out to give an amount", field: "lines")
            }
            guard lines.count <= 200 else {
                throw ClientBaseError(.invalid, "a purchase holds at most 200 lines", field: "lines")
            }
        }
        guard amount >= 0 else {
            throw ClientBaseError(.invalid, "amount cannot be negative", field: lines == nil ? "amount" : "lines")
        }
        guard amount <= Money.maximum else {
            throw ClientBaseError(.invalid, "the amount is too large", field: lines == nil ? "amount" : "lines")
        }
        if let margin, margin > amount {
            throw ClientBaseError(.invalid, "margin cannot be more than the amount", field: "margin")
        }
        if let externalRef, externalRef.count > 100 {
            throw ClientBaseError(.invalid, "external_ref is longer than 100 characters", field: "external_ref")
        }
    }

    var auditSnapshot: AuditSnapshot {
        [
            "buyer_id": buyerID.auditValue, "payer_id": payerID.auditValue, "consumer_ids": consumerIDs.auditValue,
            "purchased_on": purchasedOn.auditValue, "channel": AuditValue(channel?.rawValue),
            "purchase_type": AuditValue(purchaseType?.rawValue),
            "lines": lines.map { lines in
                .list(lines.map { line in
                    .list([.text(line.description), .decimal(line.quantity), .decimal(line.unitPrice), AuditValue(line.unitCost)])
                })
            } ?? .null,
            "amount": amount.auditValue, "margin": AuditValue(margin), "note": AuditValue(note),
            "external_ref": AuditValue(externalRef), "market_zone": AuditValue(marketZone),
            "product_line": AuditValue(productLine),
        ]
    }
}

/// The writable fields of a purchase, as a POST or PATCH body carries them. `lines` and
/// `amount`/`margin` exclude each other: with lines the server computes both.
public struct PurchaseChanges: Sendable, Hashable, Decodable {
    public var buyerID: FieldChange<UUID> = .unchanged
    public var payerID: FieldChange<UUID> = .unchanged
    public var consumerIDs: FieldChange<[UUID]> = .unchanged
    public var purchasedOn: FieldChange<PostgresDate> = .unchanged
    public var channel: FieldChange<Purchase.Channel> = .unchanged
    public var purchaseType: FieldChange<Purchase.PurchaseType> = .unchanged
    public var lines: FieldChange<[Purchase.Line]> = .unchanged
    public var amount: FieldChange<Decimal> = .unchanged
    public var margin: FieldChange<Decimal> = .unchanged
    public var note: FieldChange<String> = .unchanged
    public var externalRef: FieldChange<String> = .unchanged
    public var marketZone: FieldChange<String> = .unchanged
    public var productLine: FieldChange<String> = .unchanged

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder,
            writable: ["buyer_id", "payer_id", "consumer_ids", "purchased_on", "channel", "purchase_type", "lines",
                       "amount", "margin", "note", "external_ref", "market_zone", "product_line"],
            readOnly: ["id", "created_at", "updated_at"])
        buyerID = try body.id("buyer_id")
        payerID = try body.id("payer_id")
        consumerIDs = try body.ids("consumer_ids")
        purchasedOn = try body.date("purchased_on")
        channel = try body.enumeration("channel")
        purchaseType = try body.enumeration("purchase_type")
        lines = try Self.decodeLines(body)
        amount = try body.money("amount")
        margin = try body.money("margin")
        note = try body.text("note", maximumLength: 2000)
        externalRef = try body.text("external_ref")
        marketZone = try body.text("market_zone", maximumLength: 100).map(MarketEstimate.label)
        productLine = try body.text("product_line", maximumLength: 100).map(MarketEstimate.label)
    }

    /// Each line strictly, naming the line at fault: `lines[1]: field 'unit_price' ...`.
    private static func decodeLines(_ body: BodyReader) throws -> FieldChange<[Purchase.Line]> {
        let key = AnyKey("lines")
        guard body.container.contains(key) else { return .unchanged }
        if try body.container.decodeNil(forKey: key) { return .cleared }
        guard var list = try? body.container.nestedUnkeyedContainer(forKey: key) else {
            throw ClientBaseError(.invalid, "field 'lines' must be a list of lines", field: "lines")
        }
        var lines: [Purchase.Line] = []
        while !list.isAtEnd {
            let index = lines.count
            do {
                lines.append(try list.decode(LineBody.self).line)
            } catch let error as ClientBaseError {
                throw ClientBaseError(.invalid, "lines[\(index)]: \(error.message)", field: "lines")
            } catch {
                throw ClientBaseError(.invalid, "lines[\(index)] must be an object", field: "lines")
            }
        }
        return .set(lines)
    }

    private struct LineBody: Decodable {
        var line: Purchase.Line

        init(from decoder: any Decoder) throws {
            let body = try BodyReader(decoder, writable: ["description", "quantity", "unit_price", "unit_cost"],
                                      readOnly: ["amount"])
            guard let description = try body.text("description").value else {
                throw ClientBaseError(.invalid, "field 'description' is required", field: "description")
            }
            var quantity = Decimal(1)
            if body.container.contains(AnyKey("quantity")) {
                guard !(try body.container.decodeNil(forKey: AnyKey("quantity"))) else {
                    throw ClientBaseError(.invalid, "field 'quantity' cannot be null", field: "quantity")
                }
                quantity = try Money.decode(body.container, key: AnyKey("quantity"), field: "quantity", decimals: 3)
            }
            guard quantity > 0 else {
                throw ClientBaseError(.invalid, "field 'quantity' must be more than 0", field: "quantity")
            }
            guard let price = try body.money("unit_price").value else {
                throw ClientBaseError(.invalid, "field 'unit_price' is required", field: "unit_price")
            }
            let cost = try body.money("unit_cost").value
            for (name, value) in [("unit_price", price), ("unit_cost", cost ?? 0)] where value < 0 {
                throw ClientBaseError(.invalid, "field '\(name)' cannot be negative", field: name)
            }
            guard quantity * price <= Money.maximum, quantity * (cost ?? 0) <= Money.maximum else {
                throw ClientBaseError(.invalid, "the line's total is too large", field: "quantity")
            }
            line = Purchase.Line(description: description, quantity: quantity, unitPrice: price, unitCost: cost)
        }
    }

    func newPurchase(id: UUID, now: Date) throws -> Purchase {
        guard let buyer = buyerID.value else {
            throw ClientBaseError(.invalid, "field 'buyer_id' is required", field: "buyer_id")
        }
        guard !lines.isUnchanged || !amount.isUnchanged else {
            throw ClientBaseError(.invalid, "give the purchase's lines or its amount", field: "amount")
        }
        var purchase = Purchase(id: id, buyerID: buyer, purchasedOn: Timestamps.today(now), now: now)
        try apply(to: &purchase)
        return purchase
    }

    func apply(to purchase: inout Purchase) throws {
        let formerBuyer = purchase.buyerID
        try buyerID.apply(to: &purchase.buyerID, name: "buyer_id")
        switch payerID {
        case .set(let payer): purchase.payerID = payer
        case .cleared: purchase.payerID = purchase.buyerID  // no other payer: the buyer pays
        case .unchanged:
            // A payer that was only the default follows the buyer.
            if purchase.payerID == formerBuyer { purchase.payerID = purchase.buyerID }
        }
        switch consumerIDs {
        case .set(let ids): purchase.consumerIDs = ids
        case .cleared: purchase.consumerIDs = []
        case .unchanged: break
        }
        try purchasedOn.apply(to: &purchase.purchasedOn, name: "purchased_on")
        channel.apply(to: &purchase.channel)
        purchaseType.apply(to: &purchase.purchaseType)
        note.apply(to: &purchase.note)
        externalRef.apply(to: &purchase.externalRef)
        marketZone.apply(to: &purchase.marketZone)
        productLine.apply(to: &purchase.productLine)
        try applyMoney(to: &purchase)
        try purchase.validate()
    }

    private func applyMoney(to purchase: inout Purchase) throws {
        let givesMoney = !amount.isUnchanged || !margin.isUnchanged
        switch lines {
        case .set(let lines):
            if givesMoney {
                throw ClientBaseError(.invalid,
                    "give lines or an amount and margin, not both: with lines they are computed",
                    field: amount.isUnchanged ? "margin" : "amount")
            }
            purchase.lines = lines
            purchase.computeFromLines()
            return
        case .cleared:
            // The amount and margin stay as they were, and can now be set directly.
            purchase.lines = nil
        case .unchanged:
            if purchase.lines != nil, givesMoney {
                throw ClientBaseError(.invalid,
                    "this purchase's amount and margin come from its lines: change the lines, or drop them with \"lines\": null",
                    field: amount.isUnchanged ? "margin" : "amount")
            }
        }
        try amount.apply(to: &purchase.amount, name: "amount")
        margin.apply(to: &purchase.margin)
    }
}
