import ArgumentParser
import Foundation
import Tenancy

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Invite or list the users of a tenant (the first owner, typically).",
        subcommands: [Invite.self, List.self]
    )

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite a user; prints the invitation token they accept with POST /v1/auth/accept-invitation.")
        @Argument(help: "The tenant's slug.") var tenant: String
        @Option(help: "Their email address.") var email: String
        @Option(help: "owner, admin, manager, agent or viewer.") var role: String = "owner"
        @Option(help: "Their name.") var name: String?

        func run() async throws {
            guard let accessRole = AccessRole(rawValue: role) else {
                fail(TenancyError(.invalidRole, "unknown role '\(role)': use owner, admin, manager, agent or viewer"))
            }
            try await withDatabase { runtime, client in
                let tenant = try await TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
                    .find(slug: tenant)
                let hasher = PasswordHasher(threads: 1)
                defer { Task { await hasher.shutdown() } }
                let invitation = try await UserStore(client: client, hasher: hasher).invite(
                    in: TenantScope(tenant), email: email, name: name, role: accessRole, by: .owner, label: "cli")
                let expires = invitation.expiresAt.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
                print("invited \(invitation.user.email) as \(accessRole.rawValue) of \(tenant.slug); invitation (until \(expires)), shown once: \(invitation.token)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's users.")
        @Argument(help: "The tenant's slug.") var tenant: String

        func run() async throws {
            try await withDatabase { runtime, client in
                let tenant = try await TenantDirectory(client: client, migrations: runtime.migrations, logger: runtime.logger)
                    .find(slug: tenant)
                let hasher = PasswordHasher(threads: 1)
                defer { Task { await hasher.shutdown() } }
                print(pad("ID", 38) + pad("ROLE", 9) + pad("STATUS", 10) + "EMAIL")
                for user in try await UserStore(client: client, hasher: hasher).list(tenantID: tenant.id) {
                    print(pad(user.id.uuidString.lowercased(), 38) + pad(user.role.rawValue, 9) + pad(user.status.rawValue, 10) + user.email)
                }
            }
        }
    }
}
