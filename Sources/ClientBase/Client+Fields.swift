/// The client's JSON field names (snake_case), shared by the request decoder and the writer.
extension Client {
    public enum Field: String, CodingKey, CaseIterable, Sendable {
        case id, kind, category
        case firstName = "first_name", lastName = "last_name", organisationName = "organisation_name"
        case email, phone, city
        case postalCode = "postal_code", externalRef = "external_ref"
        case createdAt = "created_at", updatedAt = "updated_at"
        case categoryReason = "category_reason", categorySince = "category_since", followUpOn = "follow_up_on"
        case dueForFollowUp = "due_for_follow_up"
        case addressLine1 = "address_line1", addressLine2 = "address_line2", website
        case tradeName = "trade_name", activity, siren, sector, headcount, legalForm = "legal_form", revenue
        case establishmentsCount = "establishments_count"
        case birthDate = "birth_date", maritalStatus = "marital_status", childrenCount = "children_count"
        case housing, occupation, incomeBracket = "income_bracket"
        case tags, notes, customFields = "custom_fields"
        case needs, motivations, brakes, objections, purchaseStage = "purchase_stage"
        case acquisitionChannel = "acquisition_channel", acquisitionCost = "acquisition_cost"
        case firstPurchaseOn = "first_purchase_on", lastPurchaseOn = "last_purchase_on"
        case assignedUserID = "assigned_user_id", consent
    }

    /// Fields only an organisation (business or public body) may have.
    static let organisationFields: [Field] = [
        .tradeName, .activity, .siren, .sector, .headcount, .legalForm, .revenue, .establishmentsCount,
    ]
    /// Fields only an individual may have.
    static let individualFields: [Field] = [
        .birthDate, .maritalStatus, .childrenCount, .housing, .occupation, .incomeBracket,
    ]
}
