import ClientBase
import Foundation
import Hummingbird

/// `GET /v1/clients/{id}/personal-data` (subject access) and `POST /v1/clients/{id}/erase`
/// (erasure): owners and admins; both audited.
struct DataRightsRoutes {
    let repository: DataRightsRepository

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get(":id/personal-data", use: personalData)
        group.post(":id/erase", use: erase)
    }

    @Sendable func personalData(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let data = try await repository.personalData(of: try ClientRoutes.id(context), as: try context.requireActor())
        var writer = JSONWriter()
        writer.raw("{\"audit_log\":[")
        for (index, entry) in data.auditEntries.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"action\":"); writer.string(entry.action)
            writer.raw(",\"actor\":"); writer.string(entry.actor)
            writer.raw(",\"at\":"); writer.date(entry.at)
            writer.raw(",\"changes\":"); writer.json(entry.changesJSON)
            writer.raw(",\"entity\":"); writer.string(entry.entity)
            writer.raw(",\"entity_id\":"); writer.string(entry.entityID)
            writer.raw(",\"id\":"); writer.string(String(entry.id))
            writer.raw("}")
        }
        writer.raw("],\"category_history\":[")
        for (index, change) in data.categoryHistory.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"author\":"); writer.string(change.author)
            writer.raw(",\"changed_at\":"); writer.date(change.changedAt)
            writer.raw(",\"from_category\":"); writer.string(change.from?.rawValue)
            writer.raw(",\"reason\":"); writer.string(change.reason)
            writer.raw(",\"to_category\":"); writer.string(change.to.rawValue)
            writer.raw("}")
        }
        writer.raw("],\"churn\":"); writer.json(data.churnJSON)
        writer.raw(",\"client\":")
        writer.write(data.client)
        writer.raw(",\"complaints\":"); Self.list(data.complaints, RecordJSON.complaint, into: &writer)
        writer.raw(",\"exported_at\":"); writer.date(data.exportedAt)
        writer.raw(",\"interactions\":"); Self.list(data.interactions, RecordJSON.interaction, into: &writer)
        writer.raw(",\"payments\":"); Self.list(data.payments, RecordJSON.payment, into: &writer)
        writer.raw(",\"purchases\":"); Self.list(data.purchases, RecordJSON.purchase, into: &writer)
        writer.raw(",\"relationships\":"); Self.list(data.relationships, RecordJSON.relationship, into: &writer)
        writer.raw(",\"survey_answers\":"); writer.json(data.surveyAnswersJSON)
        writer.raw(",\"survey_invitations\":"); writer.json(data.surveyInvitationsJSON)
        writer.raw("}")
        var response = JSONBody.response(bytes: writer.bytes)
        response.headers[.contentDisposition] = "attachment; filename=\"personal-data-\(data.client.id.auditID).json\""
        return response
    }

    private static func list<Record>(_ records: [Record], _ json: (Record) -> [UInt8], into writer: inout JSONWriter) {
        writer.raw("[")
        for (index, record) in records.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.bytes += json(record)
        }
        writer.raw("]")
    }

    @Sendable func erase(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let outcome = try await repository.erase(try ClientRoutes.id(context), as: try context.requireActor())
        return ClientRoutes.response(outcome.client)
    }
}
