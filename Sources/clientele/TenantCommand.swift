import ArgumentParser
import ClientBase
import Foundation
import Postgres
import Tenancy

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant",
        abstract: "Create, list, show, rename, suspend, resume or delete tenants.",
        subcommands: [Create.self, List.self, Show.self, Rename.self, Suspend.self, Resume.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Provision a tenant and print its first API key (shown once).")
        @Argument(help: "Lowercase letters, digits and dashes, e.g. optique-durand.") var slug: String
        @Option(help: "The business's name.") var name: String

        func run() async throws {
            try await withDatabase { runtime, client in
                let directory = TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
                let (tenant, key) = try await directory.create(slug: slug, name: name)
                print("created tenant \(tenant.slug) (id \(tenant.id), schema \(tenant.schemaName), version \(tenant.schemaVersion))")
                print("API key (shown once, keep it safe): \(key.token)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants with status, schema version and client count.")

        func run() async throws {
            try await withDatabase { runtime, client in
                let directory = TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
                let tenants = try await directory.list()
                let repository = ClientRepository(database: client)
                print(pad("SLUG", 24) + pad("STATUS", 11) + pad("VERSION", 9) + pad("CLIENTS", 9) + "NAME")
                for tenant in tenants {
                    let count = tenant.status == .deleted ? "-" : String(try await repository.count(in: TenantScope(tenant)))
                    print(pad(tenant.slug, 24) + pad(tenant.status.rawValue, 11) + pad(String(tenant.schemaVersion), 9)
                          + pad(count, 9) + tenant.name)
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one tenant.")
        @Argument var slug: String

        func run() async throws {
            try await withDatabase { runtime, client in
                let directory = TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
                let tenant = try await directory.find(slug: slug)
                let clients = try await ClientRepository(database: client).count(in: TenantScope(tenant))
                let keys = try await APIKeyStore(client: client).list(tenantSlug: slug)
                describe(tenant)
                print("clients:        \(clients)")
                print("active keys:    \(keys.filter { $0.revokedAt == nil }.count)")
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a tenant a new slug (its schema, role, data and keys stay as they are).")
        @Argument var slug: String
        @Argument var newSlug: String

        func run() async throws {
            try await withDatabase { runtime, client in
                let tenant = try await TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
                    .rename(slug: slug, to: newSlug)
                print("tenant \(slug) is now \(tenant.slug) (schema \(tenant.schemaName) unchanged)")
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a tenant: its API calls get 403 until resumed.")
        @Argument var slug: String

        func run() async throws {
            try await changeStatus(slug) { try await $0.suspend(slug: $1) }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a suspended tenant.")
        @Argument var slug: String

        func run() async throws {
            try await changeStatus(slug) { try await $0.resume(slug: $1) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a tenant: drops its schema (all its data) and role; the catalogue keeps a record.")
        @Argument var slug: String
        @Option(help: "The slug again, to confirm without a prompt.") var confirm: String?

        func run() async throws {
            var confirmation = confirm
            if confirmation == nil {
                FileHandle.standardError.write(Data("This deletes every record of '\(slug)'. Type the slug again to confirm: ".utf8))
                confirmation = readLine(strippingNewline: true) ?? ""
            }
            let answer = confirmation ?? ""
            try await withDatabase { runtime, client in
                let tenant = try await TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
                    .delete(slug: slug, confirmation: answer)
                print("tenant \(tenant.slug) deleted; schema \(tenant.schemaName) and role \(tenant.roleName) dropped")
            }
        }
    }
}

/// Suspends or resumes, and says the status the tenant now has.
func changeStatus(_ slug: String, _ change: (TenantDirectory, String) async throws -> Tenant) async throws {
    try await withDatabase { runtime, client in
        let directory = TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
        let tenant = try await change(directory, slug)
        print("tenant \(tenant.slug) is \(tenant.status.rawValue)")
    }
}

func describe(_ tenant: Tenant) {
    let dates = Date.ISO8601FormatStyle(timeZone: .gmt)
    print("slug:           \(tenant.slug)")
    print("name:           \(tenant.name)")
    print("id:             \(tenant.id)")
    print("status:         \(tenant.status.rawValue)")
    print("schema:         \(tenant.schemaName)")
    print("role:           \(tenant.roleName)")
    print("schema version: \(tenant.schemaVersion)")
    print("created:        \(tenant.createdAt.formatted(dates))")
    if let suspended = tenant.suspendedAt { print("suspended:      \(suspended.formatted(dates))") }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
