import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Tenancy
import Testing
import TestSupport

/// The README's permission matrix, checked cell by cell against the API: for every permission
/// that has routes, a request of each role is either refused with 403 or let through.
@Suite("Permission matrix")
struct PermissionMatrixTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    /// A request that needs exactly this permission. `{client}` is a client assigned to the
    /// agent, created fresh for each request so deletions do not interfere.
    static let probes: [Permission: (HTTPRequest.Method, String, String?)] = [
        .readClients: (.get, "/v1/clients/{client}", nil),
        .writeClients: (.patch, "/v1/clients/{client}", #"{"city": "Lyon"}"#),
        .deleteClients: (.delete, "/v1/clients/{client}", nil),
        .readUsers: (.get, "/v1/users", nil),
        .manageUsers: (.post, "/v1/users", #"{"email": "{unique}@optique-a.fr", "role": "viewer"}"#),
        .readAudit: (.get, "/v1/audit-log", nil),
        .runAnalytics: (.get, "/v1/analytics/pareto", nil),
        .bulkData: (.get, "/v1/exports/clients.json", nil),
        .dataRights: (.get, "/v1/clients/{client}/personal-data", nil),
        .manageJobs: (.get, "/v1/jobs", nil),
        .manageAlerts: (.get, "/v1/churn/settings", nil),
        .manageSurveys: (.post, "/v1/survey-campaigns", #"{"name": "Probe", "measure": "nps", "question_fr": "Q ?", "trigger": "manual"}"#),
        .manageMail: (.put, "/v1/mail/settings", #"{"host": "smtp.optique-a.fr", "security": "none", "port": 2525, "from_address": "avis@optique-a.fr"}"#),
    ]

    /// Permissions in the matrix whose routes are still to come: none now. A new permission
    /// goes here until its probe is written.
    static let notYetRouted: Set<Permission> = []

    @Test("every permission is either probed here or listed as not yet routed")
    func coverage() {
        #expect(Set(Self.probes.keys).union(Self.notYetRouted) == Set(Permission.allCases))
    }

    @Test("each role gets exactly what the matrix gives it", arguments: AccessRole.allCases)
    func matrix(role: AccessRole) async throws {
        let (agentOrOther, key) = try await harness.member(role)
        let owner = harness.keyA
        try await harness.test { client in
            for (permission, probe) in Self.probes.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                // A client the member may reach: assigned to them (what an agent needs).
                let created = try await client.call(.post, "/v1/clients", key: owner, json: #"{"kind": "individual", "last_name": "Probe"}"#)
                let id = try #require(created.json["id"] as? String)
                try await harness.assign(id, to: agentOrOther.id)
                let path = probe.1.replacingOccurrences(of: "{client}", with: id)
                let body = probe.2?.replacingOccurrences(of: "{unique}", with: UUID().uuidString.prefix(8).lowercased())
                let response = try await client.call(probe.0, path, key: key, json: body)
                if permission.allows(role) {
                    #expect(response.status != .forbidden && response.status.code < 400,
                            "\(role) should be allowed to \(permission): got \(response.status.code) \(response.text)")
                } else {
                    #expect(response.status == .forbidden, "\(role) should be refused \(permission): got \(response.status.code)")
                    #expect(response.problem?["type"] as? String == "/problems/forbidden")
                }
            }
        }
    }

    @Test("an agent reaches only the clients assigned to them; what they create is theirs")
    func agentScope() async throws {
        let (agent, agentKey) = try await harness.member(.agent)
        let (other, _) = try await harness.member(.agent)
        let owner = harness.keyA
        try await harness.test { client in
            var ids: [String] = []
            for (name, assignee) in [("Mine", agent.id), ("Theirs", other.id)] {
                let created = try await client.call(.post, "/v1/clients", key: owner, json: #"{"kind": "individual", "last_name": "\#(name)"}"#)
                let id = try #require(created.json["id"] as? String)
                try await harness.assign(id, to: assignee)
                ids.append(id)
            }
            let unassigned = try await client.call(.post, "/v1/clients", key: owner, json: #"{"kind": "individual", "last_name": "Nobody's"}"#)
            let list = try await client.call(.get, "/v1/clients", key: agentKey)
            let seen = (list.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            #expect(seen == [ids[0]])
            for id in [ids[1], try #require(unassigned.json["id"] as? String)] {
                #expect(try await client.call(.get, "/v1/clients/\(id)", key: agentKey).status == .notFound)
                #expect(try await client.call(.patch, "/v1/clients/\(id)", key: agentKey, json: #"{"city": "Nice"}"#).status == .notFound)
                #expect(try await client.call(.get, "/v1/clients/\(id)/category-history", key: agentKey).status == .notFound)
            }
            let created = try await client.call(.post, "/v1/clients", key: agentKey, json: #"{"kind": "individual", "last_name": "New"}"#)
            let newID = try #require(created.json["id"] as? String)
            #expect(try await client.call(.get, "/v1/clients/\(newID)", key: agentKey).status == .ok)
        }
    }
}

extension APIHarness {
    /// Assigns a client of tenant A to a user, as the tenant (the API field comes with the
    /// full client record).
    func assign(_ clientID: String, to userID: UUID) async throws {
        let id = try #require(UUID(uuidString: clientID))
        _ = try await database.tenantTransaction(try await scopeA(), [
            "UPDATE clients SET assigned_user_id = \(userID) WHERE id = \(id)",
        ])
    }
}
