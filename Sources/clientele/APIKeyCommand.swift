import ArgumentParser
import Foundation
import Tenancy

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key",
        abstract: "Create, list or revoke a tenant's API keys.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a key; it is printed once and stored hashed.")
        @Argument(help: "The tenant's slug.") var tenant: String
        @Option(help: "What the key is for, e.g. 'till' or 'accountant'.") var name: String
        @Option(help: "owner, admin, manager, agent or viewer.") var role: String = "owner"

        func run() async throws {
            guard let accessRole = AccessRole(rawValue: role) else {
                fail(TenancyError(.invalidRole, "unknown role '\(role)': use owner, admin, manager, agent or viewer"))
            }
            try await withDatabase { _, client in
                let key = try await APIKeyStore(client: client).create(tenantSlug: tenant, name: name, role: accessRole)
                print("key \(key.keyID) (\(key.role.rawValue)) for \(tenant), shown once: \(key.token)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's keys (never their secrets).")
        @Argument(help: "The tenant's slug.") var tenant: String

        func run() async throws {
            try await withDatabase { _, client in
                let dates = Date.ISO8601FormatStyle(timeZone: .gmt)
                print(pad("KEY ID", 18) + pad("ROLE", 9) + pad("CREATED", 22) + pad("REVOKED", 22) + "NAME")
                for key in try await APIKeyStore(client: client).list(tenantSlug: tenant) {
                    print(pad(key.keyID, 18) + pad(key.role.rawValue, 9) + pad(key.createdAt.formatted(dates), 22)
                          + pad(key.revokedAt?.formatted(dates) ?? "-", 22) + key.name)
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key at once (servers are notified).")
        @Argument(help: "The tenant's slug.") var tenant: String
        @Argument(help: "The key id: the 16 characters after 'ck_'.") var keyID: String

        func run() async throws {
            try await withDatabase { _, client in
                try await APIKeyStore(client: client).revoke(tenantSlug: tenant, keyID: keyID)
                print("key \(keyID) of \(tenant) revoked")
            }
        }
    }
}
