import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Postgres
import Testing
import TestSupport

/// Worker processes as they run in production: the real `clientele worker` binary, killed
/// without warning, replaced by another.
extension CLITests {
    /// Starts `clientele worker` in the background (bench job kinds on, a short lease).
    func startWorker(lease: Int = 2, environment extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("clientele")
        process.arguments = ["worker"]
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment["CLIENTELE_SQL_DIR"] = TestDatabase.sqlDirectory.path
        environment["CLIENTELE_BENCH_JOBS"] = "true"
        environment["CLIENTELE_JOB_LEASE_SECONDS"] = String(lease)
        environment["LOG_LEVEL"] = "error"
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func waitFor(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test("a worker killed with SIGKILL in the middle of a job: another process rescues the job when its lease runs out and completes it")
    func killedWorkerIsRescued() async throws {
        try succeeds("migrate")
        let database = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL), logger: TestDatabase.logger)
        let id = try #require(try await database.query("""
            INSERT INTO platform.jobs (kind, payload, max_attempts) VALUES ('bench.sleep', '{"first_ms": 120000, "ms": 100}', 5) RETURNING id
            """).first?.decode(Int64.self, at: 0))
        func state() async throws -> String? {
            try await database.query("""
                SELECT state FROM platform.jobs WHERE id = \(id) UNION ALL SELECT state FROM platform.job_history WHERE id = \(id)
                """).first?.decode(String.self, at: 0)
        }

        let first = try startWorker()
        #expect(try await waitFor(seconds: 30) { try await state() == "running" })
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        #expect(first.terminationReason == .uncaughtSignal)
        #expect(try await state() == "running")  // held under the dead worker's lease (its first run takes 2 min)

        let second = try startWorker()
        #expect(try await waitFor(seconds: 40) { try await state() == "succeeded" })
        let row = try #require(try await database.query(
            "SELECT attempts, errors::text FROM platform.job_history WHERE id = \(id)").first)
        #expect(try row.decode(Int.self, at: 0) == 2)
        #expect(try row.decode(String.self, at: 1).contains("stopped renewing its lease"))

        // SIGTERM: a graceful stop, exit status 0.
        second.terminate()
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        await database.shutdown()
    }

    @Test("two worker processes running the scheduler at once: every due tick of forty schedules fires exactly once")
    func twoProcessesFireEachTickOnce() async throws {
        try succeeds("migrate")
        let database = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL), logger: TestDatabase.logger)
        // Forty schedules of every minute, all due: both processes find them at their start.
        _ = try await database.query("""
            INSERT INTO platform.job_schedules (name, kind, cron, time_zone, next_run_at)
            SELECT 'tick-test-' || g, 'noop', '* * * * *', 'Europe/Paris', date_trunc('minute', now()) FROM generate_series(1, 40) g
            """)
        let workers = [try startWorker(), try startWorker()]
        func ticks() async throws -> [(schedule: String, firings: Int)] {
            try await database.query("""
                SELECT payload->>'schedule', count(*)::int
                FROM (SELECT payload FROM platform.jobs UNION ALL SELECT payload FROM platform.job_history) j
                WHERE payload->>'schedule' LIKE 'tick-test-%'
                GROUP BY payload->>'schedule', payload->>'scheduled_at'
                """).map { (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1)) }
        }
        #expect(try await waitFor(seconds: 60) { Set(try await ticks().map(\.schedule)).count == 40 })
        try await Task.sleep(for: .seconds(1))  // a second firing, if there were one, has time to land
        let fired = try await ticks()
        #expect(Set(fired.map(\.schedule)).count == 40)
        #expect(fired.allSatisfy { $0.firings == 1 }, "ticks fired more than once: \(fired.filter { $0.firings > 1 })")
        for worker in workers {
            worker.terminate()
            worker.waitUntilExit()
            #expect(worker.terminationStatus == 0)
        }
        await database.shutdown()
    }

    @Test("""
        a worker-only process with CLIENTELE_METRICS_PORT serves its job figures on /metrics, and readiness on /readyz; \
        its pool holds twice the machine's cores (at least 4) when CLIENTELE_POOL_SIZE is not set
        """)
    func workerServesMetrics() async throws {
        try succeeds("migrate")
        let database = PostgresClient(configuration: try PostgresConfiguration(url: databaseURL), logger: TestDatabase.logger)
        let port = try LoopbackServer.closedPort()
        let worker = try startWorker(environment: ["CLIENTELE_METRICS_PORT": String(port), "CLIENTELE_POOL_SIZE": ""])
        defer { worker.terminate(); worker.waitUntilExit() }
        _ = try await database.query("INSERT INTO platform.jobs (kind) SELECT 'noop' FROM generate_series(1, 3)")
        func get(_ path: String) async -> (status: Int, body: String)? {
            guard let (data, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            else { return nil }
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
        // Completions are counted when the batch commits: wait for the three.
        // The queued and running gauges are read from the database every few seconds.
        #expect(try await waitFor(seconds: 30) {
            guard let body = await get("/metrics")?.body else { return false }
            return body.contains(#"clientele_jobs_completed_total{kind="noop"} 3"#) && body.contains("clientele_jobs_queued")
        })
        let metrics = await get("/metrics")
        #expect(metrics?.status == 200)
        #expect(metrics?.body.contains("clientele_jobs_queued") == true)
        let poolSize = max(4, 2 * ProcessInfo.processInfo.activeProcessorCount)
        #expect(metrics?.body.contains(#"db_pool_connections{state="maximum"} \#(poolSize)"#) == true,
                "\(metrics?.body.split(separator: "\n").filter { $0.contains("db_pool") } ?? [])")
        #expect(await get("/readyz")?.status == 200)
        #expect(await get("/v1/clients")?.status == 404)  // no API in a worker
        await database.shutdown()
    }

    @Test("a CLIENTELE_POOL_SIZE that is not a whole number from 2 to 1000 stops the worker and the server at once with one line")
    func badPoolSize() throws {
        // A bad metrics port and a bad HTTP port too: were the pool size let through, the
        // process would stop on those (another message) instead of running on.
        for (command, size) in [("worker", "lots"), ("serve", "1"), ("tenant list", "-4"), ("serve", "5000")] {
            let outcome = try clientele(arguments: command.split(separator: " ").map(String.init), environment: [
                "CLIENTELE_POOL_SIZE": size, "CLIENTELE_METRICS_PORT": "none", "PORT": "99999",
            ])
            #expect(outcome.status == 1, "\(command) \(size)")
            #expect(outcome.error == "error: CLIENTELE_POOL_SIZE must be a whole number from 2 to 1000, not '\(size)'\n",
                    "\(command) \(size): \(outcome.error)")
        }
    }

    @Test("serve refuses a PORT that is not a port, and exits 1 with one line when its port is taken")
    func servePortErrors() throws {
        let refused = try clientele(arguments: ["serve"], environment: ["PORT": "99999"])
        #expect(refused.status == 1)
        #expect(refused.error == "error: PORT must be a port number, not '99999'\n", "\(refused.error)")
        // The test cluster's own port is taken on 127.0.0.1.
        let taken = try PostgresConfiguration(url: databaseURL).port
        let outcome = try clientele(arguments: ["serve"], environment: ["PORT": String(taken), "LOG_LEVEL": "critical"])
        #expect(outcome.status == 1)
        #expect(outcome.error.hasPrefix("error: the server stopped: "), "\(outcome.error)")
        #expect(outcome.error.split(separator: "\n").count == 1, "\(outcome.error)")
    }

    @Test("a worker with a CLIENTELE_METRICS_PORT that is not a port stops at once with a one-line error")
    func workerRefusesBadMetricsPort() throws {
        let outcome = try clientele(arguments: ["worker"], environment: ["CLIENTELE_METRICS_PORT": "metrics"])
        #expect(outcome.status != 0)
        #expect(outcome.error.contains("CLIENTELE_METRICS_PORT must be a port number"))
    }
}
