import ClientBase
import Foundation
import Hummingbird
import HummingbirdCore
import Postgres
import Surveys

/// `/v1/survey-campaigns` (CRUD like the records around the purchase, plus `send` and
/// `results`), `/v1/survey-settings`, and `/v1/clients/{id}/survey-answers`.
enum SurveyRoutes {
    static func register(on v1: RouterGroup<AppRequestContext>, database: PostgresClient) {
        let campaigns = v1.group("survey-campaigns")
        RecordRoutes(
            repository: SurveyCampaignRepository(database: database), path: "survey-campaigns",
            filterNames: ["trigger", "active"], ofClients: false,
            makeFilter: { records, parameters in
                SurveyCampaignRepository.Filter(
                    records: records, trigger: try QueryParameters.enumeration(parameters, "trigger"),
                    active: try QueryParameters.bool(parameters, "active"))
            },
            json: SurveyJSON.campaign, id: \.id, idempotency: IdempotentRequests(database: database)
        ).register(on: campaigns)

        let sender = SurveySender(database: database), results = SurveyResults(database: database)
        campaigns.post(":id/send") { request, context in
            try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
            let id = try campaignID(context)
            let body = try await JSONBody.collect(request, context: context)
            let send = body.isEmpty ? SurveySendRequest() : try JSONBody.decode(SurveySendRequest.self, from: body)
            let counts = try await sender.send(campaign: id, send, as: try context.requireActor())
            return JSONBody.response(bytes: SurveyJSON.counts(counts))
        }
        campaigns.get(":id/results") { request, context in
            let id = try campaignID(context)
            let query = try resultsQuery(request.uri.queryParameters)
            let (json, next) = try await results.results(of: id, query, as: try context.requireActor())
            // PostgreSQL wrote the object; the comments' cursor is ours.
            var bytes = Array(json.utf8.dropLast())
            var writer = JSONWriter()
            writer.raw(",\"next_cursor\":")
            writer.string(next.map(IDCursor.encode))
            writer.raw("}")
            bytes += writer.bytes
            return JSONBody.response(bytes: bytes)
        }

        let settings = SurveySettingsStore(database: database)
        v1.get("survey-settings") { request, context in
            try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
            return JSONBody.response(bytes: SurveyJSON.settings(try await settings.get(as: try context.requireActor())))
        }
        v1.patch("survey-settings") { request, context in
            try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
            let changes = try await JSONBody.decode(SurveySettingsChanges.self, from: request, context: context)
            return JSONBody.response(bytes: SurveyJSON.settings(try await settings.update(changes, as: try context.requireActor())))
        }

        let answers = SurveyAnswers(database: database)
        v1.get("clients/:id/survey-answers") { request, context in
            let parameters = request.uri.queryParameters
            try QueryParameters.refuseUnknown(parameters, allowed: ["limit", "cursor"])
            let text = context.parameters.get("id") ?? ""
            guard let id = UUID(uuidString: text) else {
                throw Problem.badRequest("'\(text.prefix(64))' is not a client id (a UUID)", field: "id")
            }
            let limit = try QueryParameters.integer(parameters, "limit", in: 1...RecordFilter.maximumLimit) ?? 50
            var cursor: UUID?
            if let text = parameters.get("cursor") {
                guard let after = IDCursor.decode(text) else { throw QueryParameters.badCursor }
                cursor = after
            }
            let page = try await answers.of(client: id, limit: limit, before: cursor, as: try context.requireActor())
            var writer = JSONWriter()
            writer.page(page.items, nextCursor: page.nextCursor) { writer, answer in writer.write(answer) }
            return JSONBody.response(bytes: writer.bytes)
        }
    }

    static func campaignID(_ context: AppRequestContext) throws -> UUID {
        let text = context.parameters.get("id") ?? ""
        guard let id = UUID(uuidString: text) else {
            throw Problem.badRequest("'\(text.prefix(64))' is not a survey campaign id (a UUID)", field: "id")
        }
        return id
    }

