import Foundation
import Postgres

/// A client record: who the client is and where they stand (DOMAIN.md sections 1 and 2).
public struct Client: Sendable, Hashable {
    /// Individual, business or public body: they buy differently (DOMAIN.md section 2).
    public enum Kind: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case individual, business, publicBody = "public_body"
    }

    /// Where the client stands towards the business (DOMAIN.md section 1).
    public enum Category: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case prospect
        case actualClient = "actual_client"
        case competitorClient = "competitor_client"
        case relativeNonConsumer = "relative_non_consumer"
        case absoluteNonConsumer = "absolute_non_consumer"
        case prescriber
        case formerClient = "former_client"
    }

    public var id: UUID
    public var kind: Kind
    public var category: Category
    public var firstName: String?
    public var lastName: String?
    public var organisationName: String?
    public var email: String?
    public var phone: String?
    public var city: String?
    public var postalCode: String?
    public var externalRef: String?
    /// Why the client stands where they do: required for a relative or absolute non-consumer
    /// and a former client (the temporary or permanent reason, why they left).
    public var categoryReason: String?
    public var categorySince: Date
    /// For a relative non-consumer: when the reason should lift.
    public var followUpOn: PostgresDate?
    /// 1 at creation, one more at each change: the record's ETag.
    public var revision: Int
    public var createdAt: Date
    public var updatedAt: Date

    static let columns: PostgresQuery = """
        id, kind, category, first_name, last_name, organisation_name, email, phone, city, postal_code,
        external_ref, created_at, updated_at, category_reason, category_since, follow_up_on, revision
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        kind = try row.decode(at: 1)
        category = try row.decode(at: 2)
        firstName = try row.decode(at: 3)
        lastName = try row.decode(at: 4)
        organisationName = try row.decode(at: 5)
        email = try row.decode(at: 6)
        phone = try row.decode(at: 7)
        city = try row.decode(at: 8)
        postalCode = try row.decode(at: 9)
        externalRef = try row.decode(at: 10)
        createdAt = try row.decode(at: 11)
        updatedAt = try row.decode(at: 12)
        categoryReason = try row.decode(at: 13)
        categorySince = try row.decode(at: 14)
        followUpOn = try row.decode(at: 15)
        revision = try row.decode(at: 16)
    }

    /// The fields the audit log compares, by JSON name.
    var auditSnapshot: AuditSnapshot {
        [
            Field.kind.rawValue: kind.auditValue, Field.category.rawValue: category.auditValue,
            Field.firstName.rawValue: AuditValue(firstName), Field.lastName.rawValue: AuditValue(lastName),
            Field.organisationName.rawValue: AuditValue(organisationName), Field.email.rawValue: AuditValue(email),
            Field.phone.rawValue: AuditValue(phone), Field.city.rawValue: AuditValue(city),
            Field.postalCode.rawValue: AuditValue(postalCode), Field.externalRef.rawValue: AuditValue(externalRef),
            Field.categoryReason.rawValue: AuditValue(categoryReason), Field.followUpOn.rawValue: AuditValue(followUpOn),
        ]
    }

    /// A relative non-consumer whose reason should have lifted by `today`.
    public func isDueForFollowUp(today: PostgresDate) -> Bool {
        guard category == .relativeNonConsumer, let followUpOn else { return false }
        return followUpOn <= today
    }
}
