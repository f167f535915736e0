import Foundation
import Postgres

/// A field of a change request: left out, set to null, or set to a value. PATCH needs the
/// three apart: leaving `email` out keeps it, `"email": null` clears it.
public enum FieldChange<Value: Sendable & Hashable>: Sendable, Hashable {
    case unchanged
    case cleared
    case set(Value)
}

/// A consent as a request changes it: the new state and how the client expressed it.
public struct ConsentChange: Sendable, Hashable {
    public var granted: Bool
    public var source: String
}

/// The writable fields of a client, as a create (POST) or update (PATCH) body carries them.
/// Decoding is strict: unknown fields, wrong types and unknown enum values are refused with a
/// message naming the field.
public struct ClientChanges: Sendable, Hashable, Decodable {
    public var kind: FieldChange<Client.Kind> = .unchanged
    public var category: FieldChange<Client.Category> = .unchanged
    public var firstName: FieldChange<String> = .unchanged
    public var lastName: FieldChange<String> = .unchanged
    public var organisationName: FieldChange<String> = .unchanged
    public var email: FieldChange<String> = .unchanged
    public var phone: FieldChange<String> = .unchanged
    public var city: FieldChange<String> = .unchanged
    public var postalCode: FieldChange<String> = .unchanged
    public var externalRef: FieldChange<String> = .unchanged
    public var categoryReason: FieldChange<String> = .unchanged
    public var followUpOn: FieldChange<PostgresDate> = .unchanged
    public var addressLine1: FieldChange<String> = .unchanged
    public var addressLine2: FieldChange<String> = .unchanged
    public var website: FieldChange<String> = .unchanged
    public var tradeName: FieldChange<String> = .unchanged
    public var activity: FieldChange<String> = .unchanged
    public var siren: FieldChange<String> = .unchanged
    public var sector: FieldChange<String> = .unchanged
    public var headcount: FieldChange<Int> = .unchanged
    public var legalForm: FieldChange<String> = .unchanged
    public var revenue: FieldChange<Decimal> = .unchanged
    public var establishmentsCount: FieldChange<Int> = .unchanged
    public var birthDate: FieldChange<PostgresDate> = .unchanged
    public var maritalStatus: FieldChange<Client.MaritalStatus> = .unchanged
    public var childrenCount: FieldChange<Int> = .unchanged
    public var housing: FieldChange<Client.Housing> = .unchanged
    public var occupation: FieldChange<String> = .unchanged
    public var incomeBracket: FieldChange<Client.IncomeBracket> = .unchanged
    public var tags: FieldChange<[String]> = .unchanged
    public var notes: FieldChange<String> = .unchanged
    /// Keys to set (or, with `.null`, to remove); `customFieldsCleared` empties the bag first.
    public var customFields: [String: CustomFieldInput] = [:]
    public var customFieldsCleared = false
    public var needs: FieldChange<[Client.Need]> = .unchanged
    public var motivations: FieldChange<[Client.Motivation]> = .unchanged
    public var brakes: FieldChange<[Client.Brake]> = .unchanged
    public var objections: FieldChange<[Client.Objection]> = .unchanged
    public var purchaseStage: FieldChange<Client.PurchaseStage> = .unchanged
    public var acquisitionChannel: FieldChange<String> = .unchanged
    public var acquisitionCost: FieldChange<Decimal> = .unchanged
    public var firstPurchaseOn: FieldChange<PostgresDate> = .unchanged
    public var assignedUserID: FieldChange<UUID> = .unchanged
    public var consentSurveys: ConsentChange?
    public var consentMarketing: ConsentChange?

    public init() {}

    typealias Keys = Client.Field
    static let readOnly: Set<Keys> = [.id, .createdAt, .updatedAt, .categorySince, .dueForFollowUp, .lastPurchaseOn]

