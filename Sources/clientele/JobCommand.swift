import ArgumentParser
import Foundation
import Jobs
import Tenancy

/// The operator's view of every tenant's jobs: list them, cancel, retry or snooze one.
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Show and manage the background jobs of every tenant.",
        subcommands: [List.self, Cancel.self, Retry.self, Snooze.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @Option(help: "Only this tenant's jobs (its slug).") var tenant: String?
        @Option(help: "queued, running, succeeded, discarded or cancelled.") var state: String?
        @Option(help: "Only jobs of this kind.") var kind: String?
        @Option(help: "How many (1 to 1000).") var limit: Int = 50

        func run() async throws {
            var jobState: JobState?
            if let state {
                guard let value = JobState(rawValue: state) else {
                    fail(ValidationError("unknown state '\(state)': use queued, running, succeeded, discarded or cancelled"))
                }
                jobState = value
            }
            guard (1...1000).contains(limit) else { fail(ValidationError("--limit must be from 1 to 1000")) }
            try await withDatabase { runtime, client in
                var tenantID: Int64?
                if let tenant {
                    tenantID = try await TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
                        .find(slug: tenant).id
                }
                let jobs = try await JobQueue(client: client).list(tenantID: tenantID, state: jobState, kind: kind, limit: limit)
                print(pad("ID", 10) + pad("TENANT", 8) + pad("STATE", 11) + pad("ATTEMPTS", 9) + pad("RUN AT", 21) + pad("KIND", 24) + "LAST ERROR")
                for job in jobs {
                    print(pad(String(job.id), 10) + pad(job.tenantID.map(String.init) ?? "-", 8) + pad(job.state.rawValue, 11)
                          + pad("\(job.attempts)/\(job.maxAttempts)", 9)
                          + pad(job.runAt.formatted(Date.ISO8601FormatStyle(timeZone: .gmt)), 21) + pad(job.kind, 24)
                          + (job.lastError.map { String($0.prefix(80)) } ?? ""))
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued job: it is kept and never runs.")
        @Argument(help: "The job's id.") var id: Int64
        func run() async throws {
            try await JobCommand.change(id, "cancelled") { queue in try await queue.cancel(id, tenantID: nil) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a discarded or cancelled job again, now.")
        @Argument(help: "The job's id.") var id: Int64
        func run() async throws {
            try await JobCommand.change(id, "queued again") { queue in try await queue.retry(id, tenantID: nil) }
        }
    }

    struct Snooze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delay a queued job.")
        @Argument(help: "The job's id.") var id: Int64
        @Option(help: "By how many minutes (1 to 43200).") var minutes: Int
        func run() async throws {
            guard (1...43_200).contains(minutes) else { fail(ValidationError("--minutes must be from 1 to 43200")) }
            let until = Date().addingTimeInterval(Double(minutes) * 60)
            try await JobCommand.change(id, "snoozed") { queue in try await queue.snooze(id, until: until, tenantID: nil) }
        }
    }

    static func change(_ id: Int64, _ done: String, _ action: @escaping @Sendable (JobQueue) async throws -> JobRecord?) async throws {
        try await withDatabase { _, client in
            do {
                guard let job = try await action(JobQueue(client: client)) else { fail(ValidationError("no job with id \(id)")) }
                print("job \(job.id) (\(job.kind)) \(done); runs at \(job.runAt.formatted(Date.ISO8601FormatStyle(timeZone: .gmt)))")
            } catch let conflict as JobStateConflict {
                fail(ValidationError(conflict.message))
            }
        }
    }
}
