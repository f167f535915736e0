import Churn
import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore
import Postgres

/// Churn risk and alerts: `/v1/churn/settings` (GET, PATCH), `/v1/alerts` (list, get, and the
/// acknowledge / resolve / lose actions), and `/v1/clients/{id}/churn` (score, reasons, history).
struct ChurnRoutes: Sendable {
    let alerts: ChurnAlertRepository
    let settings: ChurnSettingsStore

    init(database: PostgresClient) {
        alerts = ChurnAlertRepository(database: database)
        settings = ChurnSettingsStore(database: database)
    }

    static func register(on v1: RouterGroup<AppRequestContext>, database: PostgresClient) {
        let routes = ChurnRoutes(database: database)
        let churn = v1.group("churn")
        churn.get("settings", use: routes.getSettings)
        churn.patch("settings", use: routes.updateSettings)
        let alerts = v1.group("alerts")
        alerts.get(use: routes.list)
        alerts.get(":id", use: routes.get)
        alerts.post(":id/acknowledge", use: routes.acknowledge)
        alerts.post(":id/resolve", use: routes.resolve)
        alerts.post(":id/lose", use: routes.lose)
        v1.group("clients").get(":id/churn", use: routes.clientChurn)
    }

    @Sendable func getSettings(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        return JSONBody.response(bytes: ChurnJSON.settings(try await settings.get(as: try context.requireActor())))
    }

    @Sendable func updateSettings(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let changes = try await JSONBody.decode(ChurnSettingsChanges.self, from: request, context: context)
        return JSONBody.response(bytes: ChurnJSON.settings(try await settings.update(changes, as: try context.requireActor())))
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        try QueryParameters.refuseUnknown(
            parameters, allowed: ["state", "assigned_user_id", "min_score", "client_id", "limit", "cursor"])
        var filter = ChurnAlertRepository.Filter()
        filter.state = try QueryParameters.enumeration(parameters, "state", ChurnAlert.State.self)
        filter.assignedUserID = try QueryParameters.id(parameters, "assigned_user_id")
        filter.minimumScore = try QueryParameters.integer(parameters, "min_score", in: 0...100)
        filter.clientID = try QueryParameters.id(parameters, "client_id")
        filter.limit = try QueryParameters.integer(parameters, "limit", in: 1...ChurnAlertRepository.Filter.maximumLimit) ?? 50
        if let cursor = parameters.get("cursor") {
            guard let id = IDCursor.decode(String(cursor)) else { throw QueryParameters.badCursor }
            filter.before = id
        }
        let page = try await alerts.list(filter, as: try context.requireActor())
        var writer = JSONWriter()
        writer.page(page.items, nextCursor: page.nextCursor) { $0.write($1) }
        return JSONBody.response(bytes: writer.bytes)
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        return Self.response(try await alerts.get(try Self.id(context), as: try context.requireActor()))
    }

    @Sendable func acknowledge(request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { _ in .acknowledge }
    }

    @Sendable func resolve(request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { try $0.action(lose: false) }
    }

    @Sendable func lose(request: Request, context: AppRequestContext) async throws -> Response {
        try await act(request, context) { try $0.action(lose: true) }
    }

    /// Reads the (optional) body, then moves the alert on, checking If-Match when sent.
    private func act(
        _ request: Request, _ context: AppRequestContext, _ action: (ChurnAlertActionBody) throws -> ChurnAlertAction
    ) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let id = try Self.id(context)
        let bytes = try await JSONBody.collect(request, context: context)
        let body = bytes.isEmpty ? ChurnAlertActionBody() : try JSONBody.decode(ChurnAlertActionBody.self, from: bytes)
        let alert = try await alerts.act(
            id, try action(body), as: try context.requireActor(), ifRevisionIn: try ClientRoutes.ifMatch(request.headers[.ifMatch]))
        return Self.response(alert)
    }

    @Sendable func clientChurn(request: Request, context: AppRequestContext) async throws -> Response {
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let churn = try await alerts.churn(of: try ClientRoutes.id(context), as: try context.requireActor())
        return JSONBody.response(bytes: ChurnJSON.clientChurn(churn))
    }

    static func response(_ alert: ChurnAlert) -> Response {
        var writer = JSONWriter()
        writer.write(alert)
        var response = JSONBody.response(bytes: writer.bytes)
        response.headers[.eTag] = "\"\(alert.revision)\""
        return response
    }

    static func id(_ context: AppRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("'\(text.prefix(64))' is not an alert id (a UUID)", field: "id")
        }
        return id
    }
}

