import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

@Suite("Audit log")
struct AuditLogTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("creating, changing and deleting a client are logged with who, what, and before/after of changed fields")
    func clientChanges() async throws {
        let owner = harness.keyA
        let keyID = String(owner.dropFirst(3).prefix(16))
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: owner, json: #"{"kind": "individual", "last_name": "Durand", "city": "Paris"}"#)
            let id = try #require(created.json["id"] as? String)
            _ = try await client.call(.patch, "/v1/clients/\(id)", key: owner, json: #"{"city": "Lyon"}"#)
            _ = try await client.call(.delete, "/v1/clients/\(id)", key: owner)

            let log = try await client.call(.get, "/v1/audit-log?entity=client&entity_id=\(id)", key: owner)
            #expect(log.status == .ok)
            let items = try #require(log.json["items"] as? [[String: Any]])
            #expect(items.map { $0["action"] as? String } == ["delete", "update", "create"])
            #expect(items.allSatisfy { $0["actor"] as? String == "api-key:\(keyID)" })
            let update = try #require(items[1]["changes"] as? [String: [String: Any]])
            #expect(Set(update.keys) == ["city"])
            #expect(update["city"]?["before"] as? String == "Paris")
            #expect(update["city"]?["after"] as? String == "Lyon")
            let deletion = try #require(items[0]["changes"] as? [String: [String: Any]])
            #expect(deletion["last_name"]?["before"] as? String == "Durand")
            #expect(deletion["last_name"]?["after"] is NSNull)
        }
    }

    @Test("inviting and changing users is logged too, and pages go back in time")
    func userChangesAndPaging() async throws {
        let owner = harness.keyA
        try await harness.test { client in
            let invited = try await client.call(.post, "/v1/users", key: owner, json: #"{"email": "a@optique-a.fr", "role": "viewer"}"#)
            let userID = try #require((invited.json["user"] as? [String: Any])?["id"] as? String)
            _ = try await client.call(.patch, "/v1/users/\(userID)", key: owner, json: #"{"role": "agent"}"#)
            let first = try await client.call(.get, "/v1/audit-log?entity=user&limit=1", key: owner)
            let newest = try #require((first.json["items"] as? [[String: Any]])?.first)
            #expect(newest["action"] as? String == "update")
            #expect(((newest["changes"] as? [String: [String: Any]])?["role"])?["after"] as? String == "agent")
            let cursor = try #require(first.json["next_cursor"] as? String)
            let second = try await client.call(.get, "/v1/audit-log?entity=user&limit=1&cursor=\(cursor)", key: owner)
            #expect((second.json["items"] as? [[String: Any]])?.first?["action"] as? String == "invite")
            #expect(second.json["next_cursor"] is NSNull)
        }
    }

    @Test("the log cannot be changed: no route writes it, and the table refuses updates and deletes")
    func appendOnly() async throws {
        let owner = harness.keyA
        try await harness.test { client in
            _ = try await client.call(.post, "/v1/clients", key: owner, json: #"{"kind": "individual", "last_name": "X"}"#)
            for method in [HTTPRequest.Method.post, .patch, .delete, .put] {
                let response = try await client.call(method, "/v1/audit-log", key: owner, json: method == .delete ? nil : "{}")
                #expect(response.status.code >= 400 && response.status.code != 500, "\(method)")
            }
            let scope = try await harness.scopeA()
            for statement: PostgresQuery in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
                await #expect(throws: PostgresError.self) {
                    _ = try await harness.database.tenantTransaction(scope, [statement])
                }
            }
            let count = try await harness.database.tenantTransaction(scope, ["SELECT count(*) FROM audit_log"])[0][0].decode(Int.self, at: 0)
            #expect(count == 1)
        }
    }

    @Test("bad query parameters are 400")
    func badQuery() async throws {
        let owner = harness.keyA
        try await harness.test { client in
            for query in ["limit=0", "limit=x", "cursor=abc", "sort=id"] {
                let response = try await client.call(.get, "/v1/audit-log?\(query)", key: owner)
                #expect(response.status == .badRequest, "\(query)")
            }
        }
    }
}
