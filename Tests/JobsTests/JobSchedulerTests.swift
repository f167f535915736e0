import Foundation
import Jobs
import Postgres
import ServiceLifecycle
import Testing
import TestSupport

@Suite("Periodic jobs")
struct JobSchedulerTests {
    let client: PostgresClient
    let schedules: JobSchedules
    let paris = TimeZone(identifier: "Europe/Paris")!

    init() async throws {
        (client, _) = try await TestDatabase.platform("schedules", maximumConnections: 8)
        schedules = JobSchedules(client: client)
    }

    /// A tenant row (no schema: schedules only need the catalogue entry).
    func makeTenant(_ slug: String, timeZone: String = "Europe/Paris", status: String = "active") async throws -> Int64 {
        try #require(try await client.query("""
            INSERT INTO platform.tenants (slug, name, schema_name, role_name, time_zone, status)
            VALUES (\(slug), \(slug), \("s_" + slug), \("r_" + slug), \(timeZone), \(status)) RETURNING id
            """).first).decode(at: 0)
    }

    func databaseNow() async throws -> Date {
        try #require(try await client.query("SELECT now()").first).decode(at: 0)
    }

    func setNextRun(_ name: String, _ date: Date) async throws {
        _ = try await client.query("UPDATE platform.job_schedules SET next_run_at = \(date) WHERE name = \(name)")
    }

    struct TickJob {
        var kind: String
        var tenantID: Int64?
        var uniqueKey: String
        var payload: [String: String]
    }

    func jobs() async throws -> [TickJob] {
        try await client.query("""
            SELECT kind, tenant_id, unique_key, payload FROM platform.jobs ORDER BY id
            """).map { row in
            let payload = try row.decode(PostgresJSONValue.self, at: 3).decode([String: StringOrNumber].self)
            return TickJob(kind: try row.decode(at: 0), tenantID: try row.decode(at: 1), uniqueKey: try row.decode(at: 2),
                           payload: payload.mapValues(\.text))
        }
    }

    func iso(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt)) }

    @Test("a due schedule enqueues exactly one job, with its payload and scheduled time, and advances")
    func dueScheduleFires() async throws {
        let tenant = try await makeTenant("garage")
        let created = try await schedules.upsert(
            name: "sync", tenantID: tenant, kind: "crm.sync", payload: ["source": "shop"], cron: "* * * * *")
        let now = try await databaseNow()
        #expect(try #require(created.nextRunAt) > now)
        #expect(created.timeZone == "Europe/Paris")
        #expect(created.tenantSlug == "garage")

        // Due since five minutes ago: the tick that fires is the current minute's.
        let minute = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60)
        try await setNextRun("sync", minute.addingTimeInterval(-300))
        let scheduler = JobScheduler(client: client, logger: TestDatabase.logger)
        #expect(try await scheduler.fireDueTicks() == 1)

        let fired = try await jobs()
        #expect(fired.count == 1)
        let job = try #require(fired.first)
        #expect(job.kind == "crm.sync")
        #expect(job.tenantID == tenant)
        #expect(job.payload["source"] == "shop")
        #expect(job.payload["schedule"] == "sync")
        #expect(job.payload["schedule_id"] == "\(created.id)")
        let tick = try #require(job.payload["scheduled_at"])
        let tickDate = try Date(tick, strategy: .iso8601)
        #expect(tickDate <= (try await databaseNow()))
        #expect(tickDate >= minute)
        #expect(job.uniqueKey == "schedule:\(created.id):\(tick)")

        let advanced = try #require(try await schedules.get(name: "sync", tenantID: tenant))
        #expect(advanced.lastRunAt == tickDate)
        #expect(advanced.nextRunAt == tickDate.addingTimeInterval(60))
        // Nothing more is due until the next minute (on a machine slow enough to reach it,
        // that minute's tick is due, and only it).
        let nextMinuteReached = try await databaseNow() >= advanced.nextRunAt!
        #expect(try await scheduler.fireDueTicks() == (nextMinuteReached ? 1 : 0))
        #expect(try await jobs().count == (nextMinuteReached ? 2 : 1))
        #expect(scheduler.statistics.fired == (nextMinuteReached ? 2 : 1))
        await client.shutdown()
    }

    @Test("missed ticks: one catch-up tick for the most recent missed time, then the next future time")
    func missedTicks() async throws {
        try await schedules.upsert(name: "nightly-scoring", tenantID: nil, kind: "churn.score", cron: "0 3 * * *")
        let expression = try CronExpression("0 3 * * *")
        let now = try await databaseNow()
        // Everything was down for three nights and more: due since a 03:00 four days ago.
        let missedSince = try #require(expression.next(after: now.addingTimeInterval(-4 * 86_400), in: paris))
        try await setNextRun("nightly-scoring", missedSince)
        let scheduler = JobScheduler(client: client, logger: TestDatabase.logger)
        #expect(try await scheduler.fireDueTicks() == 1)

        let fired = try await jobs()
        #expect(fired.count == 1, "three missed nights run once")
        let tick = try Date(try #require(fired.first?.payload["scheduled_at"]), strategy: .iso8601)
        var mostRecent = missedSince
        while let next = expression.next(after: mostRecent, in: paris), next <= now { mostRecent = next }
        #expect(tick == mostRecent)
        #expect(tick > now.addingTimeInterval(-86_400))
        let schedule = try #require(try await schedules.get(name: "nightly-scoring", tenantID: nil))
        let next = try #require(schedule.nextRunAt)
        #expect(next > now)
        #expect(next == expression.next(after: tick, in: paris))
        #expect(try await scheduler.fireDueTicks() == 0)
        await client.shutdown()
    }

    @Test("the catch-up of a schedule that fires every minute and missed a month is its last minute")
    func missedManyTicks() async throws {
        try await schedules.upsert(name: "poll", tenantID: nil, kind: "poll", cron: "* * * * *")
        let now = try await databaseNow()
        let minute = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60)
        try await setNextRun("poll", minute.addingTimeInterval(-31 * 86_400))
        let scheduler = JobScheduler(client: client, logger: TestDatabase.logger)
        #expect(try await scheduler.fireDueTicks() == 1)
        let tick = try Date(try #require(try await jobs().first?.payload["scheduled_at"]), strategy: .iso8601)
        #expect(tick >= minute)
        #expect(tick <= (try await databaseNow()))
        #expect(try await jobs().count == 1)
        await client.shutdown()
    }

    @Test("a disabled schedule does not fire; enabled again, it continues from its next time without catching up")
    func disabled() async throws {
        try await schedules.upsert(name: "digest", tenantID: nil, kind: "digest", cron: "*/5 * * * *")
        #expect(try await schedules.disable(name: "digest", tenantID: nil)?.enabled == false)
        try await setNextRun("digest", try await databaseNow().addingTimeInterval(-3600))
        let scheduler = JobScheduler(client: client, logger: TestDatabase.logger)
        #expect(try await scheduler.fireDueTicks() == 0)
        #expect(try await jobs().isEmpty)

        let enabled = try #require(try await schedules.enable(name: "digest", tenantID: nil))
        #expect(enabled.enabled)
        #expect(try #require(enabled.nextRunAt) > (try await databaseNow()))
        #expect(try await scheduler.fireDueTicks() == 0)
        #expect(try await jobs().isEmpty)
        #expect(try await schedules.disable(name: "nobody", tenantID: nil) == nil)
        #expect(try await schedules.enable(name: "nobody", tenantID: nil) == nil)
        await client.shutdown()
    }

    @Test("a suspended tenant's tick is skipped, and its schedule still advances")
    func suspendedTenant() async throws {
        let tenant = try await makeTenant("ferme", status: "suspended")
        try await schedules.upsert(name: "survey-wave", tenantID: tenant, kind: "survey.wave", cron: "0 10 * * MON")
        try await setNextRun("survey-wave", try await databaseNow().addingTimeInterval(-60))
        let scheduler = JobScheduler(client: client, logger: TestDatabase.logger)
        #expect(try await scheduler.fireDueTicks() == 1)
        #expect(try await jobs().isEmpty)
        #expect(scheduler.statistics.skipped == 1)
        #expect(try #require(try await schedules.get(name: "survey-wave", tenantID: tenant)?.nextRunAt) > (try await databaseNow()))
        await client.shutdown()
    }

    @Test("two schedulers on separate connections, running together, fire each tick exactly once")
    func twoSchedulers() async throws {
        let (names, rounds) = (30, 6)
        for index in 0..<names {
            try await schedules.upsert(name: "s\(index)", tenantID: nil, kind: "tick", cron: "0 0 1 1 *", timeZone: "UTC")
        }
        let configuration = client.configuration
        var options = JobScheduler.Options()
        options.batchSize = 4
        options.maximumSleep = .milliseconds(20)
        options.minimumSleep = .milliseconds(1)
        options.retryInterval = .milliseconds(20)
        let clients = [TestDatabase.makeClient(configuration, maximumConnections: 2),
                       TestDatabase.makeClient(configuration, maximumConnections: 2)]
        let schedulers = clients.map { JobScheduler(client: $0, logger: TestDatabase.logger, options: options) }
        let group = ServiceGroup(services: schedulers, gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }

        // Each round, every schedule becomes due with a tick of its own: a daily time a few
        // minutes ago, last due yesterday. The next round starts once both have fired them all.
        let base = Date(timeIntervalSince1970: (try await databaseNow().timeIntervalSince1970 / 60).rounded(.down) * 60)
        var expected = Set<String>()
        for round in 1...rounds {
            let tick = base.addingTimeInterval(Double(-60 * round))
            let utc = Calendar(identifier: .gregorian).dateComponents(in: .gmt, from: tick)
            _ = try await client.query("""
                UPDATE platform.job_schedules
                SET cron = \("\(utc.minute!) \(utc.hour!) * * *"), next_run_at = \(tick.addingTimeInterval(-86_400))
                """)
            schedulers.forEach { $0.wake() }
            let deadline = ContinuousClock.now + .seconds(90)  // generous: the machine may be busy
            while try await client.query("SELECT count(*) FROM platform.job_schedules WHERE next_run_at <= now()").first?.decode(Int.self, at: 0) != 0 {
                guard ContinuousClock.now < deadline else { Issue.record("round \(round) was not fired in time"); break }
                try await Task.sleep(for: .milliseconds(5))
            }
            for row in try await client.query("SELECT id FROM platform.job_schedules") {
                expected.insert("schedule:\(try row.decode(Int64.self, at: 0)):\(iso(tick))")
            }
        }
        await group.triggerGracefulShutdown()
        try await running.value

        let keys = try await client.query("SELECT unique_key FROM platform.jobs").map { try $0.decode(String.self, at: 0) }
        #expect(keys.count == names * rounds)
        #expect(Set(keys) == expected)
        let statistics = schedulers.map(\.statistics)
        #expect(statistics.map(\.fired).reduce(0, +) == names * rounds)
        // The row lock, not the unique key, kept the second scheduler off: it never even tried.
        #expect(statistics.map(\.alreadyQueued) == [0, 0])
        // Both took part (each round wakes both, and batches of 4 interleave).
        #expect(statistics.allSatisfy { $0.fired > 0 }, "\(statistics)")
        for client in clients { await client.shutdown() }
        await client.shutdown()
    }

    @Test("graceful shutdown ends a sleeping scheduler at once")
    func gracefulShutdown() async throws {
        try await schedules.upsert(name: "yearly", tenantID: nil, kind: "report", cron: "@yearly")
        let scheduler = JobScheduler(client: client, logger: TestDatabase.logger)  // sleeps up to 30 s
        let group = ServiceGroup(services: [scheduler], gracefulShutdownSignals: [], logger: TestDatabase.logger)
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(ContinuousClock.now - start < .seconds(5))  // not the 30 s sleep
        await client.shutdown()
    }

    @Test("a listening scheduler wakes when a schedule changes")
    func listenerWakes() async throws {
        var options = JobScheduler.Options()
        options.maximumSleep = .seconds(60)
        let listener = PostgresListener(configuration: client.configuration, channels: [JobScheduler.channel], logger: TestDatabase.logger)
        let scheduler = JobScheduler(client: client, listener: listener, logger: TestDatabase.logger, options: options)
        let running = Task { try await scheduler.run() }
        try await Task.sleep(for: .milliseconds(300))  // asleep for a minute
        // A yearly schedule made due by hand: only a wake-up gets it fired before the sleep ends.
        try await schedules.upsert(name: "soon", tenantID: nil, kind: "soon", cron: "@yearly")
        try await setNextRun("soon", try await databaseNow().addingTimeInterval(-1))
        let deadline = ContinuousClock.now + .seconds(30)
        repeat {
            // Declaring it again notifies (again, in case the listener was not listening yet).
            try await schedules.upsert(name: "soon", tenantID: nil, kind: "soon", cron: "@yearly")
            try await Task.sleep(for: .seconds(1))
        } while try await jobs().isEmpty && ContinuousClock.now < deadline
        #expect(try await jobs().count == 1)
        running.cancel()
        _ = await running.result
        await client.shutdown()
    }

    @Test("upsert: tenant zone by default, own zone when named; the due time is kept unless the timing changes")
    func upsertRules() async throws {
        let tenant = try await makeTenant("deli", timeZone: "America/New_York")
        let followed = try await schedules.upsert(name: "morning", tenantID: tenant, kind: "k", cron: "0 9 * * *")
        #expect(followed.timeZone == "America/New_York")
        #expect(followed.ownTimeZone == nil)
        let local = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "America/New_York")!, from: try #require(followed.nextRunAt))
        #expect(local.hour == 9 && local.minute == 0)

        let own = try await schedules.upsert(name: "evening", tenantID: tenant, kind: "k", cron: "0 18 * * *", timeZone: "Asia/Tokyo")
        #expect(own.timeZone == "Asia/Tokyo")
        #expect(Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "Asia/Tokyo")!, from: try #require(own.nextRunAt)).hour == 18)

        let platform = try await schedules.upsert(name: "morning", tenantID: nil, kind: "k", cron: "0 9 * * *")
        #expect(platform.timeZone == "Europe/Paris")
        #expect(platform.id != followed.id, "names are per tenant")

        // Declared again at a start while due: the due tick is not pushed away.
        let due = try await databaseNow().addingTimeInterval(-120)
        _ = try await client.query("UPDATE platform.job_schedules SET next_run_at = \(due) WHERE id = \(followed.id)")
        let again = try await schedules.upsert(name: "morning", tenantID: tenant, kind: "k2", payload: ["a": "b"], cron: "0 9 * * *")
        #expect(again.id == followed.id)
        #expect(again.kind == "k2")
        #expect(again.nextRunAt.map(iso) == iso(due))
        let changed = try await schedules.upsert(name: "morning", tenantID: tenant, kind: "k2", cron: "30 9 * * *")
        #expect(try #require(changed.nextRunAt) > (try await databaseNow()))

        #expect(try await schedules.list(tenantID: tenant).map(\.name) == ["evening", "morning"])
        #expect(try await schedules.list(tenantID: nil).map(\.name) == ["morning", "evening", "morning"])
        #expect(try await schedules.remove(name: "evening", tenantID: tenant))
        #expect(try await schedules.remove(name: "evening", tenantID: tenant) == false)
        #expect(try await schedules.list(tenantID: tenant).map(\.name) == ["morning"])
        await client.shutdown()
    }

    @Test("bad cron, bad zone, unknown tenant and bad names or payloads are refused, naming the field", arguments: [
        ("cron", "invalid cron expression: the hour field '25': 25 is outside 0-23"),
        ("time_zone", "'Europe/Lutece' is not a known time zone"),
        ("tenant", "no tenant with id 999999"),
        ("name", "the name must be 1 to 100 characters"),
        ("kind", "the kind must be 1 to 100 characters"),
        ("payload", "the payload must be a JSON object"),
    ])
    func badInput(field: String, message: String) async throws {
        let schedules = self.schedules
        await #expect {
            switch field {
            case "cron": try await schedules.upsert(name: "x", tenantID: nil, kind: "k", cron: "0 25 * * *")
            case "time_zone": try await schedules.upsert(name: "x", tenantID: nil, kind: "k", cron: "@daily", timeZone: "Europe/Lutece")
            case "tenant": try await schedules.upsert(name: "x", tenantID: 999_999, kind: "k", cron: "@daily")
            case "name": try await schedules.upsert(name: " x", tenantID: nil, kind: "k", cron: "@daily")
            case "kind": try await schedules.upsert(name: "x", tenantID: nil, kind: "", cron: "@daily")
            default: try await schedules.upsert(name: "x", tenantID: nil, kind: "k", payload: [1, 2], cron: "@daily")
            }
        } throws: { error in
            guard let error = error as? JobScheduleError else { return false }
            return error.field == field && error.message.contains(message)
                && error.reason == (field == "tenant" ? .notFound : .invalid)
        }
        #expect(try await schedules.list(tenantID: nil).isEmpty)
        await client.shutdown()
    }

    @Test("a tenant whose zone is not a known zone cannot get schedules that follow it")
    func badTenantZone() async throws {
        let tenant = try await makeTenant("atlantis", timeZone: "Atlantis/Poseidonis")
        await #expect(throws: JobScheduleError.self) {
            try await schedules.upsert(name: "x", tenantID: tenant, kind: "k", cron: "@daily")
        }
        // Its own zone is fine.
        try await schedules.upsert(name: "x", tenantID: tenant, kind: "k", cron: "@daily", timeZone: "Europe/Paris")
        await client.shutdown()
    }
}

/// A payload value read as text, whether JSON wrote it as a string or a number.
struct StringOrNumber: Decodable {
    var text: String
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) { text = string } else { text = "\(try container.decode(Int64.self))" }
    }
}