    static func resultsQuery(_ parameters: FlatDictionary<Substring, Substring>) throws -> SurveyResultsQuery {
        try QueryParameters.refuseUnknown(parameters, allowed: ["from", "to", "period", "limit", "cursor"])
        var query = SurveyResultsQuery(
            from: try QueryParameters.date(parameters, "from"), to: try QueryParameters.date(parameters, "to"))
        if let period: SurveyResultsQuery.Period = try QueryParameters.enumeration(parameters, "period") { query.period = period }
        if let limit = try QueryParameters.integer(parameters, "limit", in: 1...SurveyResultsQuery.maximumLimit) {
            query.limit = limit
        }
        if let cursor = parameters.get("cursor") {
            guard let after = IDCursor.decode(cursor) else { throw QueryParameters.badCursor }
            query.after = after
        }
        return query
    }
}

/// The survey resources as JSON, keys sorted, every field present.
enum SurveyJSON {
    @Sendable static func campaign(_ campaign: SurveyCampaign) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"active\":"); writer.raw(campaign.active ? "true" : "false")
        writer.raw(",\"ask\":"); writer.string(campaign.ask.rawValue)
        writer.raw(",\"audience\":{\"categories\":"); writer.strings(campaign.audience.categories.map(\.rawValue))
        writer.raw(",\"kinds\":"); writer.strings(campaign.audience.kinds.map(\.rawValue))
        writer.raw(",\"segment\":"); writer.string(campaign.audience.segment?.rawValue)
        writer.raw(",\"tags\":"); writer.strings(campaign.audience.tags)
        writer.raw("},\"channel\":"); writer.string(campaign.channel.rawValue)
        writer.raw(",\"created_at\":"); writer.date(campaign.createdAt)
        writer.raw(",\"cron\":"); writer.string(campaign.cron)
        writer.raw(",\"delay_days\":"); writer.integer(campaign.delayDays)
        writer.raw(",\"extra_questions\":[")
        for (index, question) in campaign.extraQuestions.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"en\":"); writer.string(question.en)
            writer.raw(",\"fr\":"); writer.string(question.fr)
            writer.raw(",\"type\":"); writer.string(question.type.rawValue)
            writer.raw("}")
        }
        writer.raw("],\"id\":"); writer.id(campaign.id)
        writer.raw(",\"lifetime_days\":"); writer.integer(campaign.lifetimeDays)
        writer.raw(",\"measure\":"); writer.string(campaign.measure.rawValue)
        writer.raw(",\"name\":"); writer.string(campaign.name)
        writer.raw(",\"question_en\":"); writer.string(campaign.questionEN)
        writer.raw(",\"question_fr\":"); writer.string(campaign.questionFR)
        writer.raw(",\"reminder_after_days\":"); writer.integer(campaign.reminderAfterDays)
        writer.raw(",\"trigger\":"); writer.string(campaign.trigger.rawValue)
        writer.raw(",\"updated_at\":"); writer.date(campaign.updatedAt)
        writer.raw("}")
        return writer.bytes
    }

    static func counts(_ counts: SurveyInvitationCounts) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"created\":"); writer.integer(counts.created)
        writer.raw(",\"skipped\":{")
        for (index, reason) in SurveySkipReason.allCases.sorted(by: { $0.rawValue < $1.rawValue }).enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(reason.rawValue)
            writer.raw(":")
            writer.integer(counts.skipped[reason] ?? 0)
        }
        writer.raw("}}")
        return writer.bytes
    }

    static func settings(_ settings: SurveySettings) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"min_days_between_surveys\":"); writer.integer(settings.minDaysBetweenSurveys)
        writer.raw(",\"reply_to\":"); writer.string(settings.replyTo)
        writer.raw(",\"sender_name\":"); writer.string(settings.senderName)
        writer.raw(",\"updated_at\":"); writer.date(settings.updatedAt)
        writer.raw("}")
        return writer.bytes
    }
}

extension JSONWriter {
    mutating func write(_ answer: SurveyAnswer) {
        raw("{\"answered_at\":"); date(answer.answeredAt)
        raw(",\"campaign_id\":"); id(answer.campaignID)
        raw(",\"campaign_name\":"); string(answer.campaignName)
        raw(",\"comment\":"); string(answer.comment)
        // A JSON array written by PostgreSQL: copied as it is.
        raw(",\"extra_answers\":"); json(answer.extraAnswersJSON)
        raw(",\"id\":"); id(answer.id)
        raw(",\"invitation_id\":"); id(answer.invitationID)
        raw(",\"language\":"); string(answer.language.rawValue)
        raw(",\"measure\":"); string(answer.measure.rawValue)
        raw(",\"score\":"); integer(answer.score)
        raw("}")
    }
}
