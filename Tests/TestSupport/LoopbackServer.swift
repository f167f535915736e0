import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real server from a Python script of the Tests folder (the SMTP server and webhook receiver
/// of DeliveryTests), started on a free loopback port for one test and killed after it. The
/// script writes its port to `<directory>/port` once listening.
public final class LoopbackServer: Sendable {
    public let pid: pid_t
    public let directory: URL
    public let port: Int

    /// Debian's interpreter: python3-aiosmtpd installs there, not into other Pythons on PATH.
    static let python = "/usr/bin/python3"

    /// `script` is relative to the Tests folder, e.g. `DeliveryTests/smtp/smtp_server.py`.
    public static func start(script: String, arguments: [String]) async throws -> LoopbackServer {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("clientele-delivery-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let scriptPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(script).path
        let log = directory.appendingPathComponent("server.log").path
        let pid = try spawn([python, scriptPath, "--dir", directory.path] + arguments, output: log)

        let portFile = directory.appendingPathComponent("port")
        for _ in 0..<1200 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                return LoopbackServer(pid: pid, directory: directory, port: port)
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw TestSetupError("\(script) exited before listening: \(output)")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        kill(pid, SIGKILL)
        throw TestSetupError("\(script) did not start listening within 30 s")
    }

    private init(pid: pid_t, directory: URL, port: Int) {
        self.pid = pid
        self.directory = directory
        self.port = port
    }

    public func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        try? FileManager.default.removeItem(at: directory)
    }

    /// The JSON records the script saved under `<directory>/<folder>`, in arrival order.
    public func records<Record: Decodable>(in folder: String, as type: Record.Type) throws -> [Record] {
        let folder = directory.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return try names.filter { $0.hasSuffix(".json") }
            .sorted { Int($0.dropLast(5))! < Int($1.dropLast(5))! }
            .map { try JSONDecoder().decode(Record.self, from: Data(contentsOf: folder.appendingPathComponent($0))) }
    }

    /// Runs a command to its end (openssl), failing the test setup on a non-zero exit.
    public static func run(_ command: [String]) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("clientele-delivery-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let pid = try spawn(command, output: log)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            throw TestSetupError("\(command.joined(separator: " ")) failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    private static func spawn(_ command: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard result == 0 else { throw TestSetupError("cannot run \(command[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// A loopback port with nothing listening: bound by the kernel, then released.
    public static func closedPort() throws -> Int {
        try TestDatabase.freePort()
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
