import Foundation
import Postgres
import Tenancy

// What the records around the purchase (relationships, purchases, interactions, complaints,
// payments) share: strict body decoding, money, the check that a referenced client is one the
// actor may see, pages and filters.

/// Reads a create or update body strictly: unknown and read-only fields are refused, and each
/// field is left out (`.unchanged`), null (`.cleared`) or a value of the right type, else a 422
/// naming it.
public struct BodyReader {
    let container: KeyedDecodingContainer<AnyKey>

    public init(_ decoder: any Decoder, writable: [String], readOnly: [String]) throws {
        do {
            container = try decoder.container(keyedBy: AnyKey.self)
        } catch {
            throw ClientBaseError(.invalid, "the body must be a JSON object")
        }
        for key in container.allKeys where !writable.contains(key.stringValue) {
            let name = key.stringValue
            throw ClientBaseError(.invalid,
                readOnly.contains(name) ? "field '\(name)' is read-only" : "unknown field '\(name)'", field: name)
        }
    }

    private func presence(_ name: String) throws -> AnyKey? {
        let key = AnyKey(name)
        guard container.contains(key) else { return nil }
        return try container.decodeNil(forKey: key) ? nil : key
    }

    private func isPresent(_ name: String) -> Bool { container.contains(AnyKey(name)) }

    /// Text, trimmed; an empty string clears the field like null.
    public func text(_ name: String, maximumLength: Int = 200) throws -> FieldChange<String> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        guard let text = try? container.decode(String.self, forKey: key) else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a string or null", field: name)
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count > maximumLength {
            throw ClientBaseError(.invalid, "field '\(name)' is longer than \(maximumLength) characters", field: name)
        }
        return trimmed.isEmpty ? .cleared : .set(trimmed)
    }

    public func enumeration<E: RawRepresentable<String> & CaseIterable & Sendable & Hashable>(
        _ name: String, _ type: E.Type = E.self
    ) throws -> FieldChange<E> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        guard let text = try? container.decode(String.self, forKey: key), let value = E(rawValue: text) else {
            let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw ClientBaseError(.invalid, "field '\(name)' must be one of: \(allowed)", field: name)
        }
        return .set(value)
    }

    public func date(_ name: String) throws -> FieldChange<PostgresDate> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        guard let text = try? container.decode(String.self, forKey: key), let date = PostgresDate(text) else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a date as YYYY-MM-DD", field: name)
        }
        return .set(date)
    }

    public func timestamp(_ name: String) throws -> FieldChange<Date> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        guard let text = try? container.decode(String.self, forKey: key), let date = Timestamps.parse(text) else {
            throw ClientBaseError(.invalid,
                "field '\(name)' must be an ISO 8601 timestamp with its offset, like 2026-03-14T15:30:00Z", field: name)
        }
        return .set(date)
    }

    public func id(_ name: String) throws -> FieldChange<UUID> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        guard let text = try? container.decode(String.self, forKey: key), let id = UUID(uuidString: text) else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a record id (a UUID)", field: name)
        }
        return .set(id)
    }

    /// A list of ids, duplicates removed (first occurrence kept).
    public func ids(_ name: String, maximumCount: Int = 50) throws -> FieldChange<[UUID]> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        guard let texts = try? container.decode([String].self, forKey: key) else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a list of record ids", field: name)
        }
        var ids: [UUID] = []
        for text in texts {
            guard let id = UUID(uuidString: text) else {
                throw ClientBaseError(.invalid, "field '\(name)' holds '\(text.prefix(64))', which is not a record id (a UUID)", field: name)
            }
            if !ids.contains(id) { ids.append(id) }
        }
        if ids.count > maximumCount {
            throw ClientBaseError(.invalid, "field '\(name)' may hold at most \(maximumCount) ids", field: name)
        }
        return .set(ids)
    }

    /// An amount in euros: a string like "149.90" (as this API writes money) or a JSON number,
    /// at most 2 decimals, never rounded silently.
    public func money(_ name: String) throws -> FieldChange<Decimal> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        return .set(try Money.decode(container, key: key, field: name, decimals: 2))
    }

    public func integer(_ name: String) throws -> FieldChange<Int> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        guard let value = try? container.decode(Int.self, forKey: key) else {
            throw ClientBaseError(.invalid, "field '\(name)' must be a whole number", field: name)
        }
        return .set(value)
    }

    /// A nested value decoded by its own Decodable (which throws ClientBaseError itself).
    public func nested<T: Decodable>(_ name: String, _ type: T.Type) throws -> FieldChange<T> {
        guard isPresent(name) else { return .unchanged }
        guard let key = try presence(name) else { return .cleared }
        do {
            return .set(try container.decode(T.self, forKey: key))
        } catch let error as ClientBaseError {
            throw error
        } catch {
            throw ClientBaseError(.invalid, "field '\(name)' does not have the expected shape", field: name)
        }
    }
}

