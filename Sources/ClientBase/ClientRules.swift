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
    }

    static func isPlausibleEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty,
              parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !email.contains(where: \.isWhitespace)
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
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension ClientChanges {
    /// The record a create request makes: kind is required, category defaults to prospect.
    func newClient(id: UUID, now: Date) throws -> Client {
        guard case .set(let kind) = kind else {
            throw ClientBaseError(.invalid, "field 'kind' is required (individual, business or public_body)", field: "kind")
        }
        var category = Client.Category.prospect
        if case .set(let value) = self.category { category = value }
        var client = Client(id: id, kind: kind, category: category, categorySince: now, createdAt: now, updatedAt: now)
        try apply(to: &client)
        return client
    }

    /// Applies the changes to a record and checks the result.
    func apply(to client: inout Client) throws {
        if case .set(let value) = kind { client.kind = value }
        if case .cleared = kind { throw ClientBaseError(.invalid, "field 'kind' cannot be null", field: "kind") }
        if case .set(let value) = category, value != client.category {
            // A new standing starts without the old one's reason and follow-up date.
            client.category = value
            client.categoryReason = nil
            client.followUpOn = nil
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
        try ClientRules.validate(client)
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
