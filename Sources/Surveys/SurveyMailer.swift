import Foundation

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
}

/// A failure a mailer reports in its own words.
public struct SurveyMailRefusal: SurveyMailFailure, Sendable {
    public var isTransient: Bool
    public var reason: String

    public init(transient: Bool, _ reason: String) {
        self.isTransient = transient
        self.reason = reason
    }

    public var description: String { reason }
}

/// The commit point was refused: another attempt took the invitation over (its job was
/// rescued while this one still ran). The mailer must stop before the final ".".
public struct SurveyDeliveryTakenOver: Error, CustomStringConvertible {
    public var description: String { "another delivery attempt holds this invitation; this one stops before sending" }
}
