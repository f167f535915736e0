import ClientBase
import Foundation
import Postgres
import Tenancy

/// The tenant's survey rules (one row per tenant): how often a client may be surveyed across
/// all campaigns, and how the emails present themselves.
public struct SurveySettings: Sendable, Hashable {
    /// Nobody is surveyed more than once per this many days (0-3650; default 90).
    public var minDaysBetweenSurveys: Int
    /// The display name of the emails' sender (default: the tenant's name).
    public var senderName: String?
    /// Where replies to the emails go.
    public var replyTo: String?
    public var updatedAt: Date

    static let columns: PostgresQuery = "ss.min_days_between_surveys, ss.sender_name, ss.reply_to, ss.updated_at"

    init(row: PostgresRow, offset o: Int = 0) throws {
        minDaysBetweenSurveys = try row.decode(at: o)
        senderName = try row.decode(at: o + 1)
        replyTo = try row.decode(at: o + 2)
        updatedAt = try row.decode(at: o + 3)
    }

    static let select: PostgresQuery = "SELECT \(fragment: columns) FROM survey_settings ss LIMIT 1"

    var auditSnapshot: AuditSnapshot {
        ["min_days_between_surveys": minDaysBetweenSurveys.auditValue, "sender_name": AuditValue(senderName),
         "reply_to": AuditValue(replyTo)]
    }
}

/// The settings a PATCH body changes; `min_days_between_surveys` cannot be null.
public struct SurveySettingsChanges: Sendable, Hashable, Decodable {
    public var minDaysBetweenSurveys: FieldChange<Int> = .unchanged
    public var senderName: FieldChange<String> = .unchanged
    public var replyTo: FieldChange<String> = .unchanged

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder, writable: ["min_days_between_surveys", "sender_name", "reply_to"],
                                  readOnly: ["updated_at"])
        minDaysBetweenSurveys = try body.integer("min_days_between_surveys")
        senderName = try body.text("sender_name", maximumLength: 100)
        replyTo = try body.text("reply_to", maximumLength: 254)
    }

    func apply(to settings: inout SurveySettings) throws {
        try minDaysBetweenSurveys.apply(to: &settings.minDaysBetweenSurveys, name: "min_days_between_surveys")
        guard (0...3650).contains(settings.minDaysBetweenSurveys) else {
            throw ClientBaseError(.invalid, "min_days_between_surveys must be from 0 to 3650", field: "min_days_between_surveys")
        }
        senderName.apply(to: &settings.senderName)
        if let name = settings.senderName, name.contains(where: { $0.isNewline || $0 == "\"" || $0 == "<" || $0 == ">" }) {
            throw ClientBaseError(.invalid, "sender_name may not hold line breaks, quotes or angle brackets", field: "sender_name")
        }
        replyTo.apply(to: &settings.replyTo)
        if let address = settings.replyTo, !SurveyEmailAddress.isPlausible(address) {
            throw ClientBaseError(.invalid, "reply_to must be an email address like contact@example.fr", field: "reply_to")
        }
    }
}

/// A light check of an address a header will carry: one @, a dotted domain, no spaces,
/// line breaks or angle brackets.
enum SurveyEmailAddress {
    static func isPlausible(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        return !address.contains { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," || $0 == "\"" }
    }
}

/// Reads and changes the survey rules.
public struct SurveySettingsStore: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// Every role that reads the client base reads the rules.
    public func get(as actor: Actor) async throws -> SurveySettings {
        try actor.require(.readClients)
        return try SurveySettings(row: try await database.tenantTransaction(actor.scope, [SurveySettings.select])[0][0])
    }

    /// Audited as entity `survey_settings`, id `settings`.
    public func update(_ changes: SurveySettingsChanges, as actor: Actor) async throws -> SurveySettings {
        try actor.require(.manageSurveys)
        return try await database.withTenantTransaction(actor.scope) { session in
            let before = try SurveySettings(row: try await session.query(
                "SELECT \(fragment: SurveySettings.columns) FROM survey_settings ss LIMIT 1 FOR UPDATE")[0])
            var settings = before
            try changes.apply(to: &settings)
            let rows = try await session.pipeline([
                """
                UPDATE survey_settings ss SET min_days_between_surveys = \(settings.minDaysBetweenSurveys),
                    sender_name = \(settings.senderName), reply_to = \(settings.replyTo), updated_at = now()
                RETURNING \(fragment: SurveySettings.columns)
                """,
                AuditLog.entry(by: actor, action: "update", entity: "survey_settings", id: "settings",
                               before: before.auditSnapshot, after: settings.auditSnapshot),
            ])
            return try SurveySettings(row: rows[0][0])
        }
    }
}
