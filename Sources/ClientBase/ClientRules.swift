import Foundation
import Postgres

/// The rules a client record keeps, whichever way it was written.
enum ClientRules {
    static let maximumTextLength = 200

    static func validate(_ client: Client) throws {
        switch client.kind {
        case .individual:
            guard client.firstName != nil || client.lastName != nil else {
                throw ClientBaseError(.invalid, "an individual needs a first_name or a last_name", field: "last_name")
            }
        case .business, .publicBody:
            guard client.organisationName != nil else {
                throw ClientBaseError(.invalid, "a \(client.kind.rawValue) needs an organisation_name", field: "organisation_name")
            }
        }
        let texts: [(String, String?)] = [
            ("first_name", client.firstName), ("last_name", client.lastName),
            ("organisation_name", client.organisationName), ("city", client.city),
        ]
        for (field, value) in texts where (value?.count ?? 0) > maximumTextLength {
            throw ClientBaseError(.invalid, "\(field) is longer than \(maximumTextLength) characters", field: field)
        }
        if let email = client.email, !isPlausibleEmail(email) {
            throw ClientBaseError(.invalid, "email '\(email)' is not an email address", field: "email")
        }
        if let phone = client.phone, !isPlausiblePhone(phone) {
            throw ClientBaseError(.invalid, "phone must hold 6 to 20 digits, with optional +, spaces, dots, dashes or brackets", field: "phone")
        }
        if let code = client.postalCode,
           code.count > 10 || !code.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || $0 == " " || $0 == "-" }) {
            throw ClientBaseError(.invalid, "postal_code must be at most 10 letters, digits, spaces or dashes", field: "postal_code")
        }
        switch client.category {
        case .relativeNonConsumer, .absoluteNonConsumer, .formerClient:
            guard client.categoryReason != nil else {
                let why = [
                    Client.Category.relativeNonConsumer: "the temporary reason they cannot consume yet",
                    .absoluteNonConsumer: "the permanent reason they cannot consume",
                    .formerClient: "why they left",
                ][client.category]!
                throw ClientBaseError(.invalid, "a \(client.category.rawValue) needs a category_reason: \(why)", field: "category_reason")
            }
        default:
            break
        }
        if client.followUpOn != nil, client.category != .relativeNonConsumer {
            throw ClientBaseError(.invalid, "follow_up_on applies to a relative_non_consumer only", field: "follow_up_on")
        }
        if let reason = client.categoryReason, reason.count > 500 {
            throw ClientBaseError(.invalid, "category_reason is longer than 500 characters", field: "category_reason")
        }
        if let reference = client.externalRef, reference.count > 100 {
            throw ClientBaseError(.invalid, "external_ref is longer than 100 characters", field: "external_ref")
        }
        try validateQualification(client)
    }

    /// The fields of DOMAIN.md section 2 beyond identity and category.
    static func validateQualification(_ client: Client) throws {
        try checkKind(client)
        let texts: [(Client.Field, String?, Int)] = [
            (.addressLine1, client.addressLine1, 200), (.addressLine2, client.addressLine2, 200),
            (.website, client.website, 200), (.tradeName, client.tradeName, 200), (.activity, client.activity, 200),
            (.sector, client.sector, 100), (.legalForm, client.legalForm, 100), (.occupation, client.occupation, 100),
            (.notes, client.notes, 10_000), (.acquisitionChannel, client.acquisitionChannel, 100),
        ]
        for (field, value, limit) in texts where (value?.count ?? 0) > limit {
            throw ClientBaseError(.invalid, "\(field.rawValue) is longer than \(limit) characters", field: field.rawValue)
        }
        if let website = client.website, website.contains(where: \.isWhitespace) || !website.contains(".") {
            throw ClientBaseError(.invalid, "website must be an address like www.example.fr", field: "website")
        }
        if let siren = client.siren, !Siren.isValid(siren) {
            throw ClientBaseError(.invalid, "siren must be 9 digits passing the Luhn check (spaces allowed)", field: "siren")
        }
        let counts: [(Client.Field, Int?, ClosedRange<Int>)] = [
            (.headcount, client.headcount, 0...10_000_000), (.establishmentsCount, client.establishmentsCount, 1...1_000_000),
            (.childrenCount, client.childrenCount, 0...30),
        ]
        for (field, value, range) in counts {
            if let value, !range.contains(value) {
                throw ClientBaseError(.invalid, "\(field.rawValue) must be from \(range.lowerBound) to \(range.upperBound)", field: field.rawValue)
            }
        }
        for (field, amount) in [(Client.Field.revenue, client.revenue), (.acquisitionCost, client.acquisitionCost)] {
            if let amount, !isAmount(amount) {
                throw ClientBaseError(.invalid,
                    "\(field.rawValue) must be an amount in euros from 0 to 99999999999999.99, with at most 2 decimals", field: field.rawValue)
            }
        }
        for (field, date) in [(Client.Field.birthDate, client.birthDate), (.firstPurchaseOn, client.firstPurchaseOn)] {
            if let date, date.year < 1900 {
                throw ClientBaseError(.invalid, "\(field.rawValue) is before 1900", field: field.rawValue)
            }
        }
        if client.tags.count > maximumTags {
            throw ClientBaseError(.invalid, "at most \(maximumTags) tags", field: "tags")
        }
        for tag in client.tags where tag.isEmpty || tag.count > 50 || tag.contains(",") {
            throw ClientBaseError(.invalid, "each tag must be 1 to 50 characters, without commas", field: "tags")
        }
        if client.purchaseStage != nil, client.category != .prospect {
            throw ClientBaseError(.invalid, "purchase_stage applies to a prospect only", field: "purchase_stage")
        }
        if client.customFields.count > CustomField.maximumCount {
            throw ClientBaseError(.invalid, "at most \(CustomField.maximumCount) custom fields", field: "custom_fields")
        }
    }

    static let maximumTags = 50

    /// Organisation fields on an individual, or individual fields on an organisation, are refused.
    static func checkKind(_ client: Client) throws {
        let organisation: [(Client.Field, Bool)] = [
            (.tradeName, client.tradeName != nil), (.activity, client.activity != nil), (.siren, client.siren != nil),
            (.sector, client.sector != nil), (.headcount, client.headcount != nil), (.legalForm, client.legalForm != nil),
            (.revenue, client.revenue != nil), (.establishmentsCount, client.establishmentsCount != nil),
        ]
        let individual: [(Client.Field, Bool)] = [
            (.birthDate, client.birthDate != nil), (.maritalStatus, client.maritalStatus != nil),
            (.childrenCount, client.childrenCount != nil), (.housing, client.housing != nil),
            (.occupation, client.occupation != nil), (.incomeBracket, client.incomeBracket != nil),
        ]
        let (refused, holder) = client.kind == .individual ? (organisation, "a business or public body") : (individual, "an individual")
        if let field = refused.first(where: \.1)?.0 {
            throw ClientBaseError(.invalid, "\(field.rawValue) applies to \(holder) only, not to a \(client.kind.rawValue)", field: field.rawValue)
        }
    }

    static func isAmount(_ amount: Decimal) -> Bool {
        guard amount >= 0, amount < Decimal(string: "100000000000000")! else { return false }
        var scaled = amount * 100, rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        return rounded == scaled
    }

    static func isPlausibleEmail(_ email: String) -> Bool {
        // On the UTF-8 bytes: with Foundation imported, `contains(".")` on a substring searched
        // through CoreFoundation, 2 µs a call (a fifth of a second in a 100,000-row import).
        let utf8 = email.utf8
        let parts = utf8.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        let dot = UInt8(ascii: ".")
        // At most 254 characters; the bytes are counted first, as they are no fewer.
        guard utf8.count <= 254 || email.count <= 254, parts.count == 2, !parts[0].isEmpty,
              parts[1].contains(dot), parts[1].first != dot, parts[1].last != dot,
              !email.unicodeScalars.contains(where: \.properties.isWhitespace)
        else { return false }
        return true
    }

    static func isPlausiblePhone(_ phone: String) -> Bool {
        let digits = phone.filter(\.isASCIIDigit).count
        let allowed = phone.allSatisfy { $0.isASCIIDigit || " +.-()".contains($0) }
        return allowed && (6...20).contains(digits)
    }
}

