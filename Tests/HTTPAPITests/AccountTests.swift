import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Jobs
import Postgres
import Tenancy
import Testing
import TestSupport

/// The account's own settings: every role reads them, owners and admins change them, and a new
/// time zone moves the schedules that follow it.
@Suite("Account settings")
struct AccountTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("every role reads its own account; each tenant sees only its own")
    func read() async throws {
        let (_, viewer) = try await harness.member(.viewer)
        try await harness.test { client in
            let mine = try await client.call(.get, "/v1/account", key: viewer)
            #expect(mine.status == .ok, "\(mine.text)")
            #expect(mine.json["slug"] as? String == "optique-a")
            #expect(mine.json["time_zone"] as? String == "Europe/Paris")
            #expect(mine.json["status"] as? String == "active")
            let theirs = try await client.call(.get, "/v1/account", key: harness.keyB)
            #expect(theirs.json["slug"] as? String == "garage-b")
            #expect(try await client.call(.get, "/v1/account?x=1", key: viewer).status == .badRequest)
        }
    }

    @Test("owners and admins rename the account and change its zone, audited; other roles get 403", arguments: AccessRole.allCases)
    func update(role: AccessRole) async throws {
        let (_, key) = try await harness.member(role)
        try await harness.test { client in
            let response = try await client.call(.patch, "/v1/account", key: key,
                                                 json: #"{"name": "Optique du Port", "time_zone": "America/Martinique"}"#)
            guard [.owner, .admin].contains(role) else {
                #expect(response.status == .forbidden)
                #expect(try await client.call(.get, "/v1/account", key: key).json["name"] as? String != "Optique du Port")
                return
            }
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["name"] as? String == "Optique du Port")
            #expect(response.json["time_zone"] as? String == "America/Martinique")
            let audit = try await harness.audit("account", "settings")
            #expect(audit.last?.0 == "update")
            #expect(audit.last?.1.contains("America/Martinique") == true)
            // Tenant B is untouched.
            let other = try await client.call(.get, "/v1/account", key: harness.keyB)
            #expect(other.json["time_zone"] as? String == "Europe/Paris")
        }
    }

    @Test("bad settings are refused with the field named, and change nothing")
    func badInput() async throws {
        let key = harness.keyA
        try await harness.test { client in
            for (body, field) in [
                (#"{"time_zone": "Mars/Olympus_Mons"}"#, "time_zone"), (#"{"time_zone": null}"#, "time_zone"),
                (#"{"name": "  "}"#, "name"), (#"{"slug": "autre"}"#, "slug"), (#"{"colour": "blue"}"#, "colour"),
                (#"{"time_zone": 2}"#, "time_zone"),
            ] {
                let response = try await client.call(.patch, "/v1/account", key: key, json: body)
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect(response.problem?["field"] as? String == field, "\(body)")
            }
            #expect(try await client.call(.patch, "/v1/account", key: key, json: "[").status == .badRequest)
            let account = try await client.call(.get, "/v1/account", key: key)
            #expect(account.json["time_zone"] as? String == "Europe/Paris")
            #expect(account.json["slug"] as? String == "optique-a")
        }
    }

    @Test("a new zone moves the next firing of the schedules that follow it, not of those with a zone of their own")
    func schedulesFollowTheZone() async throws {
        let key = harness.keyA
        let scope = try await harness.scope()
        try await harness.test { client in
            let schedules = JobSchedules(client: harness.server.database)
            try await schedules.upsert(name: "daily-nine", tenantID: scope.tenantID, kind: "noop", cron: "0 9 * * *")
            try await schedules.upsert(name: "daily-nine-paris", tenantID: scope.tenantID, kind: "noop", cron: "0 9 * * *",
                                       timeZone: "Europe/Paris")
            let response = try await client.call(.patch, "/v1/account", key: key, json: #"{"time_zone": "America/Martinique"}"#)
            #expect(response.status == .ok, "\(response.text)")
            let following = try #require(try await schedules.get(name: "daily-nine", tenantID: scope.tenantID)?.nextRunAt)
            let own = try #require(try await schedules.get(name: "daily-nine-paris", tenantID: scope.tenantID)?.nextRunAt)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "America/Martinique")!
            #expect(calendar.dateComponents([.hour, .minute], from: following) == DateComponents(hour: 9, minute: 0))
            #expect(following > Date())
            calendar.timeZone = TimeZone(identifier: "Europe/Paris")!
            #expect(calendar.dateComponents([.hour, .minute], from: own) == DateComponents(hour: 9, minute: 0))
        }
    }
}
