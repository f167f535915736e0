import ClientBase
import Foundation
import Postgres
import Tenancy

/// An invitation as its public page sees it, found by its token.
public struct SurveyPageInvitation: Sendable {
    public enum Status: Sendable, Hashable {
        /// It may be answered.
        case open
        /// It was answered already (answers are taken once).
        case answered
        /// Its lifetime has passed.
        case expired
    }

    public var invitationID: UUID
    public var clientID: UUID
    public var campaign: SurveyCampaign
    public var status: Status
    public var scope: TenantScope
}

/// An answer as the public page's form sends it.
public struct SurveyAnswerInput: Sendable, Hashable {
    public var score: Int?
    public var comment: String?
    /// The extra questions' answers, in their order (nil or empty: not answered).
    public var extras: [String?]

    public init(score: Int?, comment: String?, extras: [String?]) {
        self.score = score
        self.comment = comment
        self.extras = extras
    }
}

/// What became of an answer sent to the public page.
public enum SurveyAnswerOutcome: Sendable, Hashable {
    case recorded
    case alreadyAnswered
    case expired
}

/// The public page's side of surveys: no credential, the token alone finds the tenant (its
/// id is in the token), then the invitation in that tenant's schema by the token's hash.
public struct SurveyResponses: Sendable {
    /// How an unsubscribe through a survey link is recorded as the consent's source.
    public static let unsubscribeSource = "unsubscribe"
    public static let maximumCommentLength = 4000

    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// The invitation of a token, or nil: not a token, unknown tenant, unknown token.
    public func open(_ tokenText: String) async throws -> SurveyPageInvitation? {
        guard let token = SurveyToken(tokenText),
              let scope = try await TenantScope.active(tenantID: token.tenantID, client: database)
        else { return nil }
        let rows = try await database.tenantTransaction(scope, [Self.find(token)])
        return try rows[0].first.map { try Self.invitation($0, scope: scope) }
    }

    /// Records the answer once, in the transaction that marks the invitation answered and
    /// enqueues the client's churn rescoring. A score off the campaign's scale, or a bad
    /// extra answer, is refused (`ClientBaseError.invalid`).
    public func answer(_ page: SurveyPageInvitation, _ input: SurveyAnswerInput, language: SurveyLanguage) async throws -> SurveyAnswerOutcome {
        let campaign = page.campaign
        let (score, comment, extras) = try Self.validate(input, campaign: campaign)
        let answerID = UUIDv7.make()
        return try await database.withTenantTransaction(page.scope) { session in
            let locked = try await session.query("""
                SELECT i.state, i.expires_at <= now() FROM survey_invitations i WHERE i.id = \(page.invitationID) FOR UPDATE
                """)
            guard let row = locked.first else { return .expired }
            let state = try row.decode(String.self, at: 0)
            if state == "answered" { return .alreadyAnswered }
            let pastLifetime = try row.decode(Bool?.self, at: 1) ?? false
            if state == "expired" || pastLifetime {
                try await session.query("""
                    UPDATE survey_invitations SET state = 'expired', reason = NULL, updated_at = now()
                    WHERE id = \(page.invitationID) AND state IN ('sent', 'committing', 'failed')
                    """)
                return .expired
            }
            let system = Actor.system(page.scope, label: "survey-invitation:\(page.invitationID.auditID)")
            _ = try await session.pipeline([
                """
                INSERT INTO survey_answers (id, invitation_id, campaign_id, client_id, measure, score, comment, extra_answers, language)
                VALUES (\(answerID), \(page.invitationID), \(campaign.id), \(page.clientID), \(campaign.measure), \(score),
                        \(comment), \(PostgresJSON(extras)), \(language))
                """,
                """
                UPDATE survey_invitations SET state = 'answered', reason = NULL, answered_at = now(), updated_at = now()
                WHERE id = \(page.invitationID)
                """,
                AuditLog.entry(by: system, action: "create", entity: "survey_answer", id: answerID.auditID, before: nil, after: [
                    "invitation_id": page.invitationID.auditValue, "client_id": page.clientID.auditValue,
                    "score": score.auditValue, "comment": AuditValue(comment),
                ]),
            ])
            try await SurveyJobs.enqueueRescore(page.clientID, in: session)
            return .recorded
        }
    }

    /// Writes the state of an invitation found past its lifetime (reads compute it anyway).
    public func markExpired(_ page: SurveyPageInvitation) async throws {
        _ = try await database.tenantTransaction(page.scope, ["""
            UPDATE survey_invitations SET state = 'expired', reason = NULL, updated_at = now()
            WHERE id = \(page.invitationID) AND state IN ('sent', 'committing', 'failed') AND expires_at <= now()
            """])
    }

