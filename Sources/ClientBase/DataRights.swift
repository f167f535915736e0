import Foundation
import Postgres
import Tenancy

/// Everything held about one client (RGPD subject access, article 15).
public struct PersonalData: Sendable {
    public var client: Client
    public var categoryHistory: [CategoryChange]
    /// Both ways: from the client and to the client.
    public var relationships: [Relationship]
    /// As buyer, payer or consumer.
    public var purchases: [Purchase]
    public var interactions: [Interaction]
    public var complaints: [Complaint]
    public var payments: [Payment]
    /// The audit entries about the client and about the records above.
    public var auditEntries: [AuditEntry]
    /// JSON arrays, written by PostgreSQL: the survey invitations sent to the client (without
    /// their tokens) and the client's answers, comments included.
    public var surveyInvitationsJSON: String
    public var surveyAnswersJSON: String
    /// A JSON object: the client's current churn score and reasons, its history, its alerts.
    public var churnJSON: String
    public var exportedAt: Date
}

/// What an erasure blanked, by table (no personal values: counts only).
public struct ErasureOutcome: Sendable {
    public var client: Client
    public var rowsBlanked: [String: Int]
}

/// Subject access and erasure of one client: owners and admins only (`.dataRights`), both
/// audited, each in one tenant transaction.
public struct DataRightsRepository: Sendable {
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    /// The client's whole file, read in one snapshot, with an `export` audit entry.
    public func personalData(of id: UUID, as actor: Actor) async throws -> PersonalData {
        try actor.require(.dataRights)
        return try await database.withTenantTransaction(actor.scope) { session in
            let client = try await Self.lockedClient(id, as: actor, forUpdate: false, in: session)
            let records = Self.recordsOf(id)
            let rows = try await session.pipeline([
                """
                SELECT from_category, to_category, reason, author, changed_at FROM category_changes
                WHERE client_id = \(id) ORDER BY id DESC
                """,
                "SELECT \(fragment: Relationship.columns) FROM relationships r WHERE r.from_client_id = \(id) OR r.to_client_id = \(id) ORDER BY r.id",
                "SELECT \(fragment: Purchase.columns) FROM purchases p WHERE p.id IN (\(fragment: records.purchases)) ORDER BY p.id",
                "SELECT \(fragment: Interaction.columns) FROM interactions i WHERE i.client_id = \(id) ORDER BY i.id",
                "SELECT \(fragment: Complaint.columns) FROM complaints k WHERE k.client_id = \(id) ORDER BY k.id",
                "SELECT \(fragment: Payment.columns) FROM payments m WHERE m.client_id = \(id) ORDER BY m.id",
                """
                SELECT id, at, actor, action, entity, entity_id, changes::text FROM audit_log a
                WHERE \(fragment: records.auditCondition) ORDER BY id
                """,
                """
                SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'id', v.id, 'campaign_id', v.campaign_id, 'campaign', c.name, 'occasion', v.occasion, 'state', v.state,
                    'reason', v.reason, 'send_at', v.send_at, 'sent_at', v.sent_at, 'expires_at', v.expires_at,
                    'reminder_state', v.reminder_state, 'reminded_at', v.reminded_at, 'answered_at', v.answered_at
                ) ORDER BY v.send_at, v.id), '[]')::text
                FROM survey_invitations v JOIN survey_campaigns c ON c.id = v.campaign_id
                WHERE v.client_id = \(id)
                """,
                """
                SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'id', s.id, 'invitation_id', s.invitation_id, 'campaign_id', s.campaign_id, 'measure', s.measure,
                    'score', s.score, 'comment', s.comment, 'extra_answers', s.extra_answers, 'language', s.language,
                    'answered_at', s.answered_at
                ) ORDER BY s.answered_at, s.id), '[]')::text
                FROM survey_answers s WHERE s.client_id = \(id)
                """,
                """
                SELECT jsonb_build_object(
                    'score', (SELECT jsonb_build_object('score', cs.score, 'reasons', cs.reasons, 'changed_at', cs.changed_at)
                              FROM churn_scores cs WHERE cs.client_id = \(id)),
                    'history', (SELECT coalesce(jsonb_agg(jsonb_build_object('score', h.score, 'reasons', h.reasons, 'at', h.at)
                                                ORDER BY h.id), '[]')
                                FROM churn_score_history h WHERE h.client_id = \(id)),
                    'alerts', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                   'id', al.id, 'state', al.state, 'score', al.score, 'reasons', al.reasons,
                                   'raised_at', al.raised_at, 'acknowledged_at', al.acknowledged_at, 'closed_at', al.closed_at,
                                   'exit_reason', al.exit_reason, 'note', al.note) ORDER BY al.raised_at, al.id), '[]')
                               FROM churn_alerts al WHERE al.client_id = \(id)))::text
                """,
                AuditLog.entry(by: actor, action: "export", entity: "client", id: id.auditID, before: nil,
                               after: ["personal_data": .text("subject access export")]),
            ])
            return PersonalData(
                client: client,
                categoryHistory: try rows[0].map {
                    CategoryChange(from: try $0.decode(at: 0), to: try $0.decode(at: 1), reason: try $0.decode(at: 2),
                                   author: try $0.decode(at: 3), changedAt: try $0.decode(at: 4))
                },
                relationships: try rows[1].map(Relationship.init(row:)),
                purchases: try rows[2].map(Purchase.init(row:)),
                interactions: try rows[3].map(Interaction.init(row:)),
                complaints: try rows[4].map(Complaint.init(row:)),
                payments: try rows[5].map(Payment.init(row:)),
                auditEntries: try rows[6].map {
                    AuditEntry(id: try $0.decode(at: 0), at: try $0.decode(at: 1), actor: try $0.decode(at: 2),
                               action: try $0.decode(at: 3), entity: try $0.decode(at: 4), entityID: try $0.decode(at: 5),
                               changesJSON: try $0.decode(at: 6))
                },
                surveyInvitationsJSON: try rows[7][0].decode(at: 0),
                surveyAnswersJSON: try rows[8][0].decode(at: 0),
                churnJSON: try rows[9][0].decode(at: 0),
                exportedAt: Date())
        }
    }

