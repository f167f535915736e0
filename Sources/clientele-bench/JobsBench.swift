import ArgumentParser
import Foundation
import Jobs
import Postgres

/// Enqueues jobs one per transaction (as the application does: INSERT and NOTIFY) from several
/// tasks at once, and prints the rate. `--spread` paces them over that many seconds instead;
/// `--batch N` enqueues N jobs per transaction with the batch API (one statement).
struct EnqueueJobs: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    @Option var count = 100_000
    @Option(help: "Comma-separated tenant ids, used in turn (none: platform jobs).") var tenants = ""
    @Option var kind = "noop"
    @Option(help: "JSON payload.") var payload = "{}"
    @Option var concurrency = 16
    @Option(help: "Spread the enqueues evenly over this many seconds (0: as fast as possible).") var spread = 0.0
    @Option(help: "Jobs per transaction, through the batch API (1: one enqueue per transaction).") var batch = 1

    func run() async throws {
        let (client, _, _) = try connection.open(connections: concurrency)
        let queue = JobQueue(client: client)
        let tenantIDs = tenants.split(separator: ",").compactMap { Int64($0) }
        let payload = try JSONDecoder().decode([String: Int].self, from: Data(self.payload.utf8))
        let start = ContinuousClock.now
        let (count, concurrency, kind, spread, batch) = (self.count, self.concurrency, self.kind, self.spread, self.batch)
        if batch > 1 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<concurrency {
                    group.addTask {
                        for first in stride(from: lane * batch, to: count, by: concurrency * batch) {
                            let jobs = (first..<min(first + batch, count)).map { index in
                                NewJob(kind: kind, payload: payload, tenantID: tenantIDs.isEmpty ? nil : tenantIDs[index % tenantIDs.count])
                            }
                            try await queue.enqueue(jobs)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seconds = Self.seconds(since: start)
            print(String(format: "enqueued %d jobs in %.2f s: %.0f jobs/s (%d connections, batches of %d, one statement each)",
                         count, seconds, Double(count) / seconds, concurrency, batch))
            await client.shutdown()
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<concurrency {
                group.addTask {
                    for index in stride(from: lane, to: count, by: concurrency) {
                        if spread > 0 {
                            let due = start + .milliseconds(Int(spread * 1000 * Double(index) / Double(count)))
                            try await Task.sleep(until: due, clock: .continuous)
                        }
                        let tenant = tenantIDs.isEmpty ? nil : tenantIDs[index % tenantIDs.count]
                        try await queue.enqueue(NewJob(kind: kind, payload: payload, tenantID: tenant))
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Self.seconds(since: start)
        print(String(format: "enqueued %d jobs in %.2f s: %.0f jobs/s (%d connections, one transaction each)",
                     count, seconds, Double(count) / seconds, concurrency))
        await client.shutdown()
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = start.duration(to: .now).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }
}

/// Prints a pgbench script running the worker's own claiming statement (a batch of `--batch`),
/// then completing what it claimed into the history, as the worker does.
struct JobPgbenchScript: AsyncParsableCommand {
    @Option var batch = 500

    func run() async throws {
        let marker = "pgbench-worker-marker"
        let claim = JobQueue.claimStatement(worker: marker, limit: batch, lease: .seconds(30))
        var sql = claim.sql
        // $10 before $1: replace the longest numbers first.
        for (index, value) in claim.binds.values.enumerated().reversed() {
            let literal = value == marker ? "('pgb-' || :client_id)" : value.map { "'\($0)'" } ?? "NULL"
            sql = sql.replacingOccurrences(of: "$\(index + 1)", with: literal)
        }
        print(sql.split(separator: "\n").joined(separator: " ") + ";")
        print("""
            WITH done AS (DELETE FROM platform.jobs WHERE state = 'running' AND locked_by = ('pgb-' || :client_id) RETURNING *) \
            INSERT INTO platform.job_history (id, tenant_id, kind, payload, state, attempts, max_attempts, run_at, started_at, \
            created_at, finished_at, last_error, errors, unique_key) SELECT id, tenant_id, kind, payload, 'succeeded', attempts, \
            max_attempts, run_at, started_at, created_at, now(), last_error, errors, unique_key FROM done;
            """)
    }
}