    /// Withdraws the client's survey consent, dated and sourced `unsubscribe` like a change
    /// through the API (a consent already withdrawn keeps its first proof). Works with any
    /// token the client received, even past the invitation's lifetime. False: unknown token.
    public func unsubscribe(_ tokenText: String) async throws -> Bool {
        guard let page = try await open(tokenText) else { return false }
        try await database.withTenantTransaction(page.scope) { session in
            let changed = try await session.query("""
                UPDATE clients SET consent_surveys = false, consent_surveys_at = now(),
                    consent_surveys_source = \(Self.unsubscribeSource), revision = revision + 1, updated_at = now()
                WHERE id = \(page.clientID) AND consent_surveys
                RETURNING consent_surveys_at
                """)
            guard let row = changed.first else { return }
            let at = try row.decode(Date.self, at: 0)
            let system = Actor.system(page.scope, label: "survey-invitation:\(page.invitationID.auditID)")
            try await session.query(AuditLog.entry(
                by: system, action: "update", entity: "client", id: page.clientID.auditID,
                before: ["consent.surveys.granted": .bool(true)],
                after: ["consent.surveys.granted": .bool(false), "consent.surveys.source": .text(Self.unsubscribeSource),
                        "consent.surveys.at": .text(at.ISO8601Format(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))]))
        }
        return true
    }

    // MARK: Plumbing

    static func find(_ token: SurveyToken) -> PostgresQuery {
        """
        SELECT i.id, i.client_id, i.state, i.expires_at <= now(), \(fragment: SurveyCampaign.columns)
        FROM survey_tokens t
        JOIN survey_invitations i ON i.id = t.invitation_id
        JOIN survey_campaigns sc ON sc.id = i.campaign_id
        WHERE t.token_hash = \(token.hash)
        """
    }

    static func invitation(_ row: PostgresRow, scope: TenantScope) throws -> SurveyPageInvitation {
        let state = try row.decode(String.self, at: 2)
        let pastLifetime = try row.decode(Bool?.self, at: 3) ?? false
        let status: SurveyPageInvitation.Status =
            state == "answered" ? .answered : (state == "expired" || pastLifetime ? .expired : .open)
        return SurveyPageInvitation(
            invitationID: try row.decode(at: 0), clientID: try row.decode(at: 1),
            campaign: try SurveyCampaign(row: row, offset: 4), status: status, scope: scope)
    }

    /// The answer checked against the campaign: the score on its scale, the comment's
    /// length, each extra answer a 1-5 integer (scale) or a text of at most 1000 characters.
    static func validate(_ input: SurveyAnswerInput, campaign: SurveyCampaign) throws -> (Int, String?, [ExtraAnswer]) {
        let scale = campaign.measure.scale
        guard let score = input.score else {
            throw ClientBaseError(.invalid, "score", field: "score")
        }
        guard scale.contains(score) else {
            throw ClientBaseError(.invalid, "score", field: "score")
        }
        var comment = input.comment?.trimmingCharacters(in: .whitespacesAndNewlines)
        if comment?.isEmpty == true { comment = nil }
        if let text = comment, text.count > maximumCommentLength {
            throw ClientBaseError(.invalid, "comment", field: "comment")
        }
        var extras: [ExtraAnswer] = []
        for (index, question) in campaign.extraQuestions.enumerated() {
            let given = index < input.extras.count ? input.extras[index]?.trimmingCharacters(in: .whitespacesAndNewlines) : nil
            guard let given, !given.isEmpty else {
                extras.append(.none)
                continue
            }
            switch question.type {
            case .scale:
                guard let value = Int(given), (1...5).contains(value) else {
                    throw ClientBaseError(.invalid, "q\(index + 1)", field: "q\(index + 1)")
                }
                extras.append(.scale(value))
            case .text:
                guard given.count <= 1000 else { throw ClientBaseError(.invalid, "q\(index + 1)", field: "q\(index + 1)") }
                extras.append(.text(given))
            }
        }
        return (score, comment, extras)
    }

    /// One extra answer as stored in `extra_answers`: a string, an integer or null.
    enum ExtraAnswer: Encodable, Sendable {
        case none, scale(Int), text(String)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .none: try container.encodeNil()
            case .scale(let value): try container.encode(value)
            case .text(let text): try container.encode(text)
            }
        }
    }
}
