import Foundation
import LocalPostgres
import Postgres
import Testing
import TestSupport

/// The admin CLI as an operator uses it: the real `clientele` binary, a real database,
/// its output and exit status.
@Suite("Admin CLI")
struct CLITests {
    let databaseURL: String

    init() async throws {
        let configuration = try await TestDatabase.fresh("cli")
        databaseURL = "postgres://\(configuration.user):\(configuration.password ?? "")@\(configuration.host):\(configuration.port)/\(configuration.database)"
    }

    struct Outcome {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs `clientele` and expects it to succeed; when it does not, the issue says what it
    /// printed on stderr (a bare status told nothing of two failures seen once under load).
    @discardableResult
    func succeeds(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let outcome = try clientele(arguments: arguments)
        #expect(outcome.status == 0, "clientele \(arguments.joined(separator: " ")): \(outcome.error)", sourceLocation: sourceLocation)
        return outcome
    }

    /// Runs `clientele` with the arguments; `input` feeds its stdin.
    func clientele(_ arguments: String..., input: String = "", databaseURL: String? = nil) throws -> Outcome {
        try clientele(arguments: arguments, input: input, databaseURL: databaseURL)
    }

    func clientele(
        arguments: [String], input: String = "", databaseURL: String? = nil, environment extra: [String: String] = [:]
    ) throws -> Outcome {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("clientele")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("no clientele binary at \(binary.path): build it with `swift build --build-tests`")
            return Outcome(status: -1, output: "", error: "")
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (inPath, outPath, errPath) = (folder.path + "/in", folder.path + "/out", folder.path + "/err")
        try input.write(toFile: inPath, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL ?? self.databaseURL
        environment["CLIENTELE_SQL_DIR"] = TestDatabase.sqlDirectory.path
        environment.merge(extra) { $1 }
        let status = try ChildProcess.run(
            [binary.path] + arguments, environment: environment,
            inputPath: inPath, outputPath: outPath, errorPath: errPath)
        return Outcome(
            status: status,
            output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            error: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    @Test("tenant create prints the key once; list and show report status, version and client count")
    func createListShow() throws {
        let created = try clientele("tenant", "create", "garage-martin", "--name", "Garage Martin")
        #expect(created.status == 0, "\(created.error)")
        #expect(created.output.contains("API key (shown once"))
        #expect(created.output.contains("ck_"))
        let list = try clientele("tenant", "list")
        #expect(list.status == 0)
        let line = try #require(list.output.split(separator: "\n").first { $0.hasPrefix("garage-martin") })
        let version = "\(try TestDatabase.migrations().tenant.count)"
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).prefix(4) == ["garage-martin", "active", Substring(version), "0"])
        let show = try clientele("tenant", "show", "garage-martin")
        #expect(show.output.contains("status:         active"))
        #expect(show.output.contains("active keys:    1"))
    }

    @Test("bad slugs, taken slugs and unknown tenants are one-line errors with exit 1",
          arguments: [
            ["tenant", "create", "Garage Martin", "--name", "X"],
            ["tenant", "show", "nobody"],
            ["tenant", "suspend", "nobody"],
            ["api-key", "create", "nobody", "--name", "x"],
            ["api-key", "create", "taken", "--name", "x", "--role", "boss"],
            ["tenant", "create", "taken", "--name", "Again"],
          ])
    func errors(arguments: [String]) throws {
        let taken = try clientele("tenant", "create", "taken", "--name", "Taken")
        try #require(taken.status == 0, "the tenant the cases need could not be made: \(taken.error)")
        let outcome = try clientele(arguments: arguments)
        #expect(outcome.status == 1)
        #expect(outcome.error.hasPrefix("error: "))
        #expect(outcome.error.split(separator: "\n").count == 1, "\(outcome.error)")
    }

    @Test("a CLIENTELE_SECRET_KEY that is not 32 bytes stops serve and worker with one line")
    func badSecretKey() throws {
        for command in ["serve", "worker"] {
            let outcome = try clientele(arguments: [command], environment: ["CLIENTELE_SECRET_KEY": "too-short", "PORT": "0"])
            #expect(outcome.status == 1, "\(command): \(outcome.error)")
            #expect(outcome.error.hasPrefix("error: CLIENTELE_SECRET_KEY must be 32 bytes"), "\(command): \(outcome.error)")
            #expect(outcome.error.split(separator: "\n").count == 1, "\(command): \(outcome.error)")
        }
    }

    @Test("CLIENTELE_PG_PREPARED is true or false; anything else is one line and exit 1, false still works")
    func preparedSetting() throws {
        let refused = try clientele(arguments: ["tenant", "list"], environment: ["CLIENTELE_PG_PREPARED": "sometimes"])
        #expect(refused.status == 1)
        #expect(refused.error == "error: CLIENTELE_PG_PREPARED must be true or false, not 'sometimes'\n", "\(refused.error)")
        let unnamed = try clientele(arguments: ["tenant", "create", "sans-noms", "--name", "Sans noms"],
                                    environment: ["CLIENTELE_PG_PREPARED": "false"])
        #expect(unnamed.status == 0, "\(unnamed.error)")
    }

    @Test("an unreachable database is a clear error, and the password is not printed")
    func unreachable() throws {
        let outcome = try clientele("tenant", "list", databaseURL: "postgres://clientele:s3cret-pw@127.0.0.1:1/clientele")
        #expect(outcome.status == 1)
        #expect(outcome.error.contains("cannot reach the database at 127.0.0.1:1"))
        #expect(!outcome.error.contains("s3cret-pw"))
    }

    @Test("delete asks for the slug again; a wrong answer deletes nothing")
    func deleteConfirmation() throws {
        _ = try clientele("tenant", "create", "boulangerie", "--name", "Boulangerie")
        let refused = try clientele("tenant", "delete", "boulangerie", input: "boulangeri\n")
        #expect(refused.status == 1)
        #expect(refused.error.contains("does not match"))
        try succeeds("tenant", "show", "boulangerie")
        let prompted = try clientele("tenant", "delete", "boulangerie", input: "boulangerie\n")
        #expect(prompted.status == 0, "\(prompted.error)")
        let list = try clientele("tenant", "list")
        #expect(list.output.contains("boulangerie") && list.output.contains("deleted"))
        #expect(try clientele("tenant", "show", "boulangerie").status == 1)
    }

    @Test("rename changes the slug only: the schema, the data and the keys stay; a taken or bad slug is refused")
    func rename() throws {
        let created = try clientele("tenant", "create", "opticien-dupont", "--name", "Opticien Dupont")
        let schema = try #require(created.output.split(separator: " ").first { $0.hasPrefix("tenant_") }.map { String($0.filter { $0 != "," }) })
        _ = try clientele("tenant", "create", "opticien-martin", "--name", "Opticien Martin")
        let renamed = try clientele("tenant", "rename", "opticien-dupont", "optique-du-port")
        #expect(renamed.status == 0, "\(renamed.error)")
        #expect(renamed.output.contains("now optique-du-port"))
        let show = try clientele("tenant", "show", "optique-du-port")
        #expect(show.output.contains("schema:         \(schema)"))
        #expect(try clientele("tenant", "show", "opticien-dupont").status == 1)
        for (arguments, message) in [
            (["tenant", "rename", "optique-du-port", "opticien-martin"], "already exists"),
            (["tenant", "rename", "optique-du-port", "Optique Du Port"], "invalid slug"),
            (["tenant", "rename", "nobody", "somebody"], "no tenant with slug 'nobody'"),
        ] {
            let outcome = try clientele(arguments: arguments)
            #expect(outcome.status == 1, "\(arguments)")
            #expect(outcome.error.contains(message), "\(arguments): \(outcome.error)")
            #expect(outcome.error.split(separator: "\n").count == 1)
        }
    }

    @Test("suspend, resume, api keys and migrate")
    func lifecycle() throws {
        _ = try clientele("tenant", "create", "traiteur", "--name", "Traiteur")
        #expect(try clientele("tenant", "suspend", "traiteur").output.contains("suspended"))
        #expect(try clientele("tenant", "resume", "traiteur").output.contains("active"))
        let key = try clientele("api-key", "create", "traiteur", "--name", "till", "--role", "viewer")
        #expect(key.status == 0)
        let keyID = try #require(key.output.split(separator: " ").dropFirst().first.map(String.init))
        #expect(try clientele("api-key", "list", "traiteur").output.contains(keyID))
        try succeeds("api-key", "revoke", "traiteur", keyID)
        let again = try clientele("api-key", "revoke", "traiteur", keyID)
        #expect(again.status == 1)
        let invited = try clientele("user", "invite", "traiteur", "--email", "Chef@Traiteur.fr", "--role", "owner")
        #expect(invited.status == 0, "\(invited.error)")
        #expect(invited.output.contains("ci_"))
        #expect(try clientele("user", "list", "traiteur").output.contains("chef@traiteur.fr"))
        let twice = try clientele("user", "invite", "traiteur", "--email", "chef@traiteur.fr")
        #expect(twice.status == 1)
        #expect(twice.error.hasPrefix("error: a user with the email"))
        #expect(try clientele("user", "invite", "traiteur", "--email", "x@y.fr", "--role", "chef").status == 1)
        let migrate = try clientele("migrate")
        #expect(migrate.status == 0, "\(migrate.error)")
        #expect(migrate.output.contains("0 failed"))
    }

    @Test("jobs: list prints a table; an unknown job or state is a one-line error with a non-zero exit")
    func jobs() throws {
        let list = try clientele("jobs", "list", "--limit", "5")
        #expect(list.status == 0, "\(list.error)")
        #expect(list.output.hasPrefix("ID"))
        let unknown = try clientele("jobs", "cancel", "999999")
        #expect(unknown.status != 0)
        #expect(unknown.error.contains("no job with id 999999"))
        #expect(unknown.error.split(separator: "\n").count == 1)
        let badState = try clientele("jobs", "list", "--state", "sleeping")
        #expect(badState.status != 0)
        #expect(badState.error.contains("unknown state 'sleeping'"))
        let badMinutes = try clientele("jobs", "snooze", "1", "--minutes", "0")
        #expect(badMinutes.status != 0)
    }

    @Test("jobs schedules lists name, tenant, cron, zone, next run (on the schedule's clock) and kind; --tenant narrows it")
    func schedules() async throws {
        try succeeds("tenant", "create", "fleuriste", "--name", "Fleuriste")
        let client = TestDatabase.makeClient(try PostgresConfiguration(url: databaseURL), maximumConnections: 1)
        _ = try await client.query("""
            INSERT INTO platform.job_schedules (tenant_id, name, kind, cron, next_run_at)
            SELECT id, 'survey-wave', 'survey.wave', '0 10 * * MON', '2026-03-30 08:00:00+00'
            FROM platform.tenants WHERE slug = 'fleuriste'
            """)
        _ = try await client.query("""
            INSERT INTO platform.job_schedules (tenant_id, name, kind, cron, time_zone, next_run_at)
            VALUES (NULL, 'nightly-scoring', 'churn.score', '0 3 * * *', NULL, '2026-03-30 01:00:00+00'),
                   (NULL, 'tokyo-report', 'report', '@daily', 'Asia/Tokyo', '2026-03-29 15:00:00+00')
            """)
        await client.shutdown()

        let all = try clientele("jobs", "schedules")
        #expect(all.status == 0, "\(all.error)")
        let lines = all.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("NAME") == true)
        let nightly = try #require(lines.first { $0.hasPrefix("nightly-scoring ") })
        #expect(nightly.contains(" - ") && nightly.contains("0 3 * * *") && nightly.contains("Europe/Paris"))
        #expect(nightly.contains("2026-03-30T03:00:00+02:00") && nightly.hasSuffix("churn.score"))
        let tokyo = try #require(lines.first { $0.hasPrefix("tokyo-report ") })
        #expect(tokyo.contains("Asia/Tokyo") && tokyo.contains("2026-03-30T00:00:00+09:00"))
        let wave = try #require(lines.first { $0.hasPrefix("survey-wave ") })
        #expect(wave.contains("fleuriste") && wave.contains("2026-03-30T10:00:00+02:00") && wave.hasSuffix("survey.wave"))

        let one = try clientele("jobs", "schedules", "--tenant", "fleuriste")
        #expect(one.status == 0, "\(one.error)")
        #expect(one.output.split(separator: "\n").dropFirst().map { String($0.prefix(11)) } == ["survey-wave"])
        let unknown = try clientele("jobs", "schedules", "--tenant", "nobody")
        #expect(unknown.status == 1)
        #expect(unknown.error.hasPrefix("error: "))
        #expect(unknown.error.split(separator: "\n").count == 1)
    }
}
