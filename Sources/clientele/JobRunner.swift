import Churn
import Foundation
import CoreMetrics
import Jobs
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
        database: PostgresClient, logger: Logger, environment: [String: String],
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
        var handlers = handlers()
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

    static func handlers() -> [String: JobHandler] {
        let own: [String: JobHandler] = [
            // Does nothing: for benchmarks and for checking that workers run.
            "noop": { _ in },
        ]
        // Churn scoring and alerts; notifications go nowhere until the Delivery layer's
        // AlertNotifier is passed here (they are recorded as failed, with that reason).
        return own.merging(ChurnJobs.handlers(notifier: NoAlertNotifier())) { $1 }
    }

    /// For bench/jobs.sh only: a job that takes `ms` milliseconds (a stand-in for real work).
    static func benchHandlers() -> [String: JobHandler] {
        [
            "bench.sleep": { context in
                let ms = try context.job.payload(as: [String: Int].self)["ms"] ?? 5
                try await Task.sleep(for: .milliseconds(ms))
            },
        ]
    }
}