    public init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<AnyKey>
        do {
            container = try decoder.container(keyedBy: AnyKey.self)
        } catch {
            throw ClientBaseError(.invalid, "the body must be a JSON object")
        }
        for key in container.allKeys {
            guard let known = Keys(rawValue: key.stringValue) else {
                throw ClientBaseError(.invalid, "unknown field '\(key.stringValue)'", field: key.stringValue)
            }
            if Self.readOnly.contains(known) {
                throw ClientBaseError(.invalid, "field '\(key.stringValue)' is read-only", field: key.stringValue)
            }
        }
        let body = Body(container: container)
        kind = try body.enumeration(.kind)
        category = try body.enumeration(.category)
        firstName = try body.text(.firstName)
        lastName = try body.text(.lastName)
        organisationName = try body.text(.organisationName)
        email = try body.text(.email).map { $0.lowercased() }
        phone = try body.text(.phone)
        city = try body.text(.city)
        postalCode = try body.text(.postalCode)
        externalRef = try body.text(.externalRef)
        categoryReason = try body.text(.categoryReason)
        followUpOn = try body.date(.followUpOn)
        addressLine1 = try body.text(.addressLine1)
        addressLine2 = try body.text(.addressLine2)
        website = try body.text(.website)
        tradeName = try body.text(.tradeName)
        activity = try body.text(.activity)
        siren = try body.text(.siren).map { $0.filter { !$0.isWhitespace } }
        sector = try body.text(.sector)
        headcount = try body.integer(.headcount)
        legalForm = try body.text(.legalForm)
        revenue = try body.amount(.revenue)
        establishmentsCount = try body.integer(.establishmentsCount)
        birthDate = try body.date(.birthDate)
        maritalStatus = try body.enumeration(.maritalStatus)
        childrenCount = try body.integer(.childrenCount)
        housing = try body.enumeration(.housing)
        occupation = try body.text(.occupation)
        incomeBracket = try body.enumeration(.incomeBracket)
        tags = try body.tags(.tags)
        notes = try body.text(.notes)
        (customFields, customFieldsCleared) = try body.customFields()
        needs = try body.enumerationList(.needs)
        motivations = try body.enumerationList(.motivations)
        brakes = try body.enumerationList(.brakes)
        objections = try body.enumerationList(.objections)
        purchaseStage = try body.enumeration(.purchaseStage)
        acquisitionChannel = try body.text(.acquisitionChannel).map { $0.lowercased() }
        acquisitionCost = try body.amount(.acquisitionCost)
        firstPurchaseOn = try body.date(.firstPurchaseOn)
        assignedUserID = try body.uuid(.assignedUserID)
        (consentSurveys, consentMarketing) = try body.consent()
    }
}

extension FieldChange {
    func map<Other>(_ transform: (Value) -> Other) -> FieldChange<Other> {
        switch self {
        case .unchanged: .unchanged
        case .cleared: .cleared
        case .set(let value): .set(transform(value))
        }
    }
}

/// Reads one body's fields, each refused with a message naming it.
private struct Body {
    typealias Keys = Client.Field
    let container: KeyedDecodingContainer<AnyKey>

    func refuse(_ key: Keys, _ expected: String) -> ClientBaseError {
        ClientBaseError(.invalid, "field '\(key.rawValue)' must be \(expected)", field: key.rawValue)
    }

    /// nil when the field is absent, `.cleared` for null, else the decoded value.
    func value<T: Decodable>(_ key: Keys, as type: T.Type, expected: String) throws -> FieldChange<T> {
        let anyKey = AnyKey(key.rawValue)
        guard container.contains(anyKey) else { return .unchanged }
        if try container.decodeNil(forKey: anyKey) { return .cleared }
        guard let value = try? container.decode(T.self, forKey: anyKey) else { throw refuse(key, expected) }
        return .set(value)
    }