extension FieldChange {
    /// Applies the change to an optional field.
    public func apply(to field: inout Value?) {
        switch self {
        case .unchanged: break
        case .cleared: field = nil
        case .set(let value): field = value
        }
    }

    /// Applies the change to a field that cannot be null.
    public func apply(to field: inout Value, name: String) throws {
        switch self {
        case .unchanged: break
        case .cleared: throw ClientBaseError(.invalid, "field '\(name)' cannot be null", field: name)
        case .set(let value): field = value
        }
    }

    public var isUnchanged: Bool {
        if case .unchanged = self { return true }
        return false
    }

    public var value: Value? {
        if case .set(let value) = self { return value }
        return nil
    }
}

/// Euros as exact decimals: `numeric(14,2)` in PostgreSQL, `Decimal` in Swift, a string with
/// two decimals in JSON ("149.90").
public enum Money {
    /// The largest amount numeric(14,2) holds, with room to add lines up.
    static let maximum = Decimal(string: "999999999999.99")!

    /// Rounded to the cent, halves away from zero (as PostgreSQL rounds numeric).
    public static func rounded(_ value: Decimal, scale: Int = 2) -> Decimal {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, .plain)
        return result
    }

    /// "149.90": always two decimals.
    public static func text(_ value: Decimal) -> String {
        fixed(value, decimals: 2)
    }

    /// The value with exactly `decimals` decimals, without going through a Double.
    static func fixed(_ value: Decimal, decimals: Int) -> String {
        let rounded = rounded(value, scale: decimals)
        let negative = rounded < 0
        var text = NSDecimalNumber(decimal: negative ? -rounded : rounded).description(withLocale: nil)
        var parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 { parts.append("") }
        if decimals == 0 { text = parts[0] } else {
            text = parts[0] + "." + parts[1].padding(toLength: decimals, withPad: "0", startingAt: 0)
        }
        return negative ? "-" + text : text
    }

    /// A decimal from a JSON string or number with at most `decimals` decimals.
    static func decode(
        _ container: KeyedDecodingContainer<AnyKey>, key: AnyKey, field: String, decimals: Int
    ) throws -> Decimal {
        let text: String
        if let string = try? container.decode(String.self, forKey: key) {
            text = string.trimmingCharacters(in: .whitespaces)
        } else if let number = try? container.decode(Decimal.self, forKey: key) {
            text = NSDecimalNumber(decimal: number).description(withLocale: nil)
        } else {
            throw ClientBaseError(.invalid, "field '\(field)' must be a decimal number like \"149.90\"", field: field)
        }
        guard let value = parse(text, decimals: decimals) else {
            throw ClientBaseError(.invalid,
                "field '\(field)' must be a decimal number with at most \(decimals) decimals, like \"149.90\"", field: field)
        }
        guard abs(value) <= maximum else {
            throw ClientBaseError(.invalid, "field '\(field)' is too large", field: field)
        }
        return value
    }

    /// Digits, an optional sign and dot; no exponent, no thousands separator.
    static func parse(_ text: String, decimals: Int) -> Decimal? {
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 15,
              parts.allSatisfy({ $0.allSatisfy { "0"..."9" ~= $0 } }),
              parts.count == 1 || (!parts[1].isEmpty && parts[1].count <= decimals)
        else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }
}

