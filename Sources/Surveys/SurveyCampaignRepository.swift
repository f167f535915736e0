import ClientBase
import Foundation
import Postgres
import Tenancy

/// Reads and writes survey campaigns. Every role that reads the client base reads them;
/// owners, admins and managers create, change and delete them. Changes are audited.
public struct SurveyCampaignRepository: RecordRepository {
    public static let entity = "survey_campaign"
    public let database: PostgresClient

    public init(database: PostgresClient) {
        self.database = database
    }

    public struct Filter: Sendable {
        public var records = RecordFilter()
        public var trigger: SurveyCampaign.Trigger?
        public var active: Bool?
        public init(records: RecordFilter = RecordFilter(), trigger: SurveyCampaign.Trigger? = nil, active: Bool? = nil) {
            self.records = records
            self.trigger = trigger
            self.active = active
        }
    }

    public func create(_ changes: SurveyCampaignChanges, as actor: Actor, in session: PostgresSession) async throws -> SurveyCampaign {
        try actor.require(.manageSurveys)
        let campaign = try changes.newCampaign(id: UUIDv7.make(), now: Date())
        return try await Self.mappingConstraints {
            let rows = try await session.pipeline([
                """
                INSERT INTO survey_campaigns AS sc (id, \(fragment: SurveyCampaign.writtenColumns))
                VALUES (\(campaign.id), \(fragment: campaign.writtenValues))
                RETURNING \(fragment: SurveyCampaign.columns)
                """,
                AuditLog.entry(by: actor, action: "create", entity: Self.entity, id: campaign.id.auditID,
                               before: nil, after: campaign.auditSnapshot),
            ])
            return try SurveyCampaign(row: rows[0][0])
        }
    }

    public func get(_ id: UUID, as actor: Actor) async throws -> SurveyCampaign {
        try actor.require(.readClients)
        let rows = try await database.tenantTransaction(actor.scope, [
            "SELECT \(fragment: SurveyCampaign.columns) FROM survey_campaigns sc WHERE sc.id = \(id)",
        ])
        guard let row = rows[0].first else { throw Self.missing(id) }
        return try SurveyCampaign(row: row)
    }

    public func list(_ filter: Filter, as actor: Actor) async throws -> RecordPage<SurveyCampaign> {
        try actor.require(.readClients)
        let query = filter.records
        let rows = try await database.tenantTransaction(actor.scope, [
            """
            SELECT \(fragment: SurveyCampaign.columns) FROM survey_campaigns sc
            WHERE (\(filter.trigger)::text IS NULL OR sc.trigger = \(filter.trigger))
              AND (\(filter.active)::boolean IS NULL OR sc.active = \(filter.active))
              AND (\(query.after)::uuid IS NULL OR sc.id > \(query.after))
            ORDER BY sc.id LIMIT \(query.limit + 1)
            """,
        ])
        return RecordPage(try rows[0].map { try SurveyCampaign(row: $0) }, limit: query.limit, id: \.id)
    }

    public func update(
        _ id: UUID, _ changes: SurveyCampaignChanges, as actor: Actor, expecting: RecordPrecondition<SurveyCampaign>
    ) async throws -> SurveyCampaign {
        try actor.require(.manageSurveys)
        return try await Self.mappingConstraints {
            try await database.withTenantTransaction(actor.scope) { session in
                let current = try await session.query(
                    "SELECT \(fragment: SurveyCampaign.columns) FROM survey_campaigns sc WHERE sc.id = \(id) FOR UPDATE")
                guard let row = current.first else { throw Self.missing(id) }
                let before = try SurveyCampaign(row: row)
                try expecting(before)
                var campaign = before
                try changes.apply(to: &campaign)
                let rows = try await session.pipeline([
                    """
                    UPDATE survey_campaigns sc SET (\(fragment: SurveyCampaign.writtenColumns)) = ROW(\(fragment: campaign.writtenValues)),
                        updated_at = now()
                    WHERE sc.id = \(id)
                    RETURNING \(fragment: SurveyCampaign.columns)
                    """,
                    AuditLog.entry(by: actor, action: "update", entity: Self.entity, id: id.auditID,
                                   before: before.auditSnapshot, after: campaign.auditSnapshot),
                ])
                return try SurveyCampaign(row: rows[0][0])
            }
        }
    }

    /// A campaign that has invited anyone keeps its history: deactivate it instead (409).
    public func delete(_ id: UUID, as actor: Actor, expecting: RecordPrecondition<SurveyCampaign>) async throws {
        try actor.require(.manageSurveys)
        try await database.withTenantTransaction(actor.scope) { session in
            let found = try await session.pipeline([
                "SELECT \(fragment: SurveyCampaign.columns) FROM survey_campaigns sc WHERE sc.id = \(id) FOR UPDATE",
                "SELECT EXISTS (SELECT 1 FROM survey_invitations WHERE campaign_id = \(id))",
            ])
            guard let row = found[0].first else { throw Self.missing(id) }
            let campaign = try SurveyCampaign(row: row)
            try expecting(campaign)
            if try found[1][0].decode(Bool.self, at: 0) {
                throw ClientBaseError(.conflict, "this campaign has sent invitations; set active to false instead of deleting it")
            }
            _ = try await session.pipeline([
                "DELETE FROM survey_campaigns WHERE id = \(id)",
                AuditLog.entry(by: actor, action: "delete", entity: Self.entity, id: id.auditID,
                               before: campaign.auditSnapshot, after: nil),
            ])
        }
    }

    static func missing(_ id: UUID) -> ClientBaseError {
        ClientBaseError(.notFound, "no survey campaign with id \(id.auditID)")
    }

    static func mappingConstraints<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.isUniqueViolation && error.constraint == "survey_campaigns_one_exit" {
            throw ClientBaseError(.conflict, "another exit campaign is active; deactivate it first", field: "active")
        } catch let error as PostgresError where error.sqlState == .checkViolation {
            throw ClientBaseError(.invalid, "the campaign breaks a rule: \(error.message)")
        }
    }
}
