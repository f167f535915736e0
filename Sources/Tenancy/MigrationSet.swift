import Foundation

/// One plain SQL migration file, `NNNN_name.sql`.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String
    /// SHA-256 of the file, hex: an applied migration whose file changed is refused.
    public var checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = sha256Hex(sql)
    }

    public var fileName: String { String(format: "%04d_%@.sql", version, name) }
}

/// The platform and tenant migrations, read from `sql/platform/` and `sql/tenant/`.
public struct MigrationSet: Sendable {
    public var platform: [Migration]
    public var tenant: [Migration]

    public init(platform: [Migration], tenant: [Migration]) {
        self.platform = platform
        self.tenant = tenant
    }

    public var latestTenantVersion: Int { tenant.last?.version ?? 0 }

    /// Reads the folder holding `platform/` and `tenant/`.
    public init(directory: URL) throws {
        platform = try Self.read(directory.appendingPathComponent("platform"))
        tenant = try Self.read(directory.appendingPathComponent("tenant"))
    }

    /// Finds the `sql` folder: `CLIENTELE_SQL_DIR`, else the nearest `sql/` above the working
    /// directory or the executable.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        if let path = environment["CLIENTELE_SQL_DIR"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let starts = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
            URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent(),
        ]
        for start in starts {
            var folder = start.standardizedFileURL
            while true {
                let candidate = folder.appendingPathComponent("sql")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("platform").path) {
                    return candidate
                }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        throw TenancyError(.migrationsNotFound,
            "cannot find the sql/ migrations folder; set CLIENTELE_SQL_DIR to its path")
    }

    static func read(_ folder: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw TenancyError(.migrationsNotFound, "cannot read migrations in \(folder.path)")
        }
        var migrations: [Migration] = []
        for file in names.sorted() where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"),
                  let version = Int(stem[..<underscore]), version > 0,
                  stem[..<underscore].count == 4
            else {
                throw TenancyError(.invalidMigration, "migration file \(file) is not named NNNN_name.sql")
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let migration = Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql)
            if let previous = migrations.last, previous.version == version {
                throw TenancyError(.invalidMigration, "two migrations in \(folder.lastPathComponent)/ share version \(version)")
            }
            migrations.append(migration)
        }
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw TenancyError(.invalidMigration,
                "migrations in \(folder.lastPathComponent)/ must be numbered 0001, 0002, ... without gaps; found \(migration.fileName)")
        }
        return migrations
    }
}