/// Churn settings, alerts and scores as JSON, by hand like the rest of the API: keys sorted,
/// every field present. Reasons are written as stored (a JSON array made by PostgreSQL).
enum ChurnJSON {
    static func settings(_ settings: ChurnSettings) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"alert_threshold\":"); writer.integer(settings.alertThreshold)
        writer.raw(",\"complaint_open_days\":"); writer.integer(settings.complaintOpenDays)
        writer.raw(",\"csat_low_max\":"); writer.integer(settings.csatLowMax)
        writer.raw(",\"digest_email\":"); writer.raw(settings.digestEmail ? "true" : "false")
        writer.raw(",\"falling_spend_drop\":"); writer.ascii(Money.plainNumber(settings.fallingSpendDrop, maximumDecimals: 2))
        writer.raw(",\"last_scored_at\":"); writer.optionalDate(settings.lastScoredAt)
        writer.raw(",\"no_contact_days\":"); writer.integer(settings.noContactDays)
        writer.raw(",\"nps_detractor_max\":"); writer.integer(settings.npsDetractorMax)
        writer.raw(",\"overdue_factor\":"); writer.ascii(Money.plainNumber(settings.overdueFactor, maximumDecimals: 2))
        writer.raw(",\"overdue_min_purchases\":"); writer.integer(settings.overdueMinPurchases)
        writer.raw(",\"payment_incident_days\":"); writer.integer(settings.paymentIncidentDays)
        writer.raw(",\"survey_window_days\":"); writer.integer(settings.surveyWindowDays)
        writer.raw(",\"updated_at\":"); writer.date(settings.updatedAt)
        writer.raw(",\"webhook_secret\":"); writer.string(settings.webhookSecret)
        writer.raw(",\"webhook_url\":"); writer.string(settings.webhookURL)
        for code in ChurnReason.Code.allCases.sorted(by: { $0.weightField < $1.weightField }) {
            writer.raw(",\""); writer.ascii(code.weightField); writer.raw("\":"); writer.integer(settings.weight(code))
        }
        writer.raw("}")
        return writer.bytes
    }

    static func clientChurn(_ churn: ClientChurn) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"changed_at\":"); writer.optionalDate(churn.changedAt)
        writer.raw(",\"client_id\":"); writer.id(churn.clientID)
        writer.raw(",\"history\":[")
        for (index, change) in churn.history.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"at\":"); writer.date(change.at)
            writer.raw(",\"reasons\":"); writer.json(change.reasonsJSON)
            writer.raw(",\"score\":"); writer.integer(change.score)
            writer.raw("}")
        }
        writer.raw("],\"pending_alert_id\":"); writer.id(churn.pendingAlertID)
        writer.raw(",\"reasons\":"); writer.json(churn.reasonsJSON)
        writer.raw(",\"score\":"); writer.integer(churn.score)
        writer.raw("}")
        return writer.bytes
    }
}

extension JSONWriter {
    mutating func write(_ alert: ChurnAlert) {
        raw("{\"acknowledged_at\":"); optionalDate(alert.acknowledgedAt)
        raw(",\"acknowledged_by\":"); string(alert.acknowledgedBy)
        raw(",\"assigned_user_id\":"); id(alert.assignedUserID)
        raw(",\"client_id\":"); id(alert.clientID)
        raw(",\"closed_at\":"); optionalDate(alert.closedAt)
        raw(",\"closed_by\":"); string(alert.closedBy)
        raw(",\"exit_reason\":"); string(alert.exitReason?.rawValue)
        raw(",\"id\":"); id(alert.id)
        raw(",\"note\":"); string(alert.note)
        raw(",\"raised_at\":"); date(alert.raisedAt)
        raw(",\"reasons\":"); json(alert.reasonsJSON)
        raw(",\"revision\":"); integer(alert.revision)
        raw(",\"score\":"); integer(alert.score)
        raw(",\"state\":"); string(alert.state.rawValue)
        raw("}")
    }
}