extension Character {
    /// 0 to 9 (without the Unicode property lookup of `isNumber`).
    var isASCIIDigit: Bool { asciiValue.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false }
}

extension ClientChanges {
    /// The record a create request makes: kind is required, category defaults to prospect.
    func newClient(id: UUID, now: Date, definitions: [CustomField] = []) throws -> Client {
        guard case .set(let kind) = kind else {
            throw ClientBaseError(.invalid, "field 'kind' is required (individual, business or public_body)", field: "kind")
        }
        var category = Client.Category.prospect
        if case .set(let value) = self.category { category = value }
        var client = Client(id: id, kind: kind, category: category, categorySince: now, createdAt: now, updatedAt: now)
        try apply(to: &client, now: now, definitions: definitions)
        return client
    }

    /// Applies the changes to a record and checks the result. `definitions` are the tenant's
    /// custom fields (needed only when the changes carry some); consent changes are dated `now`.
    func apply(to client: inout Client, now: Date = Date(), definitions: [CustomField] = []) throws {
        if case .set(let value) = kind { client.kind = value }
        if case .cleared = kind { throw ClientBaseError(.invalid, "field 'kind' cannot be null", field: "kind") }
        if case .set(let value) = category, value != client.category {
            // A new standing starts without the old one's reason, follow-up date and purchase stage.
            client.category = value
            client.categoryReason = nil
            client.followUpOn = nil
            if value != .prospect { client.purchaseStage = nil }
        }
        if case .cleared = category { throw ClientBaseError(.invalid, "field 'category' cannot be null", field: "category") }
        Self.apply(firstName, to: &client.firstName)
        Self.apply(lastName, to: &client.lastName)
        Self.apply(organisationName, to: &client.organisationName)
        Self.apply(email, to: &client.email)
        Self.apply(phone, to: &client.phone)
        Self.apply(city, to: &client.city)
        Self.apply(postalCode, to: &client.postalCode)
        Self.apply(externalRef, to: &client.externalRef)
        Self.apply(categoryReason, to: &client.categoryReason)
        Self.apply(followUpOn, to: &client.followUpOn)
        Self.apply(addressLine1, to: &client.addressLine1)
        Self.apply(addressLine2, to: &client.addressLine2)
        Self.apply(website, to: &client.website)
        Self.apply(tradeName, to: &client.tradeName)
        Self.apply(activity, to: &client.activity)
        Self.apply(siren, to: &client.siren)
        Self.apply(sector, to: &client.sector)
        Self.apply(headcount, to: &client.headcount)
        Self.apply(legalForm, to: &client.legalForm)
        Self.apply(revenue, to: &client.revenue)
        Self.apply(establishmentsCount, to: &client.establishmentsCount)
        Self.apply(birthDate, to: &client.birthDate)
        Self.apply(maritalStatus, to: &client.maritalStatus)
        Self.apply(childrenCount, to: &client.childrenCount)
        Self.apply(housing, to: &client.housing)
        Self.apply(occupation, to: &client.occupation)
        Self.apply(incomeBracket, to: &client.incomeBracket)
        Self.apply(notes, to: &client.notes)
        Self.apply(purchaseStage, to: &client.purchaseStage)
        Self.apply(acquisitionChannel, to: &client.acquisitionChannel)
        Self.apply(acquisitionCost, to: &client.acquisitionCost)
        Self.apply(firstPurchaseOn, to: &client.firstPurchaseOn)
        Self.apply(assignedUserID, to: &client.assignedUserID)
        if case .set(let value) = tags { client.tags = value }
        if case .set(let value) = needs { client.needs = value }
        if case .set(let value) = motivations { client.motivations = value }
        if case .set(let value) = brakes { client.brakes = value }
        if case .set(let value) = objections { client.objections = value }
        if let change = consentSurveys { client.consentSurveys.apply(change, now: now) }
        if let change = consentMarketing { client.consentMarketing.apply(change, now: now) }
        try applyCustomFields(to: &client, definitions: definitions)
        try ClientRules.validate(client)
    }

