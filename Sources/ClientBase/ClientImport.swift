import Foundation
import Postgres

/// How an import runs (query parameters of `POST /v1/imports/...`).
public struct ImportOptions: Sendable {
    /// Runs everything, then rolls back: the report says what a real run would do.
    public var dryRun = false
    /// Imports the valid rows and reports the others as skipped; otherwise any row error
    /// rejects the whole file and nothing is written.
    public var skipInvalid = false
    /// Creates a row whose email, phone or SIREN another client (or an earlier row) has;
    /// otherwise such a row is an error, like `POST /v1/clients` without `allow_duplicate`.
    public var allowDuplicates = false
    /// Creates a row whose email, phone or SIREN belonged to a client erased at their request;
    /// otherwise such a row is an error (a routine export must not bring them back unasked).
    public var allowErased = false
    /// CSV column → field name; `nil` ignores the column. Unmapped columns are read by name.
    public var mapping: [String: String?] = [:]

    public init() {}
}

/// One row the import refused, by its CSV line (the header is line 1).
public struct ImportRowError: Sendable, Hashable {
    public var line: Int
    /// The CSV column at fault, when one is.
    public var column: String?
    /// The field at fault, when one is.
    public var field: String?
    public var message: String
}

/// What an import did (or, for a dry run or a rejected file, would have done).
public struct ImportReport: Sendable {
    public var rows = 0
    public var created = 0
    public var updated = 0
    public var unchanged = 0
    /// Rows with an error, left out because `skip_invalid` was given.
    public var skipped = 0
    public var errors: [ImportRowError] = []
    /// Columns read as nothing: mapped to null, or read-only columns of an export (id is read).
    public var ignoredColumns: [String] = []
    public var dryRun = false
    /// Whether the rows were written: false for a dry run and for a file rejected by row errors.
    public var written = false
    /// The audit entry's id of this import (`entity` `client_import` or `purchase_import`).
    public var importID: UUID
}

/// The import was rejected as a whole: row errors without `skip_invalid`. Nothing was written.
public struct ImportRejected: Error, Sendable {
    public var report: ImportReport
}

/// What a CSV column feeds.
enum ImportTarget: Hashable {
    case field(String)
    case ignored
}

/// Columns resolved against the header: which field each column feeds.
struct ImportColumns {
    /// For each CSV column, the field it feeds (nil: ignored).
    var fields: [String?]
    var ignored: [String]

    /// Refuses (fatal) a mapping that names a column the header lacks or a field that does not
    /// exist, a header that is neither mapped nor a field, and two columns for one field.
    init(header: [String], mapping: [String: String?], known: (String) -> Bool, readOnly: Set<String>) throws {
        for column in mapping.keys where !header.contains(column) {
            throw ClientBaseError(.invalid, "the mapping names column '\(column.prefix(100))', which the header row does not have",
                                  field: "mapping")
        }
        var fields: [String?] = []
        var ignored: [String] = []
        var seen: [String: String] = [:]
        for column in header {
            let target: String?
            if let mapped = mapping[column] {
                target = mapped
                if let mapped, !known(mapped) {
                    throw ClientBaseError(.invalid, "the mapping sends column '\(column.prefix(100))' to '\(mapped.prefix(100))', which is not a field",
                                          field: "mapping")
                }
            } else if known(column) {
                target = column
            } else if readOnly.contains(column) {
                target = nil
            } else {
                throw ClientBaseError(.invalid,
                    "column '\(column.prefix(100))' is not a field; map it to one with mapping={\"\(column.prefix(100))\": \"<field>\"}, or to null to ignore it",
                    field: "mapping")
            }
            if let target {
                if let other = seen[target] {
                    throw ClientBaseError(.invalid, "columns '\(other.prefix(100))' and '\(column.prefix(100))' both feed '\(target)'", field: "mapping")
                }
                seen[target] = column
            } else {
                ignored.append(column)
            }
            fields.append(target)
        }
        self.fields = fields
        self.ignored = ignored
    }

    /// The record's non-empty cells by field, trimmed; a wrong cell count is the row's error.
    func cells(of record: CSVTable.Record, header: [String]) throws -> [(field: String, column: String, text: String)] {
        guard record.fields.count == fields.count else {
            throw ImportRowError(line: record.line, column: nil, field: nil,
                                 message: "the row has \(record.fields.count) fields, the header \(fields.count)")
        }
        var cells: [(String, String, String)] = []
        for (index, field) in fields.enumerated() {
            guard let field else { continue }
            let text = CSVWriter.unneutralised(Self.trimmed(record.fields[index]))
            if !text.isEmpty { cells.append((field, header[index], text)) }
        }
        return cells
    }