    func text(_ key: Keys) throws -> FieldChange<String> {
        switch try value(key, as: String.self, expected: "a string or null") {
        case .unchanged: return .unchanged
        case .cleared: return .cleared
        case .set(let text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed.isEmpty ? .cleared : .set(trimmed)
        }
    }

    func date(_ key: Keys) throws -> FieldChange<PostgresDate> {
        switch try text(key) {
        case .unchanged: return .unchanged
        case .cleared: return .cleared
        case .set(let text):
            guard let date = PostgresDate(text) else { throw refuse(key, "a date as YYYY-MM-DD") }
            return .set(date)
        }
    }

    func integer(_ key: Keys) throws -> FieldChange<Int> {
        try value(key, as: Int.self, expected: "a whole number or null")
    }

    func uuid(_ key: Keys) throws -> FieldChange<UUID> {
        switch try text(key) {
        case .unchanged: return .unchanged
        case .cleared: return .cleared
        case .set(let text):
            guard let id = UUID(uuidString: text) else { throw refuse(key, "a UUID or null") }
            return .set(id)
        }
    }

    /// Euros as a JSON number or a decimal string ("1250.50"), never through floating point.
    func amount(_ key: Keys) throws -> FieldChange<Decimal> {
        let anyKey = AnyKey(key.rawValue)
        guard container.contains(anyKey) else { return .unchanged }
        if try container.decodeNil(forKey: anyKey) { return .cleared }
        if let text = try? container.decode(String.self, forKey: anyKey) {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCIIDigit || $0 == "." || $0 == "-" }),
                  let amount = Decimal(string: trimmed, locale: Locale(identifier: "en_US_POSIX"))
            else { throw refuse(key, "an amount in euros, like 1250.50") }
            return .set(amount)
        }
        guard let amount = try? container.decode(Decimal.self, forKey: anyKey) else {
            throw refuse(key, "an amount in euros, like 1250.50")
        }
        return .set(amount)
    }

    func enumeration<E: RawRepresentable<String> & CaseIterable & Sendable & Hashable>(_ key: Keys) throws -> FieldChange<E> {
        let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
        switch try value(key, as: String.self, expected: "one of: \(allowed)") {
        case .unchanged: return .unchanged
        case .cleared: return .cleared
        case .set(let text):
            guard let value = E(rawValue: text) else { throw refuse(key, "one of: \(allowed)") }
            return .set(value)
        }
    }

    /// An array of controlled values, each once; null clears it.
    func enumerationList<E: RawRepresentable<String> & CaseIterable & Sendable & Hashable>(_ key: Keys) throws -> FieldChange<[E]> {
        let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
        switch try value(key, as: [String].self, expected: "an array of: \(allowed)") {
        case .unchanged: return .unchanged
        case .cleared: return .set([])
        case .set(let texts):
            var values: [E] = []
            for text in texts {
                guard let value = E(rawValue: text) else {
                    throw ClientBaseError(.invalid, "field '\(key.rawValue)' holds '\(text.prefix(50))', which is not one of: \(allowed)", field: key.rawValue)
                }
                if !values.contains(value) { values.append(value) }
            }
            return .set(values)
        }
    }

    /// Free labels: trimmed, lowercased, each once; null clears them. Lengths are checked by the rules.
    func tags(_ key: Keys) throws -> FieldChange<[String]> {
        switch try value(key, as: [String].self, expected: "an array of strings") {
        case .unchanged: return .unchanged
        case .cleared: return .set([])
        case .set(let texts):
            var tags: [String] = []
            for text in texts {
                let tag = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
                if !tags.contains(tag) { tags.append(tag) }
            }
            return .set(tags)
        }
    }

    func customFields() throws -> ([String: CustomFieldInput], cleared: Bool) {
        let key = Keys.customFields
        switch try value(key, as: [String: CustomFieldInput].self, expected: "an object of custom field values, or null") {
        case .unchanged: return ([:], false)
        case .cleared: return ([:], true)
        case .set(let values): return (values, false)
        }
    }

    /// `{"surveys": {"granted": true, "source": "form"}, "marketing": {...}}`, each optional.
    func consent() throws -> (surveys: ConsentChange?, marketing: ConsentChange?) {
        let anyKey = AnyKey(Keys.consent.rawValue)
        guard container.contains(anyKey) else { return (nil, nil) }
        guard let object = try? container.nestedContainer(keyedBy: AnyKey.self, forKey: anyKey) else {
            throw refuse(.consent, "an object with surveys and/or marketing")
        }
        for purpose in object.allKeys where !["surveys", "marketing"].contains(purpose.stringValue) {
            throw ClientBaseError(.invalid, "unknown consent '\(purpose.stringValue)'; use surveys or marketing",
                                  field: "consent.\(purpose.stringValue)")
        }
        func change(_ purpose: String) throws -> ConsentChange? {
            let field = "consent.\(purpose)"
            guard object.contains(AnyKey(purpose)) else { return nil }
            guard let entry = try? object.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey(purpose)) else {
                throw ClientBaseError(.invalid, "\(field) must be an object like {\"granted\": true, \"source\": \"form\"}", field: field)
            }
            for name in entry.allKeys.map(\.stringValue) where name != "granted" && name != "source" {
                let message = name == "at" ? "\(field).at is read-only: the server records when" : "unknown field '\(field).\(name)'"
                throw ClientBaseError(.invalid, message, field: "\(field).\(name)")
            }
            guard let granted = try? entry.decode(Bool.self, forKey: AnyKey("granted")) else {
                throw ClientBaseError(.invalid, "\(field).granted must be true or false", field: "\(field).granted")
            }
            let source = (try? entry.decode(String.self, forKey: AnyKey("source")))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard !source.isEmpty, source.count <= 100 else {
                throw ClientBaseError(.invalid,
                    "\(field).source must say how the client gave or withdrew it (form, email, phone, in_store, import...), at most 100 characters",
                    field: "\(field).source")
            }
            return ConsentChange(granted: granted, source: source)
        }
        return (try change("surveys"), try change("marketing"))
    }
}

/// A JSON key of any name, so a body's unknown fields can be named in the error.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
