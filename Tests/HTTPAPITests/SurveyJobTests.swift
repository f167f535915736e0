import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Jobs
import Postgres
import Surveys
import Testing
import TestSupport

/// Surveys through the job runner: the jobs are enqueued in the transactions that cause them,
/// and the handlers, run by a real worker, invite and deliver.
@Suite("Survey jobs")
struct SurveyJobTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    struct Rollback: Error {}

    /// Tenant A's jobs of a kind, queued, running or finished: their payloads.
    func jobs(_ kind: String) async throws -> [String] {
        let tenant = try await harness.scopeA().tenantID
        return try await harness.database.query("""
            SELECT payload::text FROM platform.jobs WHERE tenant_id = \(tenant) AND kind = \(kind)
            UNION ALL SELECT payload::text FROM platform.job_history WHERE tenant_id = \(tenant) AND kind = \(kind)
            """).map { try $0.decode(String.self, at: 0) }
    }

    @Test("a rolled-back purchase schedules nothing; a recorded one is surveyed, delivered once, and its answer rescored")
    func purchaseToAnswer() async throws {
        let key = harness.keyA
        let harness = harness
        let mailer = RecordingMailer()
        let scope = try await harness.scopeA()
        try await harness.test { client in
            let buyer = try await client.surveyClient(key: key)
            _ = try await client.campaign(key: key, #""trigger": "after_purchase", "delay_days": 0"#)
            let yesterday = Timestamps.today(Date().addingTimeInterval(-86_400))
            let body = #"{"buyer_id": "\#(buyer)", "amount": "80", "purchased_on": "\#(yesterday)"}"#

            let changes = try JSONDecoder().decode(PurchaseChanges.self, from: Data(body.utf8))
            await #expect(throws: Rollback.self) {
                try await harness.database.withTenantTransaction(scope) { session in
                    _ = try await PurchaseRepository(database: harness.database).create(
                        changes, as: Actor.system(scope, label: "test"), in: session)
                    throw Rollback()
                }
            }
            #expect(try await jobs("survey.purchase").isEmpty)

            let purchase = try await client.create("/v1/purchases", key: key, body)
            #expect(try await jobs("survey.purchase").count == 1)
            #expect(try await jobs("survey.purchase").first?.contains(try #require(purchase["id"] as? String)) == true)

            var options = JobWorker.Options()
            options.pollInterval = .milliseconds(50)
            let worker = JobWorker(
                queue: JobQueue(client: harness.database),
                handlers: SurveyJobs.jobHandlers(database: harness.database, mailer: mailer, links: APIHarness.links),
                options: options, listener: nil, logger: TestDatabase.logger)
            let running = Task { try await worker.run() }
            defer { running.cancel() }
            for _ in 0..<200 where mailer.sent.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            let email = try #require(mailer.sent.first)
            #expect(mailer.sent.count == 1)

            #expect(try await client.page(.post, email.pagePath, form: "score=4").status == .ok)
            #expect(try await jobs("churn.rescore").count == 1)
            #expect(try await jobs("churn.rescore").first?.contains(buyer) == true)
            // Leaving: the exit survey's job, in the change's transaction.
            _ = try await client.call(.patch, "/v1/clients/\(buyer)", key: key,
                                      json: #"{"category": "former_client", "category_reason": "moved"}"#)
            #expect(try await jobs("survey.exit").count == 1)
            running.cancel()
            _ = await running.result
        }
    }
}
