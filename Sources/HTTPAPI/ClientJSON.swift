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
        writer.items(changes) { writer, change in
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
        return writer.bytes
    }

    static func duplicates(_ candidates: [DuplicateCandidate]) -> [UInt8] {
        var writer = JSONWriter()
        writer.items(candidates) { writer, candidate in
            writer.raw("{\"client\":")
            writer.write(candidate.client)
            writer.raw(",\"matched_on\":")
            writer.strings(candidate.reasons.map(\.rawValue))
            writer.raw(",\"name_similarity\":")
            writer.ascii(String(format: "%.2f", candidate.nameSimilarity))
            writer.raw("}")
        }
        return writer.bytes
    }

    static func customField(_ field: CustomField) -> [UInt8] {
        var writer = JSONWriter()
        writer.write(field)
        return writer.bytes
    }

    static func customFields(_ fields: [CustomField]) -> [UInt8] {
        var writer = JSONWriter()
        writer.items(fields) { $0.write($1) }
        return writer.bytes
    }

    static func page(_ page: ClientPage) -> [UInt8] {
        var writer = JSONWriter()
        writer.page(page.items, nextCursor: page.nextCursor) { $0.write($1) }
        return writer.bytes
    }
}

extension JSONWriter {
    mutating func write(_ definition: CustomField) {
        raw("{\"choices\":")
        strings(definition.choices)
        raw(",\"created_at\":")
        date(definition.createdAt)
        field(",\"key\":", definition.key)
        field(",\"label\":", definition.label)
        field(",\"type\":", definition.type.rawValue)
        raw(",\"updated_at\":")
        date(definition.updatedAt)
        raw("}")
    }
}

struct JSONWriter {
    var bytes: [UInt8] = []
    /// Read once per response, not once per client of a page.
    let today = Timestamps.today()

    init() {
        bytes.reserveCapacity(512)
    }

    mutating func write(_ client: Client) {
        field("{\"acquisition_channel\":", client.acquisitionChannel)
        raw(",\"acquisition_cost\":")
        amount(client.acquisitionCost)
        field(",\"activity\":", client.activity)
        field(",\"address_line1\":", client.addressLine1)
        field(",\"address_line2\":", client.addressLine2)
        field(",\"assigned_user_id\":", client.assignedUserID?.lowercaseText)
        field(",\"birth_date\":", client.birthDate?.description)
        raw(",\"brakes\":")
        strings(client.brakes.map(\.rawValue))
        field(",\"category\":", client.category.rawValue)
        field(",\"category_reason\":", client.categoryReason)
        raw(",\"category_since\":")
        date(client.categorySince)
        raw(",\"children_count\":")
        integer(client.childrenCount)
        field(",\"city\":", client.city)
        raw(",\"consent\":{\"marketing\":")
        consent(client.consentMarketing)
        raw(",\"surveys\":")
        consent(client.consentSurveys)
        raw("},\"created_at\":")
        date(client.createdAt)
        raw(",\"custom_fields\":")
        customFields(client.customFields)
        raw(client.isDueForFollowUp(today: today) ? ",\"due_for_follow_up\":true" : ",\"due_for_follow_up\":false")
        field(",\"email\":", client.email)
        raw(client.erasedAt != nil ? ",\"erased\":true" : ",\"erased\":false")
        raw(",\"establishments_count\":")
        integer(client.establishmentsCount)
        field(",\"external_ref\":", client.externalRef)
        field(",\"first_name\":", client.firstName)
        field(",\"first_purchase_on\":", client.firstPurchaseOn?.description)
        field(",\"follow_up_on\":", client.followUpOn?.description)
        raw(",\"headcount\":")
        integer(client.headcount)
        field(",\"housing\":", client.housing?.rawValue)
        field(",\"id\":", client.id.lowercaseText)
        field(",\"income_bracket\":", client.incomeBracket?.rawValue)
        field(",\"kind\":", client.kind.rawValue)
        field(",\"last_name\":", client.lastName)
        field(",\"last_purchase_on\":", client.lastPurchaseOn?.description)
        field(",\"legal_form\":", client.legalForm)
        field(",\"marital_status\":", client.maritalStatus?.rawValue)
        raw(",\"motivations\":")
        strings(client.motivations.map(\.rawValue))
        raw(",\"needs\":")
        strings(client.needs.map(\.rawValue))
        field(",\"notes\":", client.notes)
        raw(",\"objections\":")
        strings(client.objections.map(\.rawValue))
        field(",\"occupation\":", client.occupation)
        field(",\"organisation_name\":", client.organisationName)
        field(",\"phone\":", client.phone)
        field(",\"postal_code\":", client.postalCode)
        field(",\"purchase_stage\":", client.purchaseStage?.rawValue)
        raw(",\"revenue\":")
        amount(client.revenue)
        field(",\"sector\":", client.sector)
        field(",\"siren\":", client.siren)
        raw(",\"tags\":")
        strings(client.tags)
        field(",\"trade_name\":", client.tradeName)
        raw(",\"updated_at\":")
        date(client.updatedAt)
        field(",\"website\":", client.website)
        raw("}")
    }

