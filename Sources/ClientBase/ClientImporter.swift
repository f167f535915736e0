import Foundation
import Postgres
import Tenancy

/// Imports clients from CSV in one tenant transaction: every row is checked with the API's
/// rules, then created, updated or left unchanged, and written in batches of multi-row
/// statements (`INSERT ... SELECT FROM unnest(arrays)`), one batch per round trip, the next
/// batch built while the server runs the current one.
///
/// A row names its client by `id` or `external_ref`: found, it is updated (its empty cells
/// leave fields as they are) or left unchanged; not found by `external_ref`, it is created.
/// A new row with the email, phone or SIREN of a client (or of an earlier row) is an error
/// unless `allowDuplicates`. One audit entry records the import and its counts.
public struct ClientImporter: Sendable {
    public let database: PostgresClient
    /// Rows per INSERT or UPDATE statement.
    static let batchSize = 5_000

    public init(database: PostgresClient) {
        self.database = database
    }

    public func run(_ csv: [UInt8], options: ImportOptions, as actor: Actor) async throws -> ImportReport {
        try actor.require(.bulkData)
        let table = try CSVTable(parsing: csv)
        let columns = try ImportColumns(header: table.header, mapping: options.mapping,
                                        known: ClientImportFields.isKnown, readOnly: ClientImportFields.readOnly)
        var report = ImportReport(importID: UUIDv7.make())
        report.rows = table.records.count
        report.dryRun = options.dryRun
        report.ignoredColumns = columns.ignored
        let needsDefinitions = columns.fields.contains { $0?.hasPrefix("custom_fields.") == true }
        do {
            // Long work: at most half the pool's connections run imports and reports at once.
            return try await database.withLongWork { try await database.withTenantTransaction(actor.scope) { session in
                // One import at a time per tenant: two files naming the same external_ref cannot both create it.
                var prelude: [PostgresQuery] = ["SELECT pg_advisory_xact_lock(hashtext(current_schema() || ' client import'))"]
                if needsDefinitions { prelude.append(CustomFieldRepository.selectAll) }
                let found = try await session.pipeline(prelude)
                let definitions = needsDefinitions ? try found[1].map(CustomField.init(row:)) : []
                var plan = try await Self.plan(table, columns: columns, definitions: definitions, options: options,
                                               actor: actor, report: &report, in: session)
                report.errors.sort { ($0.line, $0.column ?? "") < ($1.line, $1.column ?? "") }
                if !report.errors.isEmpty, !options.skipInvalid {
                    throw ImportRejected(report: report)
                }
                report.skipped = Set(report.errors.map(\.line)).count
                plan.author = actor.label
                let audit = AuditLog.entry(
                    by: actor, action: "import", entity: "client_import", id: report.importID.auditID, before: nil,
                    after: ["rows": .integer(report.rows), "created": .integer(report.created), "updated": .integer(report.updated),
                            "unchanged": .integer(report.unchanged), "skipped": .integer(report.skipped)])
                try await plan.write(in: session, then: [audit])
                if options.dryRun { throw ImportRejected(report: report) }  // rolls the transaction back
                report.written = true
                return report
            } }
        } catch let rejected as ImportRejected {
            return rejected.report
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "clients_external_ref_key" {
            throw ClientBaseError(.conflict, "an external_ref of the file was taken meanwhile; import the file again", field: "external_ref")
        }
    }

    /// Reads the rows, finds the clients they name and the duplicates they would make, and
    /// decides each row's fate; errors go into the report.
    static func plan(
        _ table: CSVTable, columns: ImportColumns, definitions: [CustomField], options: ImportOptions,
        actor: Actor, report: inout ImportReport, in session: PostgresSession
    ) async throws -> ClientImportPlan {
        // 1. Cells to changes, in slices read side by side (the database waits meanwhile).
        var rows: [ImportedRow] = []
        rows.reserveCapacity(table.records.count)
        for slice in try await Self.read(table, columns: columns, definitions: definitions) {
            rows += slice.rows
            report.errors += slice.errors
        }

        // 2. The clients the rows name, locked for the update.
        let ids = rows.compactMap(\.id)
        let references = rows.compactMap { row -> String? in
            if case .set(let reference) = row.changes.externalRef { reference } else { nil }
        }
        var existingByID: [UUID: Client] = [:]
        var existingByReference: [String: Client] = [:]
        if !ids.isEmpty || !references.isEmpty {
            let found = try await session.query("""
                SELECT \(fragment: Client.columns) FROM clients
                WHERE (id = ANY(\(ids)::uuid[]) OR external_ref = ANY(\(references)::text[]))
                  AND \(fragment: actor.access.condition())
                ORDER BY id FOR UPDATE
                """)
            for row in found {
                let client = try Client(row: row)
                existingByID[client.id] = client
                if let reference = client.externalRef { existingByReference[reference] = client }
            }
        }

        // 3. Each row: an update, nothing, or a creation. Each row's record is worked out first,
        // on every core (its changes applied to the client it names, or the new client made, with
        // ids drawn in file order); the checks between rows (one client or external_ref twice)
        // follow in file order.
        var plan = ClientImportPlan()
        var lineOfClient: [UUID: Int] = [:]
        var lineOfReference: [String: Int] = [:]
        var creations: [(line: Int, client: Client, columns: ImportRowColumns)] = []
        let now = Date()
        let targets: [Client?] = rows.map { row in
            if let id = row.id { return existingByID[id] }
            if case .set(let reference) = row.changes.externalRef { return existingByReference[reference] }
            return nil
        }
        let newIDs: [UUID?] = zip(rows, targets).map { row, target in row.id == nil && target == nil ? UUIDv7.make() : nil }
        let records = try await Self.records(of: rows, targets: targets, newIDs: newIDs, now: now, definitions: definitions, actor: actor)
        for (index, row) in rows.enumerated() {
            func fail(_ error: ClientBaseError) {
                report.errors.append(ImportRowError(line: row.line, column: error.field.flatMap { row.columns[$0] }, error))
            }
            var target: Client?
            if let id = row.id {
                guard let client = existingByID[id] else {
                    fail(ClientBaseError(.invalid, "no client with id \(id.auditID)", field: "id"))
                    continue
                }
                target = client
            } else if case .set(let reference) = row.changes.externalRef {
                target = existingByReference[reference]
                if let line = lineOfReference[reference] {
                    fail(ClientBaseError(.invalid, "external_ref '\(reference.prefix(100))' is also on line \(line)", field: "external_ref"))
                    continue
                }
                lineOfReference[reference] = row.line
            }
            do {
                if let before = target {
                    if let line = lineOfClient[before.id] {
                        throw ClientBaseError(.invalid, "this client is also on line \(line)", field: row.id != nil ? "id" : "external_ref")
                    }
                    lineOfClient[before.id] = row.line
                    if before.erasedAt != nil {
                        throw ClientBaseError(.conflict, "this client was erased; its record can no longer be changed",
                                              field: row.id != nil ? "id" : "external_ref")
                    }
                    guard let client = try records[index]?.get() else { continue }  // never: a target has its record
                    if actor.role == .agent, client.assignedUserID != before.assignedUserID { throw ClientRepository.assignmentForbidden }
                    if client == before {
                        report.unchanged += 1
                    } else {
                        plan.updates.append((before, client))
                        report.updated += 1
                    }
                } else {
                    guard let client = try records[index]?.get() else { continue }  // never: a new row has its record
                    creations.append((row.line, client, row.columns))
                }
            } catch let error as ClientBaseError {
                fail(error)
            }
        }

        // 4. Duplicates of the new rows, among clients and earlier rows.
        let duplicates = options.allowDuplicates ? [:] : try await Self.duplicates(of: creations.map(\.client), in: session)
        let erased = options.allowErased ? [] : try await Self.erasedKeys(among: creations.flatMap { Self.identifierKeys($0.client) }, in: session)
        var firstLine: [String: Int] = [:]
        for creation in creations {
            let client = creation.client
            let keys = Self.identifierKeys(client)
            if let key = keys.first(where: erased.contains) {
                let field = String(key.split(separator: " ")[0])
                report.errors.append(ImportRowError(
                    line: creation.line, column: creation.columns[field], field: field,
                    message: "a client with this \(field) was erased at their request; send allow_erased=true only if they asked to be a client again"))
                continue
            }
            if let match = keys.lazy.compactMap({ duplicates[$0] }).first {
                let field = keys.first { duplicates[$0] != nil }!.split(separator: " ")[0]
                report.errors.append(ImportRowError(
                    line: creation.line, column: creation.columns[String(field)], field: String(field),
                    message: "this client looks like client \(match.auditID) (same \(field)); give its id or external_ref to update it, or send allow_duplicates=true"))
                continue
            }
            if let (key, line) = keys.lazy.compactMap({ key in firstLine[key].map { (key, $0) } }).first {
                let field = String(key.split(separator: " ")[0])
                report.errors.append(ImportRowError(
                    line: creation.line, column: creation.columns[field], field: field,
                    message: "same \(field) as line \(line); send allow_duplicates=true to create both"))
                continue
            }
            if !options.allowDuplicates {
                for key in keys { firstLine[key] = creation.line }
            }
            plan.creations.append(client)
            report.created += 1
        }
        return plan
    }

    /// A row read from its cells: the changes it asks for, the client it names by id, and the
    /// column each field came from (for errors).
    typealias ImportedRow = (line: Int, changes: ClientChanges, id: UUID?, columns: ImportRowColumns)

    /// The work on `count` items, cut in one slice per core (of 1,000 items at least) and run side
    /// by side; each slice's result, in order.
    static func sideBySide<Part: Sendable>(
        _ count: Int, _ work: @escaping @Sendable (Range<Int>) throws -> Part
    ) async throws -> [Part] {
        let slices = max(1, min(ProcessInfo.processInfo.activeProcessorCount, count / 1_000))
        let size = (count + slices - 1) / slices
        return try await withThrowingTaskGroup(of: (Int, Part).self) { group in
            for slice in 0..<slices {
                let range = (slice * size)..<min((slice + 1) * size, count)
                group.addTask { (slice, try work(range)) }
            }
            var parts = [Part?](repeating: nil, count: slices)
            for try await (slice, part) in group { parts[slice] = part }
            return parts.compactMap { $0 }
        }
    }

    /// The records' cells as changes, one slice of the file per core, in file order.
    static func read(
        _ table: CSVTable, columns: ImportColumns, definitions: [CustomField]
    ) async throws -> [(rows: [ImportedRow], errors: [ImportRowError])] {
        let records = table.records
        return try await sideBySide(records.count) { range in
            var rows: [ImportedRow] = []
            var errors: [ImportRowError] = []
            rows.reserveCapacity(range.count)
            for record in records[range] {
                do {
                    rows.append(try Self.read(record, header: table.header, columns: columns, definitions: definitions))
                } catch let error as ImportRowError {
                    errors.append(error)
                }
            }
            return (rows, errors)
        }
    }

    /// Each row's record, one slice of the rows per core: for a row naming a client, the client
    /// with the row's changes applied (a consent column repeating the state held is no change, so
    /// an exported file imports back unchanged); for a new row, the client it makes, with its id.
    /// Nil for a row naming a client that does not exist.
    static func records(
        of rows: [ImportedRow], targets: [Client?], newIDs: [UUID?], now: Date, definitions: [CustomField], actor: Actor
    ) async throws -> [Result<Client, any Error>?] {
        try await sideBySide(rows.count) { range in
            range.map { index -> Result<Client, any Error>? in
                let row = rows[index]
                if let before = targets[index] {
                    return Result {
                        var client = before
                        var changes = row.changes
                        if changes.consentSurveys?.granted == before.consentSurveys.granted { changes.consentSurveys = nil }
                        if changes.consentMarketing?.granted == before.consentMarketing.granted { changes.consentMarketing = nil }
                        try changes.apply(to: &client, now: now, definitions: definitions)
                        return client
                    }
                }
                guard let id = newIDs[index] else { return nil }
                return Result { try ClientRepository.assigning(try row.changes.newClient(id: id, now: now, definitions: definitions), as: actor) }
            }
        }.flatMap { $0 }
    }

    /// One record's cells as changes; a cell the rules refuse is an error of its line and column.
    static func read(
        _ record: CSVTable.Record, header: [String], columns: ImportColumns, definitions: [CustomField]
    ) throws -> ImportedRow {
        let cells = try columns.cells(of: record, header: header)
        var changes = ClientChanges()
        var id: UUID?
        var columnOf = ImportRowColumns()
        for cell in cells {
            columnOf.cells.append((cell.field, cell.column))
            do {
                if cell.field == "id" {
                    id = try ImportCell.uuid(cell.text, "id")
                } else {
                    try ClientImportFields.set(cell.field, cell.text, on: &changes, definitions: definitions)
                }
            } catch let error as ClientBaseError {
                throw ImportRowError(line: record.line, column: cell.column, error)
            }
        }
        return (record.line, changes, id, columnOf)
    }

    /// `email x`, `phone 0612…`, `siren 123…`: what two clients must not share.
    static func identifierKeys(_ client: Client) -> [String] {
        var keys: [String] = []
        if let email = client.email { keys.append("email \(email)") }
        if let phone = client.phone { keys.append("phone \(PhoneDigits.of(phone))") }
        if let siren = client.siren { keys.append("siren \(siren)") }
        return keys
    }

    /// The identifier keys that belonged to an erased client (matched by their salted digest).
    static func erasedKeys(among keys: [String], in session: PostgresSession) async throws -> Set<String> {
        guard !keys.isEmpty else { return [] }
        let rows = try await session.query("""
            SELECT k.key FROM unnest(\(keys)::text[]) AS k (key)
            WHERE EXISTS (SELECT FROM erased_identifiers e WHERE e.digest = erased_identifier_digest(k.key))
            """)
        return Set(try rows.map { try $0.decode(String.self, at: 0) })
    }

    /// Existing clients sharing an identifier with the new ones, by identifier key.
    static func duplicates(of clients: [Client], in session: PostgresSession) async throws -> [String: UUID] {
        let emails = clients.compactMap(\.email), phones = clients.compactMap { $0.phone.map(PhoneDigits.of) }
        let sirens = clients.compactMap(\.siren)
        guard !emails.isEmpty || !phones.isEmpty || !sirens.isEmpty else { return [:] }
        let rows = try await session.query("""
            SELECT id, email, phone_normalised, siren FROM clients
            WHERE email = ANY(\(emails)::text[]) OR phone_normalised = ANY(\(phones)::text[]) OR siren = ANY(\(sirens)::text[])
            ORDER BY id
            """)
        var found: [String: UUID] = [:]
        for row in rows {
            let id: UUID = try row.decode(at: 0)
            for (index, name) in ["email", "phone", "siren"].enumerated() {
                if let value = try row.decode(String?.self, at: index + 1), found["\(name) \(value)"] == nil {
                    found["\(name) \(value)"] = id
                }
            }
        }
        return found
    }
}

/// The column each field of one row came from, for the row's errors: its non-empty cells only
/// (a field whose cell was empty names no column). A few pairs searched in order: no dictionary
/// per row (an import has 100,000).
struct ImportRowColumns {
    var cells: [(field: String, column: String)] = []

