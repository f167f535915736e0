import Churn
import Delivery
import Foundation
import Surveys
import Tenancy
import CoreMetrics
import Jobs
import Outbound
import Logging
import Postgres
import ServiceLifecycle

/// The background job services of a process (the worker and the periodic-job scheduler):
/// `serve` runs them beside the HTTP server, `worker` alone. Every handler of every module is registered here.
enum JobRunner {
    /// Environment: CLIENTELE_WORKERS (true; false runs no worker in `serve`),
    /// CLIENTELE_JOB_CONCURRENCY (32), CLIENTELE_JOB_RETENTION_DAYS (14), CLIENTELE_JOB_LEASE_SECONDS (30),
    /// CLIENTELE_JOB_LISTEN (true; false only polls, as behind PgBouncer in transaction mode).
    static func services(
        database: PostgresClient, outbound: OutboundSettings, links: SurveyLinks, logger: Logger, environment: [String: String],
        metrics: any MetricsFactory = MetricsSystem.factory
    ) -> [any Service] {
        var options = JobWorker.Options()
        options.metrics = metrics
        if let concurrency = Int(environment["CLIENTELE_JOB_CONCURRENCY"] ?? ""), concurrency > 0 {
            options.concurrency = concurrency
        }
        if let seconds = Int(environment["CLIENTELE_JOB_LEASE_SECONDS"] ?? ""), seconds > 0 {
            options.lease = .seconds(seconds)
        }
        if let days = Int(environment["CLIENTELE_JOB_RETENTION_DAYS"] ?? ""), days > 0 {
            options.retention = .seconds(days * 86_400)
        }
        let listener = environment["CLIENTELE_JOB_LISTEN"] == "false" ? nil
            : PostgresListener(configuration: database.configuration, channels: [JobQueue.channel], logger: logger)
        var handlers = handlers(database: database, outbound: outbound, links: links, logger: logger)
        if environment["CLIENTELE_BENCH_JOBS"] == "true" { handlers.merge(benchHandlers()) { $1 } }
        let worker = JobWorker(
            queue: JobQueue(client: database), handlers: handlers, options: options,
            listener: listener, logger: logger)
        // Every process runs the scheduler too: each tick fires once whoever takes it (the
        // schedule row is locked and advanced in the transaction that enqueues the tick).
        let scheduleListener = environment["CLIENTELE_JOB_LISTEN"] == "false" ? nil
            : PostgresListener(configuration: database.configuration, channels: [JobScheduler.channel], logger: logger)
        let scheduler = JobScheduler(client: database, listener: scheduleListener, logger: logger)
        return [worker, scheduler]
    }

    static func handlers(database: PostgresClient, outbound: OutboundSettings, links: SurveyLinks, logger: Logger) -> [String: JobHandler] {
        var handlers: [String: JobHandler] = [
            // Does nothing: for benchmarks and for checking that workers run.
            "noop": { _ in },
            declareSchedulesKind: { _ in await declareSchedules(database: database, logger: logger) },
        ]
        // Each tenant's own mail server when it has one, else the platform's.
        let router = TenantMailRouter(database: database, platform: outbound.mail, secretBox: outbound.secretBox)
        let webhooks: WebhookSender?
        do {
            webhooks = try WebhookSender(logger: logger)
        } catch {
            logger.error("webhooks cannot be sent (TLS setup failed); alerts and webhook invitations are recorded as not delivered",
                         metadata: ["error": "\(error)"])
            webhooks = nil
        }
        let notifier: any AlertNotifier = webhooks.map { DeliveryAlertNotifier(database: database, webhooks: $0, router: router) }
            ?? NoAlertNotifier()
        handlers.merge(ChurnJobs.handlers(notifier: notifier)) { $1 }
        handlers.merge(SurveyJobs.jobHandlers(
            database: database, mailer: SMTPSurveyMailer(router: router), links: links,
            webhooks: webhooks.map(WebhookSurveyPoster.init(sender:)))) { $1 }
        handlers.merge(SMTPAccountMailer.jobHandlers(database: database, mail: outbound.mail, links: links)) { $1 }
        return handlers
    }

    /// For bench/jobs.sh only: a job that takes `ms` milliseconds (a stand-in for real work).
    static func benchHandlers() -> [String: JobHandler] {
        [
            // `first_ms`, if given, is the first attempt's duration (a test kills that one).
            "bench.sleep": { context in
                let payload = try context.job.payload(as: [String: Int].self)
                let ms = (context.job.attempt == 1 ? payload["first_ms"] : nil) ?? payload["ms"] ?? 5
                try await Task.sleep(for: .milliseconds(ms))
            },
        ]
    }

    /// Every active tenant's periodic jobs (nightly churn scoring, the alert digest), declared
    /// again at each start: an unchanged schedule keeps its next firing time, so nothing is
    /// skipped or doubled by a restart. A tenant created meanwhile gets them at the next start
    /// of any process, or from the platform schedule that runs this every ten minutes.
    static func declareSchedules(database: PostgresClient, logger: Logger) async {
        do {
            let schedules = JobSchedules(client: database)
            _ = try await schedules.upsert(name: declareSchedulesKind, tenantID: nil, kind: declareSchedulesKind, cron: "*/10 * * * *")
            let tenants = try await database.query(
                "SELECT id, schema_name, role_name FROM platform.tenants WHERE status = 'active' ORDER BY id")
                .map { TenantScope(tenantID: try $0.decode(at: 0), schemaName: try $0.decode(at: 1), roleName: try $0.decode(at: 2)) }
            for tenant in tenants {
                try await ChurnJobs.registerSchedules { kind, cron, _ in
                    _ = try await schedules.upsert(name: kind, tenantID: tenant.tenantID, kind: kind, cron: cron)
                }
                // Recurring survey waves of active campaigns.
                for wave in try await SurveyWaves.schedules(scope: tenant, database: database) {
                    let payload = try JSONDecoder().decode([String: String].self, from: Data(wave.job.payloadJSON.utf8))
                    _ = try await schedules.upsert(
                        name: wave.name, tenantID: tenant.tenantID, kind: wave.job.kind, payload: payload, cron: wave.cron)
                }
            }
        } catch {
            logger.error("periodic jobs not declared", metadata: ["error": "\(error)"])
        }
    }

    static let declareSchedulesKind = "platform.declare_schedules"
}
