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
    }
}
