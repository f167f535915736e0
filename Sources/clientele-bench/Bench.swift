import ArgumentParser
import Churn
import Foundation
import LocalPostgres
import Logging
import Postgres
import Tenancy

/// Data setup and in-process timings for the scripts in bench/. Talks to DATABASE_URL.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clientele-bench",
        abstract: "Benchmark helpers (see bench/).",
        subcommands: [Provision.self, Seed.self, MigrateMany.self, EnqueueJobs.self, JobPgbenchScript.self, ChurnScore.self,
                      SurveySetup.self]
    )
}

struct Connection: ParsableArguments {
    @Option(help: "PostgreSQL URL.") var databaseURL: String = ProcessInfo.processInfo.environment["DATABASE_URL"] ?? ""
    @Option(help: "The sql/ folder.") var sql: String = "sql"

    func open(connections: Int = 8) throws -> (PostgresClient, MigrationSet, Logger) {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let client = PostgresClient(
            configuration: try PostgresConfiguration(url: databaseURL),
            options: .init(maximumConnections: connections), logger: logger)
        return (client, try MigrationSet(directory: URL(fileURLWithPath: sql)), logger)
    }
}

/// Creates tenants one after the other and prints the median time of `tenant create`.
struct Provision: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    @Option var count = 20
    @Option var prefix = "bench"
    @Option(help: "Where to write the first tenant's API key.") var keyFile = "key.txt"

    func run() async throws {
        let (client, migrations, logger) = try connection.open()
        let directory = TenantDirectory(client: client, migrations: migrations, logger: logger)
        _ = try await directory.migrator.migratePlatform()
        var timings: [Duration] = []
        for index in 0..<count {
            let start = ContinuousClock.now
            let (_, key) = try await directory.create(slug: "\(prefix)-\(index)", name: "Bench \(index)")
            timings.append(start.duration(to: .now))
            if index == 0 { try key.token.write(toFile: keyFile, atomically: true, encoding: .utf8) }
        }
        timings.sort()
        print("provisioned \(count) tenants: median \(ms(timings[count / 2])) ms, p90 \(ms(timings[count * 9 / 10])) ms, max \(ms(timings.last!)) ms")
        await client.shutdown()
    }
}

/// Fills one tenant with clients whose ids are md5(n)::uuid, n = 1...count, so pgbench can
/// pick the same rows as wrk; writes the ids to a file for wrk.
struct Seed: AsyncParsableCommand {
    @OptionGroup var connection: Connection
    @Option var tenant: String
    @Option var clients = 100_000
    @Option var idsFile = "ids.txt"

    func run() async throws {
        let (client, migrations, logger) = try connection.open()
        let tenant = try await TenantDirectory(client: client, migrations: migrations, logger: logger).find(slug: tenant)
        let start = ContinuousClock.now
        try await client.withTenantTransaction(TenantScope(tenant)) { session in
            try await session.query("""
                INSERT INTO clients (id, kind, category, first_name, last_name, email, city, postal_code)
                SELECT md5(g::text)::uuid, 'individual',
                       (ARRAY['prospect','actual_client','competitor_client','relative_non_consumer',
                              'absolute_non_consumer','prescriber','former_client'])[1 + g % 7],
                       'Prénom ' || g, 'Nom ' || g, 'client' || g || '@example.fr', 'Lyon', '69003'
                FROM generate_series(1, \(clients)) AS g
                """)
            try await session.query("ANALYZE clients")
        }
        let ids = try await client.tenantTransaction(TenantScope(tenant), [
            "SELECT string_agg(id::text, E'\\n') FROM clients",
        ])[0][0].decode(String.self, at: 0)
        try (ids + "\n").write(toFile: idsFile, atomically: true, encoding: .utf8)
        print("seeded \(clients) clients into \(tenant.slug) (\(tenant.schemaName)) in \(ms(start.duration(to: .now))) ms")
        print("ROLE=\(tenant.roleName) SCHEMA=\(tenant.schemaName)")
        await client.shutdown()
    }
}

/// Provisions `tenants` tenants at the repository's schema version, then times `migrate` with
/// one pending tenant migration (an added column and index).
struct MigrateMany: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate-many")
    @OptionGroup var connection: Connection
    @Option var tenants = 1000
    @Option var concurrency = 4

    func run() async throws {
        let (client, migrations, logger) = try connection.open(connections: concurrency + 4)
        let directory = TenantDirectory(client: client, migrations: migrations, logger: logger)
        _ = try await directory.migrator.migratePlatform()
        let existing = try await directory.list().filter { $0.status != .deleted }.count
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for index in stride(from: existing + worker, to: tenants, by: concurrency) {
                        _ = try await directory.create(slug: "many-\(index)", name: "Many \(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let created = max(0, tenants - existing)
        print("provisioned \(created) more tenants (\(tenants) in all) in \(ms(start.duration(to: .now))) ms")

        let pending = Migration(
            version: migrations.tenant.count + 1, name: "bench_add_loyalty_tier",
            sql: "ALTER TABLE clients ADD COLUMN loyalty_tier smallint; CREATE INDEX clients_loyalty_tier ON clients (loyalty_tier);")
        let migrator = Migrator(
            client: client, migrations: MigrationSet(platform: migrations.platform, tenant: migrations.tenant + [pending]),
            logger: logger)
        let migrateStart = ContinuousClock.now
        let report = try await migrator.migrateAll(concurrency: concurrency)
        let elapsed = migrateStart.duration(to: .now)
        print("migrate: \(report.tenantsMigrated.count) tenants migrated, \(report.failures.count) failed, in \(ms(elapsed)) ms (concurrency \(concurrency))")
        await client.shutdown()
    }
}

/// Scores every client of one tenant for churn risk, as the nightly job does, and prints each
/// run's time and what it wrote.
struct ChurnScore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "churn-score")
    @OptionGroup var connection: Connection
    @Option var tenant: String
    @Option var runs = 2

    func run() async throws {
        let (client, migrations, logger) = try connection.open(connections: 2)
        let scope = TenantScope(try await TenantDirectory(client: client, migrations: migrations, logger: logger).find(slug: tenant))
        for index in 1...runs {
            let start = ContinuousClock.now
            let run = try await client.withTenantTransaction(scope) { try await ChurnScorer.score(client: nil, in: $0) }
            print("run \(index): \(ms(start.duration(to: .now))) ms: \(run.changedScores) scores written, "
                  + "\(run.changedHistory) history rows, \(run.raisedAlerts.count) alerts raised")
            if index < runs { try await drainNotifications(client, tenant: scope.tenantID) }
        }
        await client.shutdown()
    }

    /// Waits until the server's workers have sent the alerts' notification jobs, so that the
    /// next run is a following night, not a night that shares the machine with them.
    func drainNotifications(_ client: PostgresClient, tenant: Int64) async throws {
        let start = ContinuousClock.now
        while true {
            let waiting = try await client.query(
                "SELECT count(*)::int FROM platform.jobs WHERE tenant_id = \(tenant) AND kind = 'churn.notify'")[0].decode(Int.self, at: 0)
            if waiting == 0 { break }
            guard start.duration(to: .now) < .seconds(600) else {
                print("   \(waiting) notification jobs still queued after 600 s; going on")
                return
            }
            try await Task.sleep(for: .seconds(1))
        }
        print("   the server's workers sent the notifications in \(ms(start.duration(to: .now))) ms")
    }
}

func ms(_ duration: Duration) -> String {
    let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return String(format: "%.1f", value)
}