    /// The client, or 404 (another tenant's, or one the actor may not see).
    static func lockedClient(_ id: UUID, as actor: Actor, forUpdate: Bool, in session: PostgresSession) async throws -> Client {
        let rows = try await session.query("""
            SELECT \(fragment: Client.columns) FROM clients
            WHERE id = \(id) AND \(fragment: actor.access.condition()) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """)
        guard let row = rows.first else { throw ClientRepository.notFound(id) }
        return try Client(row: row)
    }

    /// The SQL naming the records that hang off a client, for reading and for erasing.
    struct Records {
        /// Ids of the purchases the client is buyer, payer or consumer of.
        var purchases: PostgresQuery
        /// The audit entries about the client or any of its records.
        var auditCondition: PostgresQuery
    }

    static func recordsOf(_ id: UUID) -> Records {
        let purchases: PostgresQuery = """
            SELECT p.id FROM purchases p WHERE p.buyer_id = \(id) OR p.payer_id = \(id)
            UNION SELECT pc.purchase_id FROM purchase_consumers pc WHERE pc.client_id = \(id)
            """
        let audit: PostgresQuery = """
            (a.entity = 'client' AND a.entity_id = \(id.auditID))
            OR (a.entity = 'purchase' AND a.entity_id IN (SELECT x.id::text FROM (\(fragment: purchases)) AS x (id)))
            OR (a.entity = 'relationship' AND a.entity_id IN (
                    SELECT r.id::text FROM relationships r WHERE r.from_client_id = \(id) OR r.to_client_id = \(id)))
            OR (a.entity = 'interaction' AND a.entity_id IN (SELECT i.id::text FROM interactions i WHERE i.client_id = \(id)))
            OR (a.entity = 'complaint' AND a.entity_id IN (SELECT k.id::text FROM complaints k WHERE k.client_id = \(id)))
            OR (a.entity = 'payment' AND a.entity_id IN (SELECT m.id::text FROM payments m WHERE m.client_id = \(id)))
            OR (a.entity = 'survey_answer' AND a.entity_id IN (SELECT s.id::text FROM survey_answers s WHERE s.client_id = \(id)))
            OR (a.entity = 'churn_alert' AND a.entity_id IN (SELECT al.id::text FROM churn_alerts al WHERE al.client_id = \(id)))
            """
        return Records(purchases: purchases, auditCondition: audit)
    }
}
