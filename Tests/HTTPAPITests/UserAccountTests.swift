import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

@Suite("Users, invitations, login and sessions")
struct UserAccountTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("an invited user chooses a password, logs in, is who /v1/me says, and logs out for good")
    func invitationLoginLogout() async throws {
        let owner = harness.keyA
        try await harness.test { client in
            let invited = try await client.call(.post, "/v1/users", key: owner,
                json: #"{"email": " Claire.Martin@Optique-A.fr ", "name": "Claire", "role": "manager"}"#)
            #expect(invited.status == .created)
            let user = try #require(invited.json["user"] as? [String: Any])
            #expect(user["email"] as? String == "claire.martin@optique-a.fr")
            #expect(user["status"] as? String == "invited")
            let invitation = try #require(invited.json["invitation_token"] as? String)

            // Not before accepting: an invited user has no password.
            let early = try await client.call(.post, "/v1/auth/login", key: nil,
                json: #"{"account": "optique-a", "email": "claire.martin@optique-a.fr", "password": "whatever-long"}"#)
            #expect(early.status == .unauthorized)

            let accepted = try await client.call(.post, "/v1/auth/accept-invitation", key: nil,
                json: #"{"token": "\#(invitation)", "password": "correct horse battery"}"#)
            #expect(accepted.status == .ok)
            #expect((accepted.json["token"] as? String)?.hasPrefix("cs_") == true)
            let again = try await client.call(.post, "/v1/auth/accept-invitation", key: nil,
                json: #"{"token": "\#(invitation)", "password": "another password"}"#)
            #expect(again.status == .unprocessableContent)
            #expect(again.problem?["type"] as? String == "/problems/invalid-invitation")

            let login = try await client.call(.post, "/v1/auth/login", key: nil,
                json: #"{"account": "optique-a", "email": "Claire.Martin@optique-a.fr", "password": "correct horse battery"}"#)
            #expect(login.status == .ok)
            let session = try #require(login.json["token"] as? String)
            #expect(login.json["expires_at"] is String)

            let me = try await client.call(.get, "/v1/me", key: session)
            #expect(me.json["role"] as? String == "manager")
            #expect(me.json["credential"] as? String == "session")
            #expect((me.json["user"] as? [String: Any])?["email"] as? String == "claire.martin@optique-a.fr")
            #expect((me.json["permissions"] as? [String])?.contains("runAnalytics") == true)
            #expect((me.json["permissions"] as? [String])?.contains("manageUsers") == false)
            #expect(try await client.call(.get, "/v1/clients", key: session).status == .ok)

            #expect(try await client.call(.post, "/v1/auth/logout", key: session).status == .noContent)
            #expect(try await client.call(.get, "/v1/clients", key: session).status == .unauthorized)
        }
    }

    @Test("unknown account, unknown email and wrong password get the same answer")
    func sameErrorForEveryFailure() async throws {
        _ = try await harness.member(.agent, email: "paul@optique-a.fr")
        try await harness.test { client in
            var answers: [String] = []
            for body in [
                #"{"account": "optique-a", "email": "paul@optique-a.fr", "password": "wrong password!"}"#,
                #"{"account": "optique-a", "email": "nobody@optique-a.fr", "password": "correct horse battery"}"#,
                #"{"account": "no-such-shop", "email": "paul@optique-a.fr", "password": "correct horse battery"}"#,
            ] {
                let response = try await client.call(.post, "/v1/auth/login", key: nil, json: body)
                #expect(response.status == .unauthorized)
                answers.append("\(response.problem?["type"] ?? "")|\(response.problem?["detail"] ?? "")")
            }
            #expect(Set(answers).count == 1)
            let good = try await client.call(.post, "/v1/auth/login", key: nil,
                json: #"{"account": "optique-a", "email": "paul@optique-a.fr", "password": "correct horse battery"}"#)
            #expect(good.status == .ok)
        }
    }

    @Test("after five failures for one email, login is refused with 429 and Retry-After, even with the right password")
    func throttled() async throws {
        _ = try await harness.member(.viewer, email: "vera@optique-a.fr")
        try await harness.test { client in
            for _ in 0..<5 {
                let wrong = try await client.call(.post, "/v1/auth/login", key: nil,
                    json: #"{"account": "optique-a", "email": "vera@optique-a.fr", "password": "not the password"}"#)
                #expect(wrong.status == .unauthorized)
            }
            let blocked = try await client.call(.post, "/v1/auth/login", key: nil,
                json: #"{"account": "optique-a", "email": "vera@optique-a.fr", "password": "correct horse battery"}"#)
            #expect(blocked.status == .tooManyRequests)
            #expect(Int(blocked.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(blocked.problem?["type"] as? String == "/problems/too-many-attempts")
        }
    }

    @Test("passwords are kept as bcrypt hashes only; a short password is refused")
    func passwordsHashed() async throws {
        let (user, _) = try await harness.member(.viewer)
        let stored: String = try await harness.database.query(
            "SELECT password_hash FROM platform.users WHERE id = \(user.id)")[0].decode(at: 0)
        #expect(stored.hasPrefix("$2"))
        #expect(!stored.contains(APIHarness.password))
        let scope = try await harness.scopeA()
        await #expect(throws: TenancyError.self) {
            _ = try await harness.server.users.createActive(
                tenantID: scope.tenantID, email: "short@optique-a.fr", name: nil, role: .viewer, password: "short")
        }
    }

    @Test("the last owner can be neither removed, demoted nor disabled; with a second owner they can")
    func lastOwner() async throws {
        let (owner, ownerKey) = try await harness.member(.owner)
        let ownerPath = "/v1/users/\(owner.id.uuidString.lowercased())"
        try await harness.test { client in
            let remove = try await client.call(.delete, ownerPath, key: ownerKey)
            #expect(remove.status == .conflict)
            #expect(remove.problem?["type"] as? String == "/problems/last-owner")
            #expect(try await client.call(.patch, ownerPath, key: ownerKey, json: #"{"role": "admin"}"#).status == .conflict)
            #expect(try await client.call(.patch, ownerPath, key: ownerKey, json: #"{"status": "disabled"}"#).status == .conflict)

            let second = try await client.call(.post, "/v1/users", key: ownerKey, json: #"{"email": "co@optique-a.fr", "role": "owner"}"#)
            let token = try #require(second.json["invitation_token"] as? String)
            #expect(try await client.call(.post, "/v1/auth/accept-invitation", key: nil,
                json: #"{"token": "\#(token)", "password": "another good one"}"#).status == .ok)
            #expect(try await client.call(.delete, ownerPath, key: ownerKey).status == .noContent)
            // Their key went with them.
            #expect(try await client.call(.get, "/v1/clients", key: ownerKey).status == .unauthorized)
        }
    }

    @Test("an admin cannot make or touch an owner; nobody grants more than they hold")
    func roleCeiling() async throws {
        let (_, adminKey) = try await harness.member(.admin)
        let (owner, _) = try await harness.member(.owner)
        try await harness.test { client in
            let inviteOwner = try await client.call(.post, "/v1/users", key: adminKey, json: #"{"email": "x@optique-a.fr", "role": "owner"}"#)
            #expect(inviteOwner.status == .forbidden)
            let demote = try await client.call(.patch, "/v1/users/\(owner.id.uuidString.lowercased())", key: adminKey, json: #"{"role": "viewer"}"#)
            #expect(demote.status == .forbidden)
            let ownerKey = try await client.call(.post, "/v1/api-keys", key: adminKey, json: #"{"name": "k", "role": "owner"}"#)
            #expect(ownerKey.status == .forbidden)
            let invite = try await client.call(.post, "/v1/users", key: adminKey, json: #"{"email": "y@optique-a.fr", "role": "agent"}"#)
            #expect(invite.status == .created)
        }
    }

    @Test("bad bodies are refused with 422 naming the field")
    func badInput() async throws {
        let owner = harness.keyA
        try await harness.test { client in
            for (body, field) in [
                (#"{"email": "no-at-sign", "role": "agent"}"#, nil as String?),
                (#"{"email": "a@b.fr", "role": "boss"}"#, "role"),
                (#"{"email": "a@b.fr", "role": "agent", "rol": "x"}"#, "rol"),
                (#"{"role": "agent"}"#, "email"),
            ] {
                let response = try await client.call(.post, "/v1/users", key: owner, json: body)
                #expect(response.status == .unprocessableContent, "\(body)")
                if let field { #expect(response.problem?["field"] as? String == field, "\(body)") }
            }
            let agentWithoutUser = try await client.call(.post, "/v1/api-keys", key: owner, json: #"{"name": "k", "role": "agent"}"#)
            #expect(agentWithoutUser.status == .unprocessableContent)
            let login = try await client.call(.post, "/v1/auth/login", key: nil, json: #"{"account": "optique-a"}"#)
            #expect(login.status == .unprocessableContent)
            let logoutWithKey = try await client.call(.post, "/v1/auth/logout", key: owner)
            #expect(logoutWithKey.status == .badRequest)
        }
    }

    @Test("a disabled user's sessions and keys stop at once")
    func disabledUser() async throws {
        let (user, key) = try await harness.member(.manager)
        let owner = harness.keyA
        try await harness.test { client in
            #expect(try await client.call(.get, "/v1/clients", key: key).status == .ok)
            let disabled = try await client.call(.patch, "/v1/users/\(user.id.uuidString.lowercased())", key: owner, json: #"{"status": "disabled"}"#)
            #expect(disabled.json["status"] as? String == "disabled")
            #expect(try await client.call(.get, "/v1/clients", key: key).status == .unauthorized)
            let login = try await client.call(.post, "/v1/auth/login", key: nil,
                json: #"{"account": "optique-a", "email": "\#(user.email)", "password": "correct horse battery"}"#)
            #expect(login.status == .unauthorized)
        }
    }

    @Test("one account's users and keys are invisible to another")
    func crossTenant() async throws {
        let (user, _) = try await harness.member(.agent)
        let keyB = harness.keyB
        try await harness.test { client in
            let path = "/v1/users/\(user.id.uuidString.lowercased())"
            #expect(try await client.call(.get, path, key: keyB).status == .notFound)
            #expect(try await client.call(.patch, path, key: keyB, json: #"{"role": "viewer"}"#).status == .notFound)
            #expect(try await client.call(.delete, path, key: keyB).status == .notFound)
            let listB = try await client.call(.get, "/v1/users", key: keyB)
            #expect((listB.json["items"] as? [Any])?.isEmpty == true)
            let keysB = try await client.call(.get, "/v1/api-keys", key: keyB)
            let keyIDs = (keysB.json["items"] as? [[String: Any]])?.compactMap { $0["key_id"] as? String } ?? []
            #expect(keyIDs.count == 1)
            let keyOfA = String(harness.keyA.dropFirst(3).prefix(16))
            #expect(try await client.call(.delete, "/v1/api-keys/\(keyOfA)", key: keyB).status == .notFound)
            #expect(try await client.call(.get, "/v1/clients", key: harness.keyA).status == .ok)
        }
    }
}
