import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Jobs
import Testing
import TestSupport

/// `/v1/jobs`: a tenant sees and manages its own background jobs, nobody else's.
@Suite("Jobs over HTTP")
struct JobAPITests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    func enqueue(_ kind: String, slug: String = "optique-a", runAt: Date? = nil) async throws -> Int64 {
        let tenant = try await harness.scope(slug).tenantID
        return try #require(try await JobQueue(client: harness.database).enqueue(NewJob(kind: kind, tenantID: tenant, runAt: runAt)))
    }

    @Test("a tenant lists its own jobs, newest first, paged; another tenant's jobs are invisible and 404")
    func listIsPerTenant() async throws {
        let first = try await enqueue("survey.send")
        let second = try await enqueue("churn.score")
        let third = try await enqueue("survey.send")
        let foreign = try await enqueue("survey.send", slug: "garage-b")
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let page = try await client.call(.get, "/v1/jobs?limit=2", key: keyA)
            #expect(page.status == .ok)
            let items = try #require(page.json["items"] as? [[String: Any]])
            #expect(items.compactMap { $0["id"] as? Int } == [Int(third), Int(second)])
            #expect(items.first?["state"] as? String == "queued")
            let cursor = try #require(page.json["next_cursor"] as? String)
            let rest = try await client.call(.get, "/v1/jobs?limit=2&cursor=\(cursor)", key: keyA)
            #expect((rest.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [Int(first)])
            #expect(rest.json["next_cursor"] is NSNull)

            let surveys = try await client.call(.get, "/v1/jobs?kind=survey.send", key: keyA)
            #expect((surveys.json["items"] as? [Any])?.count == 2)
            #expect(try await client.call(.get, "/v1/jobs/\(foreign)", key: keyA).status == .notFound)
            #expect(try await client.call(.post, "/v1/jobs/\(foreign)/cancel", key: keyA).status == .notFound)
            #expect(try await client.call(.get, "/v1/jobs/\(foreign)", key: keyB).status == .ok)
            let listB = try await client.call(.get, "/v1/jobs", key: keyB)
            #expect((listB.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [Int(foreign)])
        }
    }

    @Test("a queued job can be snoozed and cancelled; a cancelled one retried; a state that forbids it is a 409")
    func cancelRetrySnooze() async throws {
        let id = try await enqueue("survey.send", runAt: Date().addingTimeInterval(3600))
        let (key, database) = (harness.keyA, harness.database)
        try await harness.test { client in
            let snoozed = try await client.call(.post, "/v1/jobs/\(id)/snooze", key: key, json: #"{"minutes": 180}"#)
            #expect(snoozed.status == .ok)
            let runAt = try #require((snoozed.json["run_at"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
            #expect(runAt > Date().addingTimeInterval(170 * 60))

            let cancelled = try await client.call(.post, "/v1/jobs/\(id)/cancel", key: key)
            #expect(cancelled.json["state"] as? String == "cancelled")
            let again = try await client.call(.post, "/v1/jobs/\(id)/cancel", key: key)
            #expect(again.status == .conflict)
            #expect(again.problem?["detail"] as? String == "job \(id) is cancelled; it cannot be cancelled")
            let snoozeCancelled = try await client.call(.post, "/v1/jobs/\(id)/snooze", key: key, json: #"{"minutes": 5}"#)
            #expect(snoozeCancelled.status == .conflict)

            let retried = try await client.call(.post, "/v1/jobs/\(id)/retry", key: key)
            #expect(retried.status == .ok)
            #expect(retried.json["state"] as? String == "queued")
            #expect(retried.json["attempts"] as? Int == 0)
            #expect(try await client.call(.post, "/v1/jobs/\(id)/retry", key: key).status == .conflict)
            #expect(try await JobQueue(client: database).status(of: id)?.state == .queued)
        }
    }

    @Test("bad ids, parameters and bodies are 400 and 422; agents and viewers get 403")
    func badInputAndRoles() async throws {
        let id = try await enqueue("survey.send")
        let harness = harness
        let agent = try await harness.member(.agent).key
        let viewer = try await harness.member(.viewer).key
        let manager = try await harness.member(.manager).key
        let key = harness.keyA
        try await harness.test { client in
            #expect(try await client.call(.get, "/v1/jobs/abc", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/jobs?state=sleeping", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/jobs?limit=0", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/jobs?cursor=%%%", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/jobs?page=2", key: key).status == .badRequest)
            let noMinutes = try await client.call(.post, "/v1/jobs/\(id)/snooze", key: key, json: #"{"hours": 2}"#)
            #expect(noMinutes.status == .unprocessableContent)
            let tooLong = try await client.call(.post, "/v1/jobs/\(id)/snooze", key: key, json: #"{"minutes": 100000}"#)
            #expect(tooLong.status == .unprocessableContent)
            #expect(tooLong.problem?["field"] as? String == "minutes")
            for denied in [agent, viewer] {
                #expect(try await client.call(.get, "/v1/jobs", key: denied).status == .forbidden)
                #expect(try await client.call(.post, "/v1/jobs/\(id)/cancel", key: denied).status == .forbidden)
            }
            #expect(try await client.call(.get, "/v1/jobs", key: manager).status == .ok)
            #expect(try await JobQueue(client: harness.database).status(of: id)?.state == .queued)
        }
    }
}
