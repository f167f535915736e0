import Foundation
import Postgres
import Tenancy

/// Imports purchases from CSV, like clients: one transaction, the API's rules per row, batches
/// of multi-row statements, one audit entry. A row names its buyer (and payer) by client `id` or
/// client `external_ref`; a row whose purchase `external_ref` exists updates that purchase or
/// leaves it unchanged. Purchases are imported with their amount (and margin), not lines.
public struct PurchaseImporter: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    static let fields: Set<String> = [
        "external_ref", "buyer_id", "buyer_external_ref", "payer_id", "payer_external_ref", "purchased_on",
        "channel", "purchase_type", "amount", "margin", "note",
    ]

    public func run(_ csv: [UInt8], options: ImportOptions, as actor: Actor) async throws -> ImportReport {
        try actor.require(.bulkData)
        let table = try CSVTable(parsing: csv)
        let columns = try ImportColumns(header: table.header, mapping: options.mapping,
                                        known: Self.fields.contains, readOnly: ["id", "created_at", "updated_at"])
        var report = ImportReport(importID: UUIDv7.make())
        report.rows = table.records.count
        report.dryRun = options.dryRun
        report.ignoredColumns = columns.ignored
        do {
            return try await database.withLongWork { try await database.withTenantTransaction(actor.scope) { session in
                _ = try await session.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ' purchase import'))")
                let (creations, updates) = try await Self.plan(table, columns: columns, actor: actor, report: &report, in: session)
                report.errors.sort { ($0.line, $0.column ?? "") < ($1.line, $1.column ?? "") }
                if !report.errors.isEmpty, !options.skipInvalid { throw ImportRejected(report: report) }
                report.skipped = Set(report.errors.map(\.line)).count
                let buyers = Array(Set(creations.map(\.buyerID) + updates.flatMap { [$0.before.buyerID, $0.after.buyerID] }))
                var statements: [PostgresQuery] = [PurchaseRepository.lockBuyers(buyers)]
                for start in stride(from: 0, to: creations.count, by: ClientImporter.batchSize) {
                    statements.append(Self.insert(Array(creations[start..<min(start + ClientImporter.batchSize, creations.count)])))
                }
                for start in stride(from: 0, to: updates.count, by: ClientImporter.batchSize) {
                    statements.append(Self.update(updates[start..<min(start + ClientImporter.batchSize, updates.count)].map(\.after)))
                }
                if !updates.isEmpty {
                    // Consumers carry their purchase's date (the timeline reads it there).
                    statements.append("""
                        UPDATE purchase_consumers pc SET purchased_on = p.purchased_on FROM purchases p
                        WHERE pc.purchase_id = p.id AND p.id = ANY(\(updates.map(\.after.id))::uuid[]) AND pc.purchased_on <> p.purchased_on
                        """)
                }
                if !creations.isEmpty { statements.append(TenantJobs.purchasesImported(creations.map(\.id))) }
                statements.append(PurchaseRepository.recomputePurchaseDates(of: buyers))
                statements.append(AuditLog.entry(
                    by: actor, action: "import", entity: "purchase_import", id: report.importID.auditID, before: nil,
                    after: ["rows": .integer(report.rows), "created": .integer(report.created), "updated": .integer(report.updated),
                            "unchanged": .integer(report.unchanged), "skipped": .integer(report.skipped)]))
                _ = try await session.pipeline(statements)
                if options.dryRun { throw ImportRejected(report: report) }
                report.written = true
                return report
            } }
        } catch let rejected as ImportRejected {
            return rejected.report
        }
    }

    static func plan(
        _ table: CSVTable, columns: ImportColumns, actor: Actor, report: inout ImportReport, in session: PostgresSession
    ) async throws -> (creations: [Purchase], updates: [(before: Purchase, after: Purchase)]) {
        typealias Row = (line: Int, cells: [String: (column: String, text: String)])
        var rows: [Row] = []
        for record in table.records {
            do {
                var cells: [String: (String, String)] = [:]
                for cell in try columns.cells(of: record, header: table.header) { cells[cell.field] = (cell.column, cell.text) }
                rows.append((record.line, cells))
            } catch let error as ImportRowError {
                report.errors.append(error)
            }
        }
        let clientRefs = rows.flatMap { [$0.cells["buyer_external_ref"]?.text, $0.cells["payer_external_ref"]?.text].compactMap { $0 } }
        let clientIDs = rows.flatMap { [$0.cells["buyer_id"]?.text, $0.cells["payer_id"]?.text].compactMap { $0.flatMap(UUID.init(uuidString:)) } }
        let purchaseRefs = rows.compactMap { $0.cells["external_ref"]?.text }
        let found = try await session.pipeline([
            """
            SELECT id, external_ref FROM clients
            WHERE (id = ANY(\(clientIDs)::uuid[]) OR external_ref = ANY(\(clientRefs)::text[])) AND \(fragment: actor.access.condition())
            """,
            """
            SELECT \(fragment: Purchase.columns) FROM purchases p
            WHERE p.external_ref = ANY(\(purchaseRefs)::text[]) AND \(fragment: actor.sees(clientIn: "p.buyer_id"))
            ORDER BY p.id FOR UPDATE OF p
            """,
        ])
        var clientByRef: [String: UUID] = [:], knownClients = Set<UUID>()
        for row in found[0] {
            let id: UUID = try row.decode(at: 0)
            knownClients.insert(id)
            if let reference = try row.decode(String?.self, at: 1) { clientByRef[reference] = id }
        }
        var purchaseByRef: [String: Purchase] = [:]
        for row in found[1] {
            let purchase = try Purchase(row: row)
            if let reference = purchase.externalRef { purchaseByRef[reference] = purchase }
        }
        var creations: [Purchase] = [], updates: [(before: Purchase, after: Purchase)] = []
        var lineOfRef: [String: Int] = [:]
        let now = Date()
        for row in rows {
            do {
                var changes = PurchaseChanges()
                for role in ["buyer", "payer"] {
                    let byID = row.cells["\(role)_id"], byRef = row.cells["\(role)_external_ref"]
                    var client: UUID?
                    if let byID {
                        let id = try ImportCell.uuid(byID.text, "\(role)_id")
                        guard knownClients.contains(id) else {
                            throw ClientBaseError(.invalid, "\(role)_id does not name a client", field: "\(role)_id")
                        }
                        client = id
                    } else if let byRef {
                        guard let id = clientByRef[byRef.text] else {
                            throw ClientBaseError(.invalid, "no client has external_ref '\(byRef.text.prefix(100))'", field: "\(role)_external_ref")
                        }
                        client = id
                    }
                    if let client { if role == "buyer" { changes.buyerID = .set(client) } else { changes.payerID = .set(client) } }
                }
                if let text = row.cells["purchased_on"]?.text { changes.purchasedOn = .set(try ImportCell.date(text, "purchased_on")) }
                if let text = row.cells["channel"]?.text { changes.channel = .set(try ImportCell.enumeration(text, "channel")) }
                if let text = row.cells["purchase_type"]?.text { changes.purchaseType = .set(try ImportCell.enumeration(text, "purchase_type")) }
                if let text = row.cells["amount"]?.text { changes.amount = .set(try Self.money(text, "amount")) }
                if let text = row.cells["margin"]?.text { changes.margin = .set(try Self.money(text, "margin")) }
                if let text = row.cells["note"]?.text {
                    guard text.count <= 2000 else { throw ClientBaseError(.invalid, "note is longer than 2000 characters", field: "note") }
                    changes.note = .set(text)
                }
                if let reference = row.cells["external_ref"]?.text {
                    changes.externalRef = .set(reference)
                    if let line = lineOfRef[reference] {
                        throw ClientBaseError(.invalid, "external_ref '\(reference.prefix(100))' is also on line \(line)", field: "external_ref")
                    }
                    lineOfRef[reference] = row.line
                }
                if let reference = row.cells["external_ref"]?.text, let before = purchaseByRef[reference] {
                    var purchase = before
                    try changes.apply(to: &purchase)
                    if purchase == before { report.unchanged += 1 } else {
                        updates.append((before, purchase))
                        report.updated += 1
                    }
                } else {
                    guard !changes.amount.isUnchanged else {
                        throw ClientBaseError(.invalid, "field 'amount' is required (purchases are imported with their amount)", field: "amount")
                    }
                    creations.append(try changes.newPurchase(id: UUIDv7.make(), now: now))
                    report.created += 1
                }
            } catch let error as ClientBaseError {
                let column = error.field.flatMap { field in row.cells[field]?.column ?? row.cells[field.replacingOccurrences(of: "_id", with: "_external_ref")]?.column }
                report.errors.append(ImportRowError(line: row.line, column: column, error))
            }
        }
        return (creations, updates)
    }

    /// Euros with at most two decimals, as the API takes them.
    static func money(_ text: String, _ field: String) throws -> Decimal {
        let value = try ImportCell.amount(text, field)
        guard value >= 0, Money.rounded(value) == value else {
            throw ClientBaseError(.invalid, "field '\(field)' must be an amount in euros with at most 2 decimals, like 149.90", field: field)
        }
        return value
    }

    private static func arrays(_ purchases: [Purchase]) -> PostgresQuery {
        """
        unnest(\(purchases.map(\.id))::uuid[], \(purchases.map(\.buyerID))::uuid[],
               \(NullableTextArray(purchases.map { $0.storedPayerID?.uuidString }))::uuid[],
               \(purchases.map(\.purchasedOn.description))::date[], \(NullableTextArray(purchases.map { $0.channel?.rawValue }))::text[],
               \(NullableTextArray(purchases.map { $0.purchaseType?.rawValue }))::text[], \(purchases.map(\.amount))::numeric[],
               \(NullableTextArray(purchases.map { $0.margin?.postgresText }))::numeric[], \(NullableTextArray(purchases.map(\.note)))::text[],
               \(NullableTextArray(purchases.map(\.externalRef)))::text[])
            AS u (id, buyer_id, payer_id, purchased_on, channel, purchase_type, amount, margin, note, external_ref)
        """
    }

    static func insert(_ purchases: [Purchase]) -> PostgresQuery {
        """
        INSERT INTO purchases (id, buyer_id, payer_id, purchased_on, channel, purchase_type, amount, margin, note, external_ref)
        SELECT u.id, u.buyer_id, u.payer_id, u.purchased_on, u.channel, u.purchase_type, u.amount, u.margin, u.note, u.external_ref
        FROM \(fragment: arrays(purchases))
        """
    }

    static func update(_ purchases: [Purchase]) -> PostgresQuery {
        """
        UPDATE purchases p SET buyer_id = u.buyer_id, payer_id = u.payer_id, purchased_on = u.purchased_on, channel = u.channel,
            purchase_type = u.purchase_type, amount = u.amount, margin = u.margin, note = u.note, updated_at = now()
        FROM \(fragment: arrays(purchases))
        WHERE p.id = u.id
        """
    }
}
