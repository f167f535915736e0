import Foundation

/// Where and how to connect. Turned into keyword/value pairs for `PQconnectdbParams`, so a
/// password is never pasted into a conninfo string, and never printed.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var applicationName: String
    /// Seconds libpq waits for a connection to open.
    public var connectTimeout: Int
    /// Extra libpq keywords (sslmode, options...).
    public var extra: [String: String]

    public init(
        host: String = "127.0.0.1", port: Int = 5432, user: String, password: String? = nil,
        database: String, applicationName: String = "clientele", connectTimeout: Int = 5,
        extra: [String: String] = [:]
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.extra = extra
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=disable`.
    public init(url string: String) throws {
        guard let components = URLComponents(string: string),
              let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else {
            throw PostgresError(.connectionFailed, "not a postgres:// URL")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        self.init(
            host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
            port: components.port ?? 5432,
            user: components.percentEncodedUser.map { $0.removingPercentEncoding ?? $0 } ?? "postgres",
            password: components.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 },
            database: database.isEmpty ? "postgres" : database
        )
        for item in components.queryItems ?? [] {
            if let value = item.value { extra[item.name] = value }
        }
    }

    var keywordValues: [(String, String)] {
        var pairs: [(String, String)] = [
            ("host", host), ("port", String(port)), ("user", user), ("dbname", database),
            ("application_name", applicationName), ("connect_timeout", String(connectTimeout)),
            ("client_encoding", "UTF8"),
        ]
        if let password { pairs.append(("password", password)) }
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) { pairs.append((key, value)) }
        return pairs
    }

    /// Safe to log: the password is never part of it.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }
}