    subscript(field: String) -> String? {
        cells.first { $0.field == field }?.column
    }
}

/// The writes an import decided: new clients, and changed ones with what they were.
struct ClientImportPlan: Sendable {
    var creations: [Client] = []
    var updates: [(before: Client, after: Client)] = []
    var author = ""

    /// Batches of `ClientImporter.batchSize` rows: the creations', then the updates'.
    var batchCount: Int { Self.batches(of: creations.count) + Self.batches(of: updates.count) }

    private static func batches(of rows: Int) -> Int {
        (rows + ClientImporter.batchSize - 1) / ClientImporter.batchSize
    }

    /// Writes the batches in order, then `last`, on the import's session. The statements of the
    /// next batch are built (text arrays of every column) while the server runs the current one,
    /// so building them costs no time of its own when the server is the slower.
    func write(in session: PostgresSession, then last: [PostgresQuery]) async throws {
        let count = batchCount
        guard count > 0 else {
            _ = try await session.pipeline(last)
            return
        }
        var building = Task.detached { self.statements(batch: 0) }
        for index in 0..<count {
            var statements = await building.value
            if index + 1 < count {
                building = Task.detached { self.statements(batch: index + 1) }
            } else {
                statements += last
            }
            do {
                _ = try await session.pipeline(statements)
            } catch {
                building.cancel()
                throw error
            }
        }
    }

