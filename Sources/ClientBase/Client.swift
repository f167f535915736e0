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
    /// The legal name (raison sociale) of a business or public body.
    public var organisationName: String?
    /// Lowercased.
    public var email: String?
    /// As given; duplicates are matched on its digits (`phone_digits` in SQL).
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

    // Identification
    public var addressLine1: String?
    public var addressLine2: String?
    public var website: String?
    // Organisations only
    public var tradeName: String?
    public var activity: String?
    /// 9 digits passing the Luhn check.
    public var siren: String?
    public var sector: String?
    public var headcount: Int?
    public var legalForm: String?
    /// Yearly revenue (chiffre d'affaires) in euros.
    public var revenue: Decimal?
    public var establishmentsCount: Int?
    // Individuals only
    public var birthDate: PostgresDate?
    public var maritalStatus: MaritalStatus?
    public var childrenCount: Int?
    public var housing: Housing?
    public var occupation: String?
    public var incomeBracket: IncomeBracket?
    // Free labels, notes and the tenant's own fields
    /// Trimmed, lowercased, unique.
    public var tags: [String] = []
    public var notes: String?
    public var customFields: [String: CustomFieldValue] = [:]
    // What drives and holds back the client
    public var needs: [Need] = []
    public var motivations: [Motivation] = []
    public var brakes: [Brake] = []
    public var objections: [Objection] = []
    /// Prospects only.
    public var purchaseStage: PurchaseStage?
    // Acquisition and seniority
    /// A short label, lowercased: referral, website, walk_in...
    public var acquisitionChannel: String?
    public var acquisitionCost: Decimal?
    /// Seniority starts here.
    public var firstPurchaseOn: PostgresDate?
    /// Kept up to date by purchases; read-only through the client record.
    public var lastPurchaseOn: PostgresDate?
    public var assignedUserID: UUID?
    // Consent
    public var consentSurveys: Consent = .notGranted
    public var consentMarketing: Consent = .notGranted
    /// When the client's personal data was erased (data rights); the record keeps only what
    /// aggregates need and can no longer be changed.
    public var erasedAt: Date?

    static let columns: PostgresQuery = """
        id, kind, category, first_name, last_name, organisation_name, email, phone, city, postal_code,
        external_ref, created_at, updated_at, category_reason, category_since, follow_up_on, revision,
        address_line1, address_line2, website, trade_name, activity, siren, sector, headcount, legal_form,
        revenue, establishments_count, birth_date, marital_status, children_count, housing, occupation,
        income_bracket, tags, free_notes, custom_fields, needs, motivations, brakes, objections, purchase_stage,
        acquisition_channel, acquisition_cost, first_purchase_on, last_purchase_on, assigned_user_id,
        consent_surveys, consent_surveys_at, consent_surveys_source,
        consent_marketing, consent_marketing_at, consent_marketing_source, erased_at
        """

    /// `columns` with each name prefixed by a table alias (`c.id, c.kind...`).
    static func columns(of alias: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: columns.sql.split(separator: ",")
            .map { "\(alias).\($0.trimmingCharacters(in: .whitespacesAndNewlines))" }
            .joined(separator: ", "))
    }

    init(row: PostgresRow) throws {
        var cell = RowReader(row: row)
        id = try cell.next()
        kind = try cell.next()
        category = try cell.next()
        firstName = try cell.next()
        lastName = try cell.next()
        organisationName = try cell.next()
        email = try cell.next()
        phone = try cell.next()
        city = try cell.next()
        postalCode = try cell.next()
        externalRef = try cell.next()
        createdAt = try cell.next()
        updatedAt = try cell.next()
        categoryReason = try cell.next()
        categorySince = try cell.next()
        followUpOn = try cell.next()
        revision = try cell.next()
        addressLine1 = try cell.next()
        addressLine2 = try cell.next()
        website = try cell.next()
        tradeName = try cell.next()
        activity = try cell.next()
        siren = try cell.next()
        sector = try cell.next()
        headcount = try cell.next()
        legalForm = try cell.next()
        revenue = try cell.next()
        establishmentsCount = try cell.next()
        birthDate = try cell.next()
        maritalStatus = try cell.next()
        childrenCount = try cell.next()
        housing = try cell.next()
        occupation = try cell.next()
        incomeBracket = try cell.next()
        tags = try cell.next()
        notes = try cell.next()
        let custom: PostgresJSONValue = try cell.next()
        customFields = custom.text == "{}" ? [:] : try custom.decode([String: CustomFieldValue].self)
        needs = try cell.next()
        motivations = try cell.next()
        brakes = try cell.next()
        objections = try cell.next()
        purchaseStage = try cell.next()
        acquisitionChannel = try cell.next()
        acquisitionCost = try cell.next()
        firstPurchaseOn = try cell.next()
        lastPurchaseOn = try cell.next()
        assignedUserID = try cell.next()
        consentSurveys = Consent(granted: try cell.next(), at: try cell.next(), source: try cell.next())
        consentMarketing = Consent(granted: try cell.next(), at: try cell.next(), source: try cell.next())
        erasedAt = try cell.next()
    }

    /// The columns the server writes, in the order of `writtenValues`: for INSERT and for
    /// `UPDATE ... SET (columns) = ROW(values)`.
    static let writtenColumns: PostgresQuery = """
        kind, category, first_name, last_name, organisation_name, email, phone, city, postal_code,
        external_ref, category_reason, follow_up_on, address_line1, address_line2, website, trade_name,
        activity, siren, sector, headcount, legal_form, revenue, establishments_count, birth_date,
        marital_status, children_count, housing, occupation, income_bracket, tags, free_notes, custom_fields,
        needs, motivations, brakes, objections, purchase_stage, acquisition_channel, acquisition_cost,
        first_purchase_on, assigned_user_id, consent_surveys, consent_surveys_at, consent_surveys_source,
        consent_marketing, consent_marketing_at, consent_marketing_source
        """

    var writtenValues: PostgresQuery {
        """
        \(kind), \(category), \(firstName), \(lastName), \(organisationName), \(email), \(phone), \(city), \(postalCode),
        \(externalRef), \(categoryReason), \(followUpOn), \(addressLine1), \(addressLine2), \(website), \(tradeName),
        \(activity), \(siren), \(sector), \(headcount), \(legalForm), \(revenue), \(establishmentsCount), \(birthDate),
        \(maritalStatus), \(childrenCount), \(housing), \(occupation), \(incomeBracket), \(tags), \(notes),
        \(PostgresJSON(customFields)), \(needs), \(motivations), \(brakes), \(objections), \(purchaseStage),
        \(acquisitionChannel), \(acquisitionCost), \(firstPurchaseOn), \(assignedUserID),
        \(consentSurveys.granted), \(consentSurveys.at), \(consentSurveys.source),
        \(consentMarketing.granted), \(consentMarketing.at), \(consentMarketing.source)
        """
    }

    /// The bound values of `writtenValues`, in its order, as the text sent, without building its
    /// SQL: an import sends them as one array per column (a test holds both to the same values).
    var writtenTexts: [String?] {
        [
            kind.postgresText, category.postgresText, firstName, lastName, organisationName, email, phone, city, postalCode,
            externalRef, categoryReason, followUpOn?.postgresText, addressLine1, addressLine2, website, tradeName,
            activity, siren, sector, headcount?.postgresText, legalForm, revenue?.postgresText,
            establishmentsCount?.postgresText, birthDate?.postgresText,
            maritalStatus?.postgresText, childrenCount?.postgresText, housing?.postgresText, occupation,
            incomeBracket?.postgresText, tags.postgresText, notes,
            customFields.isEmpty ? "{}" : PostgresJSON(customFields).postgresText,
            needs.postgresText, motivations.postgresText, brakes.postgresText, objections.postgresText, purchaseStage?.postgresText,
            acquisitionChannel, acquisitionCost?.postgresText, firstPurchaseOn?.postgresText, assignedUserID?.postgresText,
            consentSurveys.granted.postgresText, consentSurveys.at?.postgresText, consentSurveys.source,
            consentMarketing.granted.postgresText, consentMarketing.at?.postgresText, consentMarketing.source,
        ]
    }

    /// The fields the audit log compares, by JSON name (nested ones as `consent.marketing.granted`
    /// and `custom_fields.<key>`).
    var auditSnapshot: AuditSnapshot {
        var snapshot: AuditSnapshot = [
            Field.kind.rawValue: kind.auditValue, Field.category.rawValue: category.auditValue,
            Field.firstName.rawValue: AuditValue(firstName), Field.lastName.rawValue: AuditValue(lastName),
            Field.organisationName.rawValue: AuditValue(organisationName), Field.email.rawValue: AuditValue(email),
            Field.phone.rawValue: AuditValue(phone), Field.city.rawValue: AuditValue(city),
            Field.postalCode.rawValue: AuditValue(postalCode), Field.externalRef.rawValue: AuditValue(externalRef),
            Field.categoryReason.rawValue: AuditValue(categoryReason), Field.followUpOn.rawValue: AuditValue(followUpOn),
            Field.addressLine1.rawValue: AuditValue(addressLine1), Field.addressLine2.rawValue: AuditValue(addressLine2),
            Field.website.rawValue: AuditValue(website), Field.tradeName.rawValue: AuditValue(tradeName),
            Field.activity.rawValue: AuditValue(activity), Field.siren.rawValue: AuditValue(siren),
            Field.sector.rawValue: AuditValue(sector), Field.headcount.rawValue: AuditValue(headcount),
            Field.legalForm.rawValue: AuditValue(legalForm), Field.revenue.rawValue: AuditValue(revenue),
            Field.establishmentsCount.rawValue: AuditValue(establishmentsCount),
            Field.birthDate.rawValue: AuditValue(birthDate), Field.maritalStatus.rawValue: maritalStatus?.auditValue ?? .null,
            Field.childrenCount.rawValue: AuditValue(childrenCount), Field.housing.rawValue: housing?.auditValue ?? .null,
            Field.occupation.rawValue: AuditValue(occupation), Field.incomeBracket.rawValue: incomeBracket?.auditValue ?? .null,
            Field.tags.rawValue: tags.auditValue, Field.notes.rawValue: AuditValue(notes),
            Field.needs.rawValue: .list(needs.map(\.auditValue)), Field.motivations.rawValue: .list(motivations.map(\.auditValue)),
            Field.brakes.rawValue: .list(brakes.map(\.auditValue)), Field.objections.rawValue: .list(objections.map(\.auditValue)),
            Field.purchaseStage.rawValue: purchaseStage?.auditValue ?? .null,
            Field.acquisitionChannel.rawValue: AuditValue(acquisitionChannel),
            Field.acquisitionCost.rawValue: AuditValue(acquisitionCost),
            Field.firstPurchaseOn.rawValue: AuditValue(firstPurchaseOn), Field.lastPurchaseOn.rawValue: AuditValue(lastPurchaseOn),
            Field.assignedUserID.rawValue: AuditValue(assignedUserID),
        ]
        for (name, consent) in [("surveys", consentSurveys), ("marketing", consentMarketing)] {
            snapshot["consent.\(name).granted"] = .bool(consent.granted)
            snapshot["consent.\(name).at"] = consent.at.map { .text($0.ISO8601Format(Date.ISO8601FormatStyle(includingFractionalSeconds: true))) } ?? .null
            snapshot["consent.\(name).source"] = AuditValue(consent.source)
        }
        for (key, value) in customFields {
            snapshot["custom_fields.\(key)"] = value.auditValue
        }
        return snapshot
    }

    /// A relative non-consumer whose reason should have lifted by `today`.
    public func isDueForFollowUp(today: PostgresDate) -> Bool {
        guard category == .relativeNonConsumer, let followUpOn else { return false }
        return followUpOn <= today
    }
}

/// Reads a row's cells in order.
struct RowReader {
    let row: PostgresRow
    var index = 0

    mutating func next<T: PostgresDecodable>(_ type: T.Type = T.self) throws -> T {
        defer { index += 1 }
        return try row.decode(at: index)
    }
}
