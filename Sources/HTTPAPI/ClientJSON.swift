import ClientBase
import Foundation
import Postgres

#if canImport(Glibc)
import Glibc
#endif

/// Writes clients as JSON by hand: the hottest path of the API (GET by id) spent more time in
/// JSONEncoder than in PostgreSQL. Keys are sorted and every field is present (null if unknown).
enum ClientJSON {
    static func client(_ client: Client) -> [UInt8] {
        var writer = JSONWriter()
        writer.write(client)
        return writer.bytes
    }

    static func history(_ changes: [CategoryChange]) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"items\":[")
        for (index, change) in changes.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"author\":")
            writer.string(change.author)
            writer.raw(",\"changed_at\":")
            writer.date(change.changedAt)
            writer.raw(",\"from_category\":")
            writer.string(change.from?.rawValue)
            writer.raw(",\"reason\":")
            writer.string(change.reason)
            writer.raw(",\"to_category\":")
            writer.string(change.to.rawValue)
            writer.raw("}")
        }
        writer.raw("]}")
        return writer.bytes
    }

    static func page(_ page: ClientPage) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"items\":[")
        for (index, client) in page.items.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.write(client)
        }
        writer.raw("],\"next_cursor\":")
        writer.string(page.nextCursor)
        writer.raw("}")
        return writer.bytes
    }
}

struct JSONWriter {
    var bytes: [UInt8] = []
    /// Read once per response, not once per client of a page.
    let today = JSONWriter.today()

    init() {
        bytes.reserveCapacity(512)
    }

    mutating func write(_ client: Client) {
        field("{\"category\":", client.category.rawValue)
        field(",\"category_reason\":", client.categoryReason)
        raw(",\"category_since\":")
        date(client.categorySince)
        field(",\"city\":", client.city)
        raw(",\"created_at\":")
        date(client.createdAt)
        raw(client.isDueForFollowUp(today: today) ? ",\"due_for_follow_up\":true" : ",\"due_for_follow_up\":false")
        field(",\"email\":", client.email)
        field(",\"external_ref\":", client.externalRef)
        field(",\"first_name\":", client.firstName)
        field(",\"follow_up_on\":", client.followUpOn?.description)
        field(",\"id\":", client.id.uuidString.lowercased())
        field(",\"kind\":", client.kind.rawValue)
        field(",\"last_name\":", client.lastName)
        field(",\"organisation_name\":", client.organisationName)
        field(",\"phone\":", client.phone)
        field(",\"postal_code\":", client.postalCode)
        raw(",\"updated_at\":")
        date(client.updatedAt)
        raw("}")
    }

    /// Today's date in UTC (the follow-up dates are calendar dates).
    static func today() -> PostgresDate {
        var seconds = time_t(Date().timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return PostgresDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday))
    }

    mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func field(_ prefix: StaticString, _ value: String?) {
        raw(prefix)
        string(value)
    }

    /// A JSON string with the escapes RFC 8259 requires, or null.
    mutating func string(_ value: String?) {
        guard let value else { return raw("null") }
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hexDigit(byte >> 4))
                bytes.append(Self.hexDigit(byte & 0xF))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"2026-11-23T10:13:49.123Z"`: UTC, milliseconds.
    mutating func date(_ date: Date) {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        let millis = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        bytes.append(UInt8(ascii: "\""))
        digits(Int(parts.tm_year) + 1900, 4); bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); bytes.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); bytes.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); bytes.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); bytes.append(UInt8(ascii: "."))
        digits(millis, 3)
        raw("Z\"")
    }

    private mutating func digits(_ value: Int, _ width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