    /// The statements of one batch: an INSERT of up to `batchSize` new clients and their first
    /// category-history rows, or an UPDATE of changed clients and the history rows of those
    /// whose category moved.
    func statements(batch index: Int) -> [PostgresQuery] {
        let creationBatches = Self.batches(of: creations.count)
        if index < creationBatches {
            let start = index * ClientImporter.batchSize
            let batch = Array(creations[start..<min(start + ClientImporter.batchSize, creations.count)])
            return [
                ClientColumnArrays(batch).insert,
                """
                INSERT INTO category_changes (client_id, from_category, to_category, reason, author)
                SELECT u.id, NULL, u.category, u.reason, \(author)
                FROM unnest(\(batch.map(\.id))::uuid[], \(batch.map(\.category.rawValue))::text[],
                            \(NullableTextArray(batch.map(\.categoryReason)))::text[]) AS u (id, category, reason)
                """,
            ]
        }
        let start = (index - creationBatches) * ClientImporter.batchSize
        let batch = Array(updates[start..<min(start + ClientImporter.batchSize, updates.count)])
        var statements = [ClientColumnArrays(batch.map(\.after)).update]
        let moved = batch.filter { $0.before.category != $0.after.category }
        if !moved.isEmpty {
            statements.append("""
                INSERT INTO category_changes (client_id, from_category, to_category, reason, author)
                SELECT u.id, u.from_category, u.to_category, u.reason, \(author)
                FROM unnest(\(moved.map(\.after.id))::uuid[], \(moved.map(\.before.category.rawValue))::text[],
                            \(moved.map(\.after.category.rawValue))::text[],
                            \(NullableTextArray(moved.map(\.after.categoryReason)))::text[]) AS u (id, from_category, to_category, reason)
                """)
        }
        return statements
    }
}

/// Many clients as one text array per written column, for `unnest`: the values are those of
/// `Client.writtenTexts`, the single-row INSERT's own (`writtenValues`), so both paths store the same thing.
struct ClientColumnArrays {
    let ids: [UUID]
    var columns: [[String?]]

