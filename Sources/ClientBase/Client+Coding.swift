import Foundation

/// The client's JSON: snake_case keys, every field present (null when unknown).
extension Client {
    enum CodingKeys: String, CodingKey {
        case id, kind, category
        case firstName = "first_name", lastName = "last_name", organisationName = "organisation_name"
        case email, phone, city
        case postalCode = "postal_code", externalRef = "external_ref"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(category, forKey: .category)
        try container.encode(firstName, forKey: .firstName)
        try container.encode(lastName, forKey: .lastName)
        try container.encode(organisationName, forKey: .organisationName)
        try container.encode(email, forKey: .email)
        try container.encode(phone, forKey: .phone)
        try container.encode(city, forKey: .city)
        try container.encode(postalCode, forKey: .postalCode)
        try container.encode(externalRef, forKey: .externalRef)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}