/// Timestamps in and dates out.
public enum Timestamps {
    /// ISO 8601 with an offset (Z or ±hh:mm), with or without fractional seconds.
    static func parse(_ text: String) -> Date? {
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)
    }

    /// Today's date in UTC: the default of a record's date, and what "due" is measured against.
    /// gmtime rather than a Calendar: every client response asks.
    public static func today(_ now: Date = Date()) -> PostgresDate {
        var seconds = time_t(now.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return PostgresDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday))
    }
}

/// The clients a request names, checked against what the actor may see: a client of another
/// tenant, one that does not exist and one not assigned to an agent are refused alike (422
/// naming the field), so nothing tells them apart.
struct ClientReferences {
    /// The visible clients among those named, with their kind.
    var visible: [UUID: Client.Kind] = [:]

    /// The statement that finds them (run in the write's transaction).
    static func query(_ ids: [UUID], as actor: Actor) -> PostgresQuery {
        """
        SELECT c.id, c.kind FROM clients c
        WHERE c.id = ANY(\(ids)) AND \(fragment: actor.access.condition(column: "c.assigned_user_id"))
        """
    }

    init(rows: PostgresRows) throws {
        for row in rows {
            visible[try row.decode(UUID.self, at: 0)] = try row.decode(Client.Kind.self, at: 1)
        }
    }

    /// The kind of a named client, or a 422 naming the field.
    @discardableResult
    func require(_ id: UUID, field: String) throws -> Client.Kind {
        guard let kind = visible[id] else {
            throw ClientBaseError(.invalid, "\(field) does not name a client (\(id.auditID))", field: field)
        }
        return kind
    }
}

/// A page of records in creation order (ids are UUIDv7); pass `nextCursor` back as `cursor`.
public struct RecordPage<Record: Sendable>: Sendable {
    public var items: [Record]
    public var nextCursor: String?

    public init(_ items: [Record], limit: Int, id: (Record) -> UUID) {
        var items = items
        if items.count > limit {
            items.removeLast()
            nextCursor = items.last.map { IDCursor.encode(id($0)) }
        }
        self.items = items
    }
}

/// What every list of records around the purchase can be filtered and paged by. `from` and
/// `to` are inclusive dates on the record's own date (purchased_on, occurred_at, opened_on,
/// due_on).
public struct RecordFilter: Sendable {
    public static let maximumLimit = 200
    public var clientID: UUID?
    public var from: PostgresDate?
    public var to: PostgresDate?
    public var limit: Int = 50
    public var after: UUID?

    public init(clientID: UUID? = nil, from: PostgresDate? = nil, to: PostgresDate? = nil, limit: Int = 50, after: UUID? = nil) {
        self.clientID = clientID
        self.from = from
        self.to = to
        self.limit = limit
        self.after = after
    }
}

/// The common operations of a record repository, so the HTTP layer serves them alike.
public protocol RecordRepository: Sendable {
    associatedtype Record: Sendable
    associatedtype Changes: Decodable & Sendable
    associatedtype Filter: Sendable
    /// The record's name in messages and the audit log: "purchase".
    static var entity: String { get }
    var database: PostgresClient { get }
    func create(_ changes: Changes, as actor: Actor, in session: PostgresSession) async throws -> Record
    func get(_ id: UUID, as actor: Actor) async throws -> Record
    func list(_ filter: Filter, as actor: Actor) async throws -> RecordPage<Record>
    /// `expecting` sees the record as it is, under its row lock, before the change: an
    /// `If-Match` check that throws leaves the record untouched.
    func update(_ id: UUID, _ changes: Changes, as actor: Actor, expecting: RecordPrecondition<Record>) async throws -> Record
    func delete(_ id: UUID, as actor: Actor, expecting: RecordPrecondition<Record>) async throws
}