    init(_ clients: [Client]) {
        ids = clients.map(\.id)
        columns = Array(repeating: [], count: Self.types.count)
        for index in columns.indices { columns[index].reserveCapacity(clients.count) }
        for client in clients {
            let values = client.writtenTexts
            precondition(values.count == Self.types.count, "Client.writtenTexts and ClientColumnArrays.types disagree")
            for (index, value) in values.enumerated() { columns[index].append(value) }
        }
    }

    /// The SQL type of each column of `Client.writtenColumns`, in its order (a test checks them
    /// against the catalogue).
    static let types = [
        "text", "text", "text", "text", "text", "text", "text", "text", "text",
        "text", "text", "date", "text", "text", "text", "text",
        "text", "text", "text", "integer", "text", "numeric", "integer", "date",
        "text", "integer", "text", "text", "text", "text[]", "text", "jsonb",
        "text[]", "text[]", "text[]", "text[]", "text", "text", "numeric",
        "date", "uuid", "boolean", "timestamptz", "text",
        "boolean", "timestamptz", "text",
    ]

    static var names: [String] {
        Client.writtenColumns.sql.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// `unnest($2::text[], ...) AS u (c1, ...)` and the typed values `u.c1::text, ...`, after the ids as $1.
    private var source: (from: PostgresQuery, values: String) {
        var from: PostgresQuery = "unnest(\(ids)::uuid[]"
        for column in columns {
            from = "\(fragment: from), \(NullableTextArray(column))::text[]"
        }
        let aliases = (1...columns.count).map { "c\($0)" }.joined(separator: ", ")
        from = "\(fragment: from)) AS u (id, \(unescaped: aliases))"
        let values = Self.types.enumerated().map { "u.c\($0.offset + 1)::\($0.element)" }.joined(separator: ", ")
        return (from, values)
    }

    var insert: PostgresQuery {
        let (from, values) = source
        return """
            INSERT INTO clients (id, \(fragment: Client.writtenColumns))
            SELECT u.id, \(unescaped: values) FROM \(fragment: from)
            """
    }

    var update: PostgresQuery {
        let (from, values) = source
        return """
            UPDATE clients c SET (\(fragment: Client.writtenColumns)) = ROW(\(unescaped: values)),
                category_since = CASE WHEN c.category <> u.c2 THEN now() ELSE c.category_since END,
                revision = c.revision + 1, updated_at = now()
            FROM \(fragment: from)
            WHERE c.id = u.id
            """
    }
}

/// A `text[]` parameter whose elements may be NULL (`Array`'s own encoding has no NULL element).
struct NullableTextArray: PostgresEncodable {
    let values: [String?]
    init(_ values: [String?]) { self.values = values }

    static var postgresType: PostgresType { .textArray }
    var postgresText: String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(values.count * 8)
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let value else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
