import ClientBase
import Foundation
import Hummingbird
import Jobs

/// `/v1/jobs`: a tenant's own background jobs (surveys to send, scores to compute), for the
/// roles that manage them. Another tenant's job is 404, like an unknown one.
struct JobRoutes: Sendable {
    let queue: JobQueue

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.get(":id", use: get)
        group.post(":id/cancel") { request, context in
            try await change(request, context) { id, tenant in try await queue.cancel(id, tenantID: tenant) }
        }
        group.post(":id/retry") { request, context in
            try await change(request, context) { id, tenant in try await queue.retry(id, tenantID: tenant) }
        }
        group.post(":id/snooze", use: snooze)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageJobs)
        let parameters = request.uri.queryParameters
        try QueryParameters.refuseUnknown(parameters, allowed: ["state", "kind", "limit", "cursor"])
        let state = try QueryParameters.enumeration(parameters, "state", JobState.self)
        let limit = try QueryParameters.integer(parameters, "limit", in: 1...200) ?? 50
        var before: Int64?
        if let cursor = parameters.get("cursor") {
            guard let text = CursorText.decode(String(cursor), maximumLength: 40), let id = Int64(text) else {
                throw QueryParameters.badCursor
            }
            before = id
        }
        let kind = parameters.get("kind").map { String($0) }
        let jobs = try await queue.list(tenantID: actor.scope.tenantID, state: state, kind: kind, limit: limit + 1, before: before)
        var writer = JSONWriter()
        let next = jobs.count > limit ? CursorText.encode(String(jobs[limit - 1].id)) : nil
        writer.page(jobs.prefix(limit), nextCursor: next) { $0.write($1) }
        return JSONBody.response(bytes: writer.bytes)
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageJobs)
        let id = try Self.id(context)
        guard let job = try await queue.get(id, tenantID: actor.scope.tenantID) else { throw Self.notFound(id) }
        return Self.response(job)
    }

    struct Snooze: Decodable {
        var minutes: Int
    }

    @Sendable func snooze(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try StrictBody.decode(Snooze.self, allowed: ["minutes"], from: try await JSONBody.collect(request, context: context))
        guard (1...(60 * 24 * 30)).contains(body.minutes) else {
            throw Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value",
                          detail: "field 'minutes' must be from 1 to 43200 (30 days)", field: "minutes")
        }
        let until = Date().addingTimeInterval(Double(body.minutes) * 60)
        return try await change(request, context) { id, tenant in try await queue.snooze(id, until: until, tenantID: tenant) }
    }

    private func change(
        _ request: Request, _ context: AppRequestContext, _ action: (Int64, Int64) async throws -> JobRecord?
    ) async throws -> Response {
        let actor = try context.requireActor()
        try actor.require(.manageJobs)
        try QueryParameters.refuseUnknown(request.uri.queryParameters, allowed: [])
        let id = try Self.id(context)
        do {
            guard let job = try await action(id, actor.scope.tenantID) else { throw Self.notFound(id) }
            return Self.response(job)
        } catch let conflict as JobStateConflict {
            throw Problem(status: .conflict, slug: "job-state", title: "Not in this state", detail: conflict.message)
        }
    }

    static func response(_ job: JobRecord) -> Response {
        var writer = JSONWriter()
        writer.write(job)
        return JSONBody.response(bytes: writer.bytes)
    }

    static func id(_ context: AppRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text), id > 0 else {
            throw Problem.badRequest("'\(text.prefix(64))' is not a job id (a positive whole number)", field: "id")
        }
        return id
    }

    static func notFound(_ id: Int64) -> Problem {
        Problem.notFound("no job with id \(id)")
    }
}

extension JSONWriter {
    /// A job without its payload (which may hold what the job works on) and without its tenant.
    mutating func write(_ job: JobRecord) {
        raw("{\"attempts\":"); ascii(String(job.attempts))
        raw(",\"created_at\":"); date(job.createdAt)
        // Written by PostgreSQL (jsonb): [{"at": …, "error": …, "attempt": …}, …]
        raw(",\"errors\":"); json(job.errorsJSON)
        raw(",\"finished_at\":"); optionalDate(job.finishedAt)
        raw(",\"id\":"); ascii(String(job.id))
        raw(",\"kind\":"); string(job.kind)
        raw(",\"last_error\":"); string(job.lastError)
        raw(",\"max_attempts\":"); ascii(String(job.maxAttempts))
        raw(",\"run_at\":"); date(job.runAt)
        raw(",\"started_at\":"); optionalDate(job.startedAt)
        raw(",\"state\":"); string(job.state.rawValue)
        raw("}")
    }
}
