import Foundation
import Postgres
import Tenancy

/// Bulk export of the clients a list query selects (`GET /v1/exports/clients.csv|json`): read in
/// keyset batches, so memory stays constant whatever the size of the client base.
public struct ClientExport: Sendable {
    public let repository: ClientRepository
    /// Clients per batch (one tenant transaction each).
    public static let batchSize = 1_000

    public init(repository: ClientRepository) {
        self.repository = repository
    }

    /// Checks the right and records the export (one audit entry, before any data leaves), and
    /// returns the tenant's custom field keys (columns of a CSV export). `filters` are the query
    /// parameters as given; a search text `q` is recorded as given, not its value.
    public func start(format: String, filters: [(String, String)], as actor: Actor) async throws -> [String] {
        try actor.require(.bulkData)
        var after: AuditSnapshot = ["format": .text(format)]
        for (name, value) in filters {
            after["filter.\(name)"] = name == "q" ? .text("(search text)") : .text(value)
        }
        let rows = try await repository.database.tenantTransaction(actor.scope, [
            AuditLog.entry(by: actor, action: "export", entity: "client_export", id: UUIDv7.make().auditID, before: nil, after: after),
            "SELECT key FROM custom_fields ORDER BY key",
        ])
        return try rows[1].map { try $0.decode(String.self, at: 0) }
    }

    /// Calls `body` with each batch of matching clients, in the query's sort order.
    public func forEachBatch(_ query: ClientListQuery, as actor: Actor, _ body: ([Client]) async throws -> Void) async throws {
        try actor.require(.bulkData)
        var query = query
        query.limit = Self.batchSize
        query.cursor = nil
        while true {
            let page = try await repository.list(query, as: actor)
            if !page.items.isEmpty { try await body(page.items) }
            guard let next = page.nextCursor, let cursor = ClientCursor.decode(next) else { return }
            query.cursor = cursor
        }
    }
}

/// A client as one CSV row. The header names are the API's field names, so an exported file
/// imports back as it is (read-only columns are ignored by the import, `id` finds the client).
public enum ClientCSV {
    public static func header(customFieldKeys: [String]) -> [String] {
        columns.map(\.0) + customFieldKeys.map { "custom_fields.\($0)" }
    }

    public static func row(_ client: Client, customFieldKeys: [String]) -> [String?] {
        columns.map { $0.1(client) } + customFieldKeys.map { key in
            switch client.customFields[key] {
            case .text(let text): text
            case .number(let number): NSDecimalNumber(decimal: number).description(withLocale: nil)
            case .bool(let flag): flag ? "true" : "false"
            case nil: nil
            }
        }
    }

    private static func list(_ values: [some RawRepresentable<String>]) -> String? {
        values.isEmpty ? nil : values.map(\.rawValue).joined(separator: ",")
    }

    private static func instant(_ date: Date?) -> String? {
        date?.ISO8601Format(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    private static let columns: [(String, @Sendable (Client) -> String?)] = [
        ("id", { $0.id.auditID }),
        ("external_ref", { $0.externalRef }),
        ("kind", { $0.kind.rawValue }),
        ("category", { $0.category.rawValue }),
        ("category_reason", { $0.categoryReason }),
        ("category_since", { instant($0.categorySince) }),
        ("follow_up_on", { $0.followUpOn?.description }),
        ("first_name", { $0.firstName }),
        ("last_name", { $0.lastName }),
        ("organisation_name", { $0.organisationName }),
        ("trade_name", { $0.tradeName }),
        ("email", { $0.email }),
        ("phone", { $0.phone }),
        ("address_line1", { $0.addressLine1 }),
        ("address_line2", { $0.addressLine2 }),
        ("postal_code", { $0.postalCode }),
        ("city", { $0.city }),
        ("website", { $0.website }),
        ("activity", { $0.activity }),
        ("siren", { $0.siren }),
        ("sector", { $0.sector }),
        ("headcount", { $0.headcount.map(String.init) }),
        ("legal_form", { $0.legalForm }),
        ("revenue", { $0.revenue.map(Money.text) }),
        ("establishments_count", { $0.establishmentsCount.map(String.init) }),
        ("birth_date", { $0.birthDate?.description }),
        ("marital_status", { $0.maritalStatus?.rawValue }),
        ("children_count", { $0.childrenCount.map(String.init) }),
        ("housing", { $0.housing?.rawValue }),
        ("occupation", { $0.occupation }),
        ("income_bracket", { $0.incomeBracket?.rawValue }),
        ("tags", { $0.tags.isEmpty ? nil : $0.tags.joined(separator: ",") }),
        ("notes", { $0.notes }),
        ("needs", { list($0.needs) }),
        ("motivations", { list($0.motivations) }),
        ("brakes", { list($0.brakes) }),
        ("objections", { list($0.objections) }),
        ("purchase_stage", { $0.purchaseStage?.rawValue }),
        ("acquisition_channel", { $0.acquisitionChannel }),
        ("acquisition_cost", { $0.acquisitionCost.map(Money.text) }),
        ("first_purchase_on", { $0.firstPurchaseOn?.description }),
        ("last_purchase_on", { $0.lastPurchaseOn?.description }),
        ("assigned_user_id", { $0.assignedUserID?.auditID }),
        ("consent_surveys", { $0.consentSurveys.granted ? "true" : "false" }),
        ("consent_marketing", { $0.consentMarketing.granted ? "true" : "false" }),
        ("erased", { $0.erasedAt == nil ? "false" : "true" }),
        ("created_at", { instant($0.createdAt) }),
        ("updated_at", { instant($0.updatedAt) }),
    ]
}
