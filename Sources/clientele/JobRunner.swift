import Foundation
import Jobs
import Logging
import Postgres
import ServiceLifecycle

/// The background job services of a process: `serve` runs them beside the HTTP server,
/// `worker` alone. Every handler of every module is registered here.
enum JobRunner {
    /// Environment: CLIENTELE_WORKERS (true; false runs no worker in `serve`),
    /// CLIENTELE_JOB_CONCURRENCY (32), CLIENTELE_JOB_RETENTION_DAYS (14),
    /// CLIENTELE_JOB_LISTEN (true; false only polls, as behind PgBouncer in transaction mode).
    static func services(database: PostgresClient, logger: Logger, environment: [String: String]) -> [any Service] {
        var options = JobWorker.Options()
        if let concurrency = Int(environment["CLIENTELE_JOB_CONCURRENCY"] ?? ""), concurrency > 0 {
            options.concurrency = concurrency
        }
        if let days = Int(environment["CLIENTELE_JOB_RETENTION_DAYS"] ?? ""), days > 0 {
            options.retention = .seconds(days * 86_400)
        }
        let listener = environment["CLIENTELE_JOB_LISTEN"] == "false" ? nil
            : PostgresListener(configuration: database.configuration, channels: [JobQueue.channel], logger: logger)
        let worker = JobWorker(
            queue: JobQueue(client: database), handlers: handlers(), options: options,
            listener: listener, logger: logger)
        return [worker]
    }

    static func handlers() -> [String: JobHandler] {
        [
            // Does nothing: for benchmarks and for checking that workers run.
            "noop": { _ in },
        ]
    }
}