    /// The cell without surrounding white space. Most cells have none: they are returned as
    /// they are, without the Foundation round trip that was the import's hottest Swift path.
    static func trimmed(_ cell: String) -> String {
        let scalars = cell.unicodeScalars
        guard let first = scalars.first, let last = scalars.last else { return cell }
        guard first.properties.isWhitespace || last.properties.isWhitespace else { return cell }
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[start...end])
    }
}

extension ImportRowError: Error {
    init(line: Int, column: String?, _ error: ClientBaseError) {
        self.init(line: line, column: column, field: error.field, message: error.message)
    }
}

/// Cells to typed values, with the API's own messages ("field 'kind' must be one of: …").
enum ImportCell {
    static func refuse(_ field: String, _ expected: String) -> ClientBaseError {
        ClientBaseError(.invalid, "field '\(field)' must be \(expected)", field: field)
    }

    static func enumeration<E: RawRepresentable<String> & CaseIterable>(_ text: String, _ field: String, _ type: E.Type = E.self) throws -> E {
        guard let value = E(rawValue: text) else {
            throw refuse(field, "one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// Comma-separated values, each once.
    static func list<E: RawRepresentable<String> & CaseIterable & Equatable>(_ text: String, _ field: String, _ type: E.Type = E.self) throws -> [E] {
        var values: [E] = []
        for part in text.split(separator: ",") {
            let value: E = try enumeration(part.trimmingCharacters(in: .whitespaces), field)
            if !values.contains(value) { values.append(value) }
        }
        return values
    }

    static func date(_ text: String, _ field: String) throws -> PostgresDate {
        guard let date = PostgresDate(text) else { throw refuse(field, "a date as YYYY-MM-DD") }
        return date
    }

    static func integer(_ text: String, _ field: String) throws -> Int {
        guard let value = Int(text) else { throw refuse(field, "a whole number") }
        return value
    }

    /// Euros: `1250.50`, or as French spreadsheets write it, `1 250,50`.
    static func amount(_ text: String, _ field: String) throws -> Decimal {
        var cleaned = text.filter { !$0.isWhitespace && $0 != "\u{00A0}" && $0 != "\u{202F}" && $0 != "€" }
        if !cleaned.contains("."), cleaned.filter({ $0 == "," }).count == 1 {
            cleaned = cleaned.replacingOccurrences(of: ",", with: ".")
        }
        guard !cleaned.isEmpty, cleaned.allSatisfy({ $0.isASCIIDigit || $0 == "." || $0 == "-" }),
              let value = Decimal(string: cleaned, locale: Locale(identifier: "en_US_POSIX"))
        else { throw refuse(field, "an amount in euros, like 1250.50") }
        return value
    }

    static func uuid(_ text: String, _ field: String) throws -> UUID {
        guard let id = UUID(uuidString: text) else { throw refuse(field, "a UUID") }
        return id
    }

    static func bool(_ text: String, _ field: String) throws -> Bool {
        switch text.lowercased() {
        case "true", "yes", "oui", "1", "vrai": return true
        case "false", "no", "non", "0", "faux": return false
        default: throw refuse(field, "true or false (yes/no, oui/non, 1/0)")
        }
    }
}

/// The client fields a CSV column can feed: the API's writable fields, `consent_surveys` and
/// `consent_marketing` (true/false, source `import`), `custom_fields.<key>`, and `id` (to
/// update a client by its id).
enum ClientImportFields {
    static let consentFields = ["consent_surveys", "consent_marketing"]
    /// Columns of an export that an import leaves alone.
    static let readOnly: Set<String> = ["created_at", "updated_at", "category_since", "due_for_follow_up", "last_purchase_on", "erased"]

    static func isKnown(_ name: String) -> Bool {
        if name == "id" || consentFields.contains(name) { return true }
        if name.hasPrefix("custom_fields."), name.count > 14 { return true }
        guard let field = Client.Field(rawValue: name) else { return false }
        return !ClientChanges.readOnly.contains(field) && field != .consent && field != .customFields
    }

    /// Sets one field of the changes from a cell, as the JSON body would.
    static func set(_ name: String, _ text: String, on changes: inout ClientChanges, definitions: [CustomField]) throws {
        if name.hasPrefix("custom_fields.") {
            let key = String(name.dropFirst(14))
            guard let definition = definitions.first(where: { $0.key == key }) else {
                throw ClientBaseError(.invalid, "unknown custom field '\(key.prefix(50))'; define it first with POST /v1/custom-fields",
                                      field: name)
            }
            let input: CustomFieldInput
            switch definition.type {
            case .number: input = .number(try ImportCell.amount(text, name))
            case .boolean: input = .bool(try ImportCell.bool(text, name))
            default: input = .string(text)
            }
            changes.customFields[key] = input
            return
        }
        if let purpose = consentFields.firstIndex(of: name) {
            let change = ConsentChange(granted: try ImportCell.bool(text, name), source: "import")
            if purpose == 0 { changes.consentSurveys = change } else { changes.consentMarketing = change }
            return
        }
        guard let field = Client.Field(rawValue: name) else { return }
        switch field {
        case .kind: changes.kind = .set(try ImportCell.enumeration(text, name))
        case .category: changes.category = .set(try ImportCell.enumeration(text, name))
        case .maritalStatus: changes.maritalStatus = .set(try ImportCell.enumeration(text, name))
        case .housing: changes.housing = .set(try ImportCell.enumeration(text, name))
        case .incomeBracket: changes.incomeBracket = .set(try ImportCell.enumeration(text, name))
        case .purchaseStage: changes.purchaseStage = .set(try ImportCell.enumeration(text, name))
        case .followUpOn: changes.followUpOn = .set(try ImportCell.date(text, name))
        case .birthDate: changes.birthDate = .set(try ImportCell.date(text, name))
        case .firstPurchaseOn: changes.firstPurchaseOn = .set(try ImportCell.date(text, name))
        case .headcount: changes.headcount = .set(try ImportCell.integer(text, name))
        case .establishmentsCount: changes.establishmentsCount = .set(try ImportCell.integer(text, name))
        case .childrenCount: changes.childrenCount = .set(try ImportCell.integer(text, name))
        case .revenue: changes.revenue = .set(try ImportCell.amount(text, name))
        case .acquisitionCost: changes.acquisitionCost = .set(try ImportCell.amount(text, name))
        case .assignedUserID: changes.assignedUserID = .set(try ImportCell.uuid(text, name))
        case .needs: changes.needs = .set(try ImportCell.list(text, name))
        case .motivations: changes.motivations = .set(try ImportCell.list(text, name))
        case .brakes: changes.brakes = .set(try ImportCell.list(text, name))
        case .objections: changes.objections = .set(try ImportCell.list(text, name))
        case .tags:
            var tags: [String] = []
            for part in text.split(separator: ",") {
                let tag = part.trimmingCharacters(in: .whitespaces).lowercased()
                if !tag.isEmpty, !tags.contains(tag) { tags.append(tag) }
            }
            changes.tags = .set(tags)
        case .email: changes.email = .set(text.lowercased())
        case .siren: changes.siren = .set(text.filter { !$0.isWhitespace })
        case .acquisitionChannel: changes.acquisitionChannel = .set(text.lowercased())
        default:
            guard let path = textFields[field] else { return }
            changes[keyPath: path] = .set(text)
        }
    }

    /// Key paths are immutable values (only not marked Sendable).
    nonisolated(unsafe) static let textFields: [Client.Field: WritableKeyPath<ClientChanges, FieldChange<String>>] = [
        .firstName: \.firstName, .lastName: \.lastName, .organisationName: \.organisationName, .phone: \.phone,
        .city: \.city, .postalCode: \.postalCode, .externalRef: \.externalRef, .categoryReason: \.categoryReason,
        .addressLine1: \.addressLine1, .addressLine2: \.addressLine2, .website: \.website, .tradeName: \.tradeName,
        .activity: \.activity, .sector: \.sector, .legalForm: \.legalForm, .occupation: \.occupation, .notes: \.notes,
    ]
}

/// Phone digits as `phone_digits()` in SQL stores them (`phone_normalised`): digits only, French
/// numbers in national form, so `+33 6 12 34 56 78` and `06 12 34 56 78` are one number.
enum PhoneDigits {
    static func of(_ phone: String) -> String {
        let digits = phone.filter(\.isASCIIDigit)
        var rest = Substring(digits)
        if rest.hasPrefix("00") { rest = rest.dropFirst(2) }
        guard rest.hasPrefix("33") else { return digits }
        rest = rest.dropFirst(2)
        if rest.count == 10, rest.hasPrefix("0") { rest = rest.dropFirst() }
        guard rest.count == 9, let first = rest.first, first != "0" else { return digits }
        return "0" + rest
    }
}
