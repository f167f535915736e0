import Foundation
import Postgres
import Tenancy
import Testing
import TestSupport

@Suite("API keys")
struct APIKeyTests {
    @Test("a key names its tenant; only the hash of its secret is stored")
    func storedHashed() async throws {
        let (client, directory) = try await TestDatabase.platform("keys")
        let (tenant, first) = try await directory.create(slug: "garage", name: "Garage")
        let keys = APIKeyStore(client: client)
        let second = try await keys.create(tenantSlug: "garage", name: "comptable", role: .viewer)
        #expect(second.token.hasPrefix("ck_\(second.keyID)_"))
        let stored = try await client.query("SELECT string_agg(secret_hash, ',') FROM platform.api_keys").first!.decode(String.self, at: 0)
        #expect(!stored.contains(String(first.token.suffix(64))))
        #expect(!stored.contains(String(second.token.suffix(64))))
        let credential = try #require(try await keys.authenticate(token: second.token))
        #expect(credential.scope.tenantID == tenant.id)
        #expect(credential.role == .viewer)
        #expect(try await keys.list(tenantSlug: "garage").map(\.name) == ["first key", "comptable"])
        await client.shutdown()
    }

    @Test("wrong, malformed and revoked keys authenticate nobody")
    func rejected() async throws {
        let (client, directory) = try await TestDatabase.platform("keys")
        let (_, key) = try await directory.create(slug: "garage", name: "Garage")
        let keys = APIKeyStore(client: client)
        let wrongSecret = String(key.token.dropLast()) + (key.token.hasSuffix("0") ? "1" : "0")
        #expect(try await keys.authenticate(token: wrongSecret) == nil)
        #expect(try await keys.authenticate(token: "ck_nothing") == nil)
        #expect(try await keys.authenticate(token: "' OR 1=1 --") == nil)
        #expect(try await keys.authenticate(token: "") == nil)
        try await keys.revoke(tenantSlug: "garage", keyID: key.keyID)
        #expect(try await keys.authenticate(token: key.token) == nil)
        let again = try await #require(throws: TenancyError.self) { try await keys.revoke(tenantSlug: "garage", keyID: key.keyID) }
        #expect(again.code == .unknownKey)
        #expect(try await keys.list(tenantSlug: "garage").first?.revokedAt != nil)
        await client.shutdown()
    }

    @Test("a key of one tenant cannot be revoked through another")
    func revokeAcrossTenants() async throws {
        let (client, directory) = try await TestDatabase.platform("keys")
        let (_, a) = try await directory.create(slug: "a", name: "A")
        _ = try await directory.create(slug: "b", name: "B")
        let keys = APIKeyStore(client: client)
        await #expect(throws: TenancyError.self) { try await keys.revoke(tenantSlug: "b", keyID: a.keyID) }
        #expect(try await keys.authenticate(token: a.token) != nil)
        await client.shutdown()
    }
}