    /// Whether the changes carry custom-field values, so the definitions must be read.
    var needsCustomFieldDefinitions: Bool { !customFields.isEmpty }

    private func applyCustomFields(to client: inout Client, definitions: [CustomField]) throws {
        if customFieldsCleared { client.customFields = [:] }
        for (key, input) in customFields.sorted(by: { $0.key < $1.key }) {
            if input == .null {
                client.customFields[key] = nil
                continue
            }
            guard let definition = definitions.first(where: { $0.key == key }) else {
                throw ClientBaseError(.invalid, "unknown custom field '\(key.prefix(50))'; define it first with POST /v1/custom-fields",
                                      field: "custom_fields.\(key.prefix(50))")
            }
            client.customFields[key] = try definition.check(input)
        }
    }

    private static func apply<Value>(_ change: FieldChange<Value>, to field: inout Value?) {
        switch change {
        case .unchanged: break
        case .cleared: field = nil
        case .set(let value): field = value
        }
    }
}

extension Client {
    init(id: UUID, kind: Kind, category: Category, categorySince: Date, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.kind = kind
        self.category = category
        self.categorySince = categorySince
        self.revision = 1
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension Client.Consent {
    /// A change of state is dated and sourced; the same state again keeps the first proof.
    mutating func apply(_ change: ConsentChange, now: Date) {
        guard change.granted != granted || at == nil else { return }
        self = Client.Consent(granted: change.granted, at: now, source: change.source)
    }
}