/// A check on a record as it is, made inside the transaction that changes it.
public typealias RecordPrecondition<Record> = @Sendable (Record) throws -> Void

extension RecordRepository {
    public func create(_ changes: Changes, as actor: Actor) async throws -> Record {
        try await database.withTenantTransaction(actor.scope) { session in
            try await create(changes, as: actor, in: session)
        }
    }

    public func update(_ id: UUID, _ changes: Changes, as actor: Actor) async throws -> Record {
        try await update(id, changes, as: actor, expecting: { _ in })
    }

    public func delete(_ id: UUID, as actor: Actor) async throws {
        try await delete(id, as: actor, expecting: { _ in })
    }

    /// The record's name in prose: "market estimate".
    public static var noun: String { entity.replacingOccurrences(of: "_", with: " ") }

    static func notFound(_ id: UUID) -> ClientBaseError {
        ClientBaseError(.notFound, "no \(noun) with id \(id.auditID)")
    }
}

/// Constraint violations our checks did not catch first (a client deleted meanwhile) are the
/// caller's error, never a 500.
func mappingRecordConstraints<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PostgresError where error.sqlState == .foreignKeyViolation {
        throw ClientBaseError(.invalid, "a record this one names no longer exists")
    } catch let error as PostgresError where error.sqlState == .checkViolation {
        throw ClientBaseError(.invalid, "the record breaks a rule: \(error.message)")
    }
}

extension Actor {
    /// A condition that the client in `column` is one this actor may see: nothing to check for
    /// full access, else that client's assignment (`ClientAccess.condition`).
    func sees(clientIn column: String) -> PostgresQuery {
        switch access {
        case .all:
            return "TRUE"
        case .assignedTo:
            return """
                EXISTS (SELECT 1 FROM clients c WHERE c.id = \(unescaped: column)
                        AND \(fragment: access.condition(column: "c.assigned_user_id")))
                """
        }
    }
}

extension Timestamps {
    /// `2026-03-14T15:30:00.123Z`, for audit snapshots.
    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// What a complaint or a payment names: its client, and maybe a purchase, which must be one
/// the actor sees and one that client took part in (as buyer, payer or consumer).
enum RecordReferences {
    static func check(client: UUID, purchase: UUID?, as actor: Actor, in session: PostgresSession) async throws {
        var statements = [ClientReferences.query([client], as: actor)]
        if let purchase {
            statements.append("""
                SELECT p.buyer_id = \(client) OR coalesce(p.payer_id = \(client), false)
                       OR EXISTS (SELECT 1 FROM purchase_consumers pc WHERE pc.purchase_id = p.id AND pc.client_id = \(client))
                FROM purchases p WHERE p.id = \(purchase) AND \(fragment: actor.sees(clientIn: "p.buyer_id"))
                """)
        }
        let rows = try await session.pipeline(statements)
        try ClientReferences(rows: rows[0]).require(client, field: "client_id")
        if let purchase {
            guard let row = rows[1].first else {
                throw ClientBaseError(.invalid, "purchase_id does not name a purchase (\(purchase.auditID))", field: "purchase_id")
            }
            guard try row.decode(Bool.self, at: 0) else {
                throw ClientBaseError(.invalid, "purchase_id names a purchase this client took no part in", field: "purchase_id")
            }
        }
    }
}

extension Money {
    /// A decimal as a plain JSON number: no exponent, no trailing zeros ("2", "1.5").
    public static func plainNumber(_ value: Decimal, maximumDecimals: Int = 3) -> String {
        var text = fixed(value, decimals: maximumDecimals)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }
}

/// An opaque cursor of the records around the purchase: the last id of the page (ids are
/// UUIDv7, so id order is creation order and pages stay stable while records are added).
public enum IDCursor {
    public static func encode(_ id: UUID) -> String {
        CursorText.encode(id.lowercaseText)
    }

    public static func decode(_ cursor: String) -> UUID? {
        CursorText.decode(cursor, maximumLength: 64).flatMap(UUID.init(uuidString:))
    }
}
