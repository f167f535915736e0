import Foundation
import Tenancy

/// One survey email, ready to go: a plain-text and an HTML part, and the one-click
/// unsubscribe URL for `List-Unsubscribe` (with `List-Unsubscribe-Post:
/// List-Unsubscribe=One-Click`, RFC 8058).
public struct SurveyEmail: Sendable, Hashable {
    public var invitationID: UUID
    public var to: String
    /// The sender's display name (the tenant's survey settings); the address is the platform's.
    public var fromName: String?
    public var replyTo: String?
    public var subject: String
    public var text: String
    public var html: String
    /// The survey page's URL (in both parts).
    public var surveyURL: String
    /// For `List-Unsubscribe: <…>`; a POST to it unsubscribes at once (RFC 8058).
    public var listUnsubscribe: String
    public var language: SurveyLanguage
    public var isReminder: Bool
}

/// What sends survey emails: the SMTP delivery layer, adapted by the server's wiring, or a
/// recorder in tests.
///
/// `send` must call `beforeCommit` right before the point of no return (before the final
/// "." of SMTP DATA), and must not go on if it throws: before that point a failed attempt
/// leaves nothing delivered, so the job may send again; after it the outcome may be unknown.
public protocol SurveyMailer: Sendable {
    func send(_ email: SurveyEmail, beforeCommit: @escaping @Sendable () async throws -> Void) async throws
    /// The same, knowing the invitation's account (to pick the account's own mail server).
    /// By default, `send(_:beforeCommit:)`.
    func send(_ email: SurveyEmail, scope: TenantScope, beforeCommit: @escaping @Sendable () async throws -> Void) async throws
}

extension SurveyMailer {
    public func send(_ email: SurveyEmail, scope: TenantScope, beforeCommit: @escaping @Sendable () async throws -> Void) async throws {
        try await send(email, beforeCommit: beforeCommit)
    }
}

/// One invitation (or its reminder) as the webhook channel POSTs it, for a business that sends
/// SMS through its own gateway: `{"event": "survey.invitation" | "survey.reminder", ...}`.
public struct SurveyWebhookInvitation: Sendable, Hashable, Encodable {
    public var event: String
    public var invitationID: UUID
    public var campaignID: UUID
    public var campaignName: String
    public var clientID: UUID
    public var clientName: String
    public var phone: String?
    public var email: String?
    public var surveyURL: String
    public var unsubscribeURL: String
    public var language: SurveyLanguage
    public var question: String
    public var senderName: String?
    public var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case event, invitationID = "invitation_id", campaignID = "campaign_id", campaignName = "campaign_name"
        case clientID = "client_id", clientName = "client_name", phone, email, surveyURL = "survey_url"
        case unsubscribeURL = "unsubscribe_url", language, question, senderName = "sender_name", expiresAt = "expires_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(event, forKey: .event)
        try container.encode(invitationID.uuidString.lowercased(), forKey: .invitationID)
        try container.encode(campaignID.uuidString.lowercased(), forKey: .campaignID)
        try container.encode(campaignName, forKey: .campaignName)
        try container.encode(clientID.uuidString.lowercased(), forKey: .clientID)
        try container.encode(clientName, forKey: .clientName)
        try container.encode(phone, forKey: .phone)
        try container.encode(email, forKey: .email)
        try container.encode(surveyURL, forKey: .surveyURL)
        try container.encode(unsubscribeURL, forKey: .unsubscribeURL)
        try container.encode(language.rawValue, forKey: .language)
        try container.encode(question, forKey: .question)
        try container.encode(senderName, forKey: .senderName)
        try container.encode(expiresAt, forKey: .expiresAt)
    }

    /// The body as sent: sorted keys, ISO 8601 dates, so the signature covers stable bytes.
    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(self))
    }
}

/// What POSTs webhook invitations: the Delivery layer's signed webhooks, adapted by Outbound.
///
/// Like a mailer, `post` must call `beforeCommit` right before the request is written, and not
/// go on if it throws. Its failures are `SurveyMailFailure`s: a receiver that answered 408, 429
/// or 5xx did not take the invitation (`deliveredNothing`), so it may be sent again even after
/// the commit point; a timeout or a connection lost after it is an unknown outcome.
public protocol SurveyWebhookPoster: Sendable {
    func post(
        _ invitation: SurveyWebhookInvitation, to url: String, secret: String, deliveryID: String,
        beforeCommit: @escaping @Sendable () async throws -> Void
    ) async throws
}

/// A mailer's failure, classified. Errors that do not conform are treated as transient.
///
/// - transient (`isTransient`, e.g. SMTP 4xx, a refused connection): the job retries later.
///   Before the commit point it sends again; after it, the outcome is unknown and the
///   invitation is marked failed ("outcome unknown") rather than risk a second email.
/// - permanent (e.g. SMTP 5xx, a bad address): the invitation is failed with the reason and
///   the job completes.
public protocol SurveyMailFailure: Error, CustomStringConvertible {
    var isTransient: Bool { get }
    /// True when the other side answered that it did not take the message (a webhook's 5xx):
    /// even past the commit point, nothing was delivered, and a retry cannot duplicate it.
    var deliveredNothing: Bool { get }
}

extension SurveyMailFailure {
    public var deliveredNothing: Bool { false }
}

/// A failure a mailer reports in its own words.
public struct SurveyMailRefusal: SurveyMailFailure, Sendable {
    public var isTransient: Bool
    public var deliveredNothing: Bool
    public var reason: String

    public init(transient: Bool, deliveredNothing: Bool = false, _ reason: String) {
        self.isTransient = transient
        self.deliveredNothing = deliveredNothing
        self.reason = reason
    }

    public var description: String { reason }
}

/// The commit point was refused: another attempt took the invitation over (its job was
/// rescued while this one still ran). The mailer must stop before the final ".".
public struct SurveyDeliveryTakenOver: Error, CustomStringConvertible {
    public var description: String { "another delivery attempt holds this invitation; this one stops before sending" }
}
