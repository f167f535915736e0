import ArgumentParser
import Foundation
import Tenancy

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the platform schema and every tenant up to date.",
        discussion: "Runs under an advisory lock: a second run waits for the first. A failing tenant is reported; the others go on."
    )

    @Option(help: "Tenants migrated at the same time.") var concurrency: Int = 4

    func run() async throws {
        guard (1...64).contains(concurrency) else {
            fail(ValidationError("--concurrency must be between 1 and 64"))
        }
        try await withDatabase(maximumConnections: concurrency + 2, migratePlatform: false) { runtime, client in
            let migrator = Migrator(client: client, migrations: runtime.migrations, logger: runtime.logger)
            let started = ContinuousClock.now
            let report = try await migrator.migrateAll(concurrency: concurrency)
            for name in report.platformApplied { print("platform: applied \(name)") }
            for tenant in report.tenantsMigrated { print("tenant \(tenant.slug): \(tenant.from) -> \(tenant.to)") }
            for failure in report.failures { print("tenant \(failure.slug): FAILED: \(failure.message)") }
            let elapsed = started.duration(to: .now)
            print("\(report.tenantsMigrated.count) migrated, \(report.tenantsUpToDate) already up to date, "
                  + "\(report.failures.count) failed, in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
            if !report.succeeded { throw ExitCode(1) }
        }
    }
}