    private mutating func consent(_ consent: Client.Consent) {
        raw("{\"at\":")
        optionalDate(consent.at)
        raw(consent.granted ? ",\"granted\":true" : ",\"granted\":false")
        field(",\"source\":", consent.source)
        raw("}")
    }

    private mutating func customFields(_ values: [String: CustomFieldValue]) {
        guard !values.isEmpty else { return raw("{}") }
        raw("{")
        for (index, key) in values.keys.sorted().enumerated() {
            if index > 0 { raw(",") }
            string(key)
            raw(":")
            switch values[key]! {
            case .text(let text): string(text)
            case .number(let number): ascii(number.description)
            case .bool(let flag): raw(flag ? "true" : "false")
            }
        }
        raw("}")
    }

    /// `{"items": [...]}`: a list that fits in one answer.
    mutating func items<Items: Sequence>(_ items: Items, _ write: (inout JSONWriter, Items.Element) -> Void) {
        elements(items, write)
        raw("}")
    }

    /// `{"items": [...], "next_cursor": ...}`: one page of a list, the shape of every paged list.
    mutating func page<Items: Sequence>(_ items: Items, nextCursor: String?, _ write: (inout JSONWriter, Items.Element) -> Void) {
        elements(items, write)
        raw(",\"next_cursor\":")
        string(nextCursor)
        raw("}")
    }

    private mutating func elements<Items: Sequence>(_ items: Items, _ write: (inout JSONWriter, Items.Element) -> Void) {
        raw("{\"items\":[")
        for (index, item) in items.enumerated() {
            if index > 0 { raw(",") }
            write(&self, item)
        }
        raw("]")
    }

    mutating func strings(_ values: [String]) {
        raw("[")
        for (index, value) in values.enumerated() {
            if index > 0 { raw(",") }
            string(value)
        }
        raw("]")
    }

    mutating func integer(_ value: Int?) {
        guard let value else { return raw("null") }
        ascii(String(value))
    }

    /// Euros as a decimal string with two decimals ("1250.50"): exact, unlike a JSON number
    /// read as floating point.
    mutating func amount(_ value: Decimal?) {
        guard let value else { return raw("null") }
        var scaled = value * 100, rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        let cents = NSDecimalNumber(decimal: rounded).int64Value
        let magnitude = cents.magnitude
        let text = (cents < 0 ? "-" : "") + "\(magnitude / 100)." + (magnitude % 100 < 10 ? "0" : "") + "\(magnitude % 100)"
        string(text)
    }

    /// Text we made ourselves (digits, a number): no escaping needed.
    mutating func ascii(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// JSON that PostgreSQL wrote (a jsonb column's text): already valid, copied as is.
    mutating func json(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func optionalDate(_ value: Date?) {
        guard let value else { return raw("null") }
        date(value)
    }

    mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func field(_ prefix: StaticString, _ value: String?) {
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
