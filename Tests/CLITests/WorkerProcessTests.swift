import Foundation
import Postgres
import Testing
import TestSupport

/// Worker processes as they run in production: the real `clientele worker` binary, killed
/// without warning, replaced by another.
extension CLITests {
    /// Starts `clientele worker` in the background (bench job kinds on, a short lease).
    func startWorker(lease: Int = 2) throws -> Process {
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
        #expect(try clientele("migrate").status == 0)
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
}
