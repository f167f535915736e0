import ClientBase
import Foundation
import Postgres
import Tenancy

/// On the first run against the private cluster: a demo tenant (an optician) with a few
/// clients, whose key is kept in the data folder so later runs can print it again.
enum DemoTenant {
    static let slug = "demo"
    /// The demo owner's login: a throwaway account on a private local cluster.
    static let ownerEmail = "owner@demo.example"
    static let ownerPassword = "demo-password"

    static func keyFile(in root: URL) -> URL { root.appendingPathComponent("demo-api-key") }

    static func savedKey(in root: URL) -> String? {
        (try? String(contentsOf: keyFile(in: root), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func ensure(runtime: Runtime, database: PostgresClient) async throws {
        guard let root = runtime.cluster?.root else { return }
        let directory = TenantDirectory(client: database, migrations: runtime.migrations, logger: runtime.logger)
        if (try? await directory.find(slug: slug)) != nil { return }
        let (tenant, key) = try await directory.create(slug: slug, name: "Optique Démo")
        _ = FileManager.default.createFile(
            atPath: keyFile(in: root).path, contents: Data(key.token.utf8), attributes: [.posixPermissions: 0o600])
        let repository = ClientRepository(database: database)
        for json in samples {
            let changes = try JSONDecoder().decode(ClientChanges.self, from: Data(json.utf8))
            _ = try await repository.create(changes, as: .system(TenantScope(tenant), label: "demo"))
        }
        let hasher = PasswordHasher(threads: 1)
        _ = try await UserStore(client: database, hasher: hasher).createActive(
            tenantID: tenant.id, email: ownerEmail, name: "Propriétaire démo", role: .owner, password: ownerPassword)
        await hasher.shutdown()
        runtime.logger.info("demo tenant created", metadata: ["slug": "\(slug)"])
    }

    /// The people around an optician's shop (DOMAIN.md section 1).
    static let samples = [
        #"{"kind": "individual", "category": "actual_client", "first_name": "Léa", "last_name": "Martin", "email": "lea.martin@example.fr", "city": "Lyon", "postal_code": "69003"}"#,
        #"{"kind": "individual", "category": "prospect", "first_name": "Karim", "last_name": "Benali", "phone": "06 12 34 56 78", "city": "Villeurbanne", "postal_code": "69100"}"#,
        #"{"kind": "individual", "category": "prescriber", "first_name": "Claire", "last_name": "Rousseau", "city": "Lyon", "postal_code": "69006"}"#,
        #"{"kind": "business", "category": "actual_client", "organisation_name": "Garage du Centre", "email": "contact@garage-centre.example.fr", "city": "Lyon"}"#,
        #"{"kind": "public_body", "category": "competitor_client", "organisation_name": "Mairie de Caluire", "city": "Caluire-et-Cuire", "postal_code": "69300"}"#,
        #"{"kind": "individual", "category": "relative_non_consumer", "category_reason": "too young: his sight will need correcting later", "follow_up_on": "2027-09-01", "first_name": "Jules", "last_name": "Petit", "city": "Lyon"}"#,
        #"{"kind": "individual", "category": "former_client", "category_reason": "moved to a competitor: price", "first_name": "Anne", "last_name": "Moreau", "city": "Bron", "postal_code": "69500"}"#,
    ]
}
