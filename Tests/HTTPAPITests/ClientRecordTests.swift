import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

/// The whole client record of DOMAIN.md section 2: identification, qualification, controlled
/// values, acquisition, consent and custom fields.
@Suite("The client record")
struct ClientRecordTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("a business keeps its identification and qualification; SIREN is stored as 9 digits, amounts exactly")
    func business() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: key, json: """
                {"kind": "business", "organisation_name": "Garage Martin SARL", "trade_name": "Garage du Centre",
                 "activity": "car repair", "siren": "732 829 320", "sector": "automotive", "headcount": 7,
                 "legal_form": "SARL", "revenue": "1250000.10", "establishments_count": 2,
                 "address_line1": "3 rue de la Gare", "website": "www.garage-martin.example.fr",
                 "email": "Contact@Garage-Martin.example.FR", "tags": [" VIP ", "fleet", "vip"],
                 "needs": ["safety", "esteem", "safety"], "objections": ["too_expensive"],
                 "acquisition_channel": "Referral", "acquisition_cost": 120.5, "first_purchase_on": "2019-03-01",
                 "notes": "prefers calls in the morning"}
                """)
            #expect(created.status == .created, "\(created.text)")
            let body = created.json
            #expect(body["siren"] as? String == "732829320")
            #expect(body["revenue"] as? String == "1250000.10")
            #expect(body["acquisition_cost"] as? String == "120.50")
            #expect(body["email"] as? String == "contact@garage-martin.example.fr")
            #expect(body["tags"] as? [String] == ["vip", "fleet"])
            #expect(body["needs"] as? [String] == ["safety", "esteem"])
            #expect(body["acquisition_channel"] as? String == "referral")
            #expect(body["first_purchase_on"] as? String == "2019-03-01")
            #expect(body["last_purchase_on"] is NSNull)
            #expect(body["headcount"] as? Int == 7)
            #expect(body["birth_date"] is NSNull)
            #expect((body["custom_fields"] as? [String: Any])?.isEmpty == true)
            let consent = try #require(body["consent"] as? [String: [String: Any]])
            #expect(consent["marketing"]?["granted"] as? Bool == false)
            #expect(consent["surveys"]?["at"] is NSNull)

            // Every field is in the stored record, not only in the response.
            let id = try #require(body["id"] as? String)
            let fetched = try await client.call(.get, "/v1/clients/\(id)", key: key)
            #expect(fetched.json["trade_name"] as? String == "Garage du Centre")
            #expect(fetched.json["revenue"] as? String == "1250000.10")
            #expect(fetched.json["notes"] as? String == "prefers calls in the morning")
            // Keys come sorted, as the hand-written writer promises.
            let keys = try #require(try JSONSerialization.jsonObject(with: Data(fetched.text.utf8)) as? [String: Any]).keys
            #expect(fetched.text.hasPrefix("{\"acquisition_channel\":"))
            #expect(keys.count == 49)
        }
    }

    @Test("fields of the other kind are refused, naming the field; so is a SIREN failing Luhn")
    func perKindRules() async throws {
        let key = harness.keyA
        let refused: [(String, String)] = [
            (#"{"kind": "individual", "last_name": "A", "siren": "732829320"}"#, "siren"),
            (#"{"kind": "individual", "last_name": "A", "revenue": 10}"#, "revenue"),
            (#"{"kind": "individual", "last_name": "A", "trade_name": "X"}"#, "trade_name"),
            (#"{"kind": "business", "organisation_name": "X", "birth_date": "1980-01-01"}"#, "birth_date"),
            (#"{"kind": "public_body", "organisation_name": "X", "children_count": 2}"#, "children_count"),
            (#"{"kind": "business", "organisation_name": "X", "siren": "732829321"}"#, "siren"),
            (#"{"kind": "business", "organisation_name": "X", "siren": "73282932"}"#, "siren"),
            (#"{"kind": "business", "organisation_name": "X", "revenue": -1}"#, "revenue"),
            (#"{"kind": "business", "organisation_name": "X", "revenue": "12.345"}"#, "revenue"),
            (#"{"kind": "business", "organisation_name": "X", "revenue": "lots"}"#, "revenue"),
            (#"{"kind": "business", "organisation_name": "X", "headcount": 2.5}"#, "headcount"),
            (#"{"kind": "individual", "last_name": "A", "needs": ["love"]}"#, "needs"),
            (#"{"kind": "individual", "last_name": "A", "motivations": "hedonistic"}"#, "motivations"),
            (#"{"kind": "individual", "last_name": "A", "marital_status": "complicated"}"#, "marital_status"),
            (#"{"kind": "individual", "last_name": "A", "category": "actual_client", "purchase_stage": "decision"}"#, "purchase_stage"),
            (#"{"kind": "individual", "last_name": "A", "tags": ["a,b"]}"#, "tags"),
            (#"{"kind": "individual", "last_name": "A", "assigned_user_id": "me"}"#, "assigned_user_id"),
            (#"{"kind": "individual", "last_name": "A", "last_purchase_on": "2024-01-01"}"#, "last_purchase_on"),
            (#"{"kind": "individual", "last_name": "A", "website": "not a site"}"#, "website"),
        ]
        try await harness.test { client in
            for (body, field) in refused {
                let response = try await client.call(.post, "/v1/clients", key: key, json: body)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect(response.problem?["field"] as? String == field, "\(body): \(response.text)")
            }
            // Changing the kind with fields of the old kind is refused too.
            let person = try await client.call(.post, "/v1/clients", key: key,
                                               json: #"{"kind": "individual", "last_name": "Roux", "birth_date": "1990-05-04", "marital_status": "civil_partnership", "children_count": 2, "housing": "tenant", "income_bracket": "20k_35k"}"#)
            #expect(person.status == .created)
            let id = try #require(person.json["id"] as? String)
            let switched = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"kind": "business", "organisation_name": "Roux SAS"}"#)
            #expect(switched.status == .unprocessableContent)
            #expect(switched.problem?["field"] as? String == "birth_date")
        }
    }

    @Test("a prospect's purchase stage goes when they become a client")
    func purchaseStage() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: key,
                                                json: #"{"kind": "individual", "last_name": "Blanc", "purchase_stage": "evaluation"}"#)
            #expect(created.json["purchase_stage"] as? String == "evaluation")
            let id = try #require(created.json["id"] as? String)
            let bought = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"category": "actual_client"}"#)
            #expect(bought.status == .ok)
            #expect(bought.json["purchase_stage"] is NSNull)
        }
    }

    @Test("consent records when (server time) and how; the same state again keeps the first proof; the audit log sees it")
    func consent() async throws {
        let (key, database, directory) = (harness.keyA, harness.database, harness.directory)
        try await harness.test { client in
            let created = try await client.call(.post, "/v1/clients", key: key, json: """
                {"kind": "individual", "last_name": "Leroy", "consent": {"marketing": {"granted": true, "source": "form"}}}
                """)
            let id = try #require(created.json["id"] as? String)
            let consent = try #require(created.json["consent"] as? [String: [String: Any]])
            #expect(consent["marketing"]?["granted"] as? Bool == true)
            #expect(consent["marketing"]?["source"] as? String == "form")
            let grantedAt = try #require(consent["marketing"]?["at"] as? String)
            #expect(consent["surveys"]?["granted"] as? Bool == false)

            let again = try await client.call(.patch, "/v1/clients/\(id)", key: key,
                                              json: #"{"consent": {"marketing": {"granted": true, "source": "phone"}}}"#)
            let kept = try #require(again.json["consent"] as? [String: [String: Any]])
            #expect(kept["marketing"]?["at"] as? String == grantedAt)
            #expect(kept["marketing"]?["source"] as? String == "form")

            let withdrawn = try await client.call(.patch, "/v1/clients/\(id)", key: key,
                                                  json: #"{"consent": {"marketing": {"granted": false, "source": "email"}}}"#)
            let now = try #require(withdrawn.json["consent"] as? [String: [String: Any]])
            #expect(now["marketing"]?["granted"] as? Bool == false)
            #expect(now["marketing"]?["source"] as? String == "email")
            #expect((now["marketing"]?["at"] as? String ?? "") >= grantedAt)

            let listed = try await client.call(.get, "/v1/clients?consent_marketing=true", key: key)
            #expect((listed.json["items"] as? [[String: Any]])?.isEmpty == true)

            let scope = TenantScope(try await directory.find(slug: "optique-a"))
            let entries = try await AuditLog.read(entity: "client", id: id, limit: 10, as: .system(scope, label: "test"), database: database)
            #expect(entries.first?.changesJSON.contains("consent.marketing.granted") == true)
            #expect(entries.first?.changesJSON.contains("\"email\"") == true)

            for (body, field) in [
                (#"{"consent": {"marketing": {"granted": true}}}"#, "consent.marketing.source"),
                (#"{"consent": {"marketing": {"granted": "yes", "source": "form"}}}"#, "consent.marketing.granted"),
                (#"{"consent": {"marketing": {"granted": true, "source": "form", "at": "2020-01-01T00:00:00Z"}}}"#, "consent.marketing.at"),
                (#"{"consent": {"newsletter": {"granted": true, "source": "form"}}}"#, "consent.newsletter"),
                (#"{"consent": true}"#, "consent"),
            ] {
                let response = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: body)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect(response.problem?["field"] as? String == field, "\(body): \(response.text)")
            }
        }
    }

    @Test("custom fields: defined by managers and above, read by all, checked by type on every client")
    func customFields() async throws {
        let (key, keyB, database) = (harness.keyA, harness.keyB, harness.database)
        let viewer = try await APIKeyStore(client: database).create(tenantSlug: "optique-a", name: "till", role: .viewer).token
        try await harness.test { client in
            let size = try await client.call(.post, "/v1/custom-fields", key: key,
                                             json: #"{"key": "frame_size", "label": "Frame size (mm)", "type": "number"}"#)
            #expect(size.status == .created, "\(size.text)")
            #expect(size.headers[.location] == "/v1/custom-fields/frame_size")
            let lens = try await client.call(.post, "/v1/custom-fields", key: key,
                                             json: #"{"key": "lens", "label": "Lens", "type": "choice", "choices": ["single", "progressive"]}"#)
            #expect(lens.json["choices"] as? [String] == ["single", "progressive"])
            for (body, field) in [
                (#"{"key": "Frame", "label": "x", "type": "text"}"#, "key"),
                (#"{"key": "a", "label": "x", "type": "colour"}"#, "type"),
                (#"{"key": "a", "label": "x", "type": "choice"}"#, "choices"),
                (#"{"key": "a", "label": "x", "type": "text", "choices": ["b"]}"#, "choices"),
                (#"{"key": "a", "label": "x", "type": "text", "default": 1}"#, "default"),
            ] {
                let response = try await client.call(.post, "/v1/custom-fields", key: key, json: body)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect(response.problem?["field"] as? String == field, "\(body): \(response.text)")
            }
            #expect(try await client.call(.post, "/v1/custom-fields", key: key, json: #"{"key": "lens", "label": "x", "type": "text"}"#).status == .conflict)
            // A viewer reads definitions but may not define them.
            #expect(try await client.call(.post, "/v1/custom-fields", key: viewer, json: #"{"key": "b", "label": "x", "type": "text"}"#).status == .forbidden)
            let listed = try await client.call(.get, "/v1/custom-fields", key: viewer)
            #expect((listed.json["items"] as? [[String: Any]])?.compactMap { $0["key"] as? String } == ["frame_size", "lens"])
            // Definitions are per tenant.
            #expect(try await client.call(.get, "/v1/custom-fields/lens", key: keyB).status == .notFound)

            let created = try await client.call(.post, "/v1/clients", key: key, json: """
                {"kind": "individual", "last_name": "Faure", "custom_fields": {"frame_size": 52.5, "lens": "progressive"}}
                """)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let values = try #require(created.json["custom_fields"] as? [String: Any])
            #expect(values["frame_size"] as? Double == 52.5)
            #expect(values["lens"] as? String == "progressive")

            for (body, field) in [
                (#"{"custom_fields": {"frame_size": "big"}}"#, "custom_fields.frame_size"),
                (#"{"custom_fields": {"lens": "bifocal"}}"#, "custom_fields.lens"),
                (#"{"custom_fields": {"shoe_size": 42}}"#, "custom_fields.shoe_size"),
                (#"{"custom_fields": [1]}"#, "custom_fields"),
            ] {
                let response = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: body)
                #expect(response.status == .unprocessableContent, "\(body)")
                #expect(response.problem?["field"] as? String == field, "\(body): \(response.text)")
            }
            // null removes one key; the others stay.
            let cleared = try await client.call(.patch, "/v1/clients/\(id)", key: key, json: #"{"custom_fields": {"frame_size": null}}"#)
            #expect((cleared.json["custom_fields"] as? [String: Any])?.keys.sorted() == ["lens"])

            // A choice or a field in use cannot be taken away.
            let shrink = try await client.call(.patch, "/v1/custom-fields/lens", key: key, json: #"{"choices": ["single"]}"#)
            #expect(shrink.status == .conflict)
            #expect(try await client.call(.delete, "/v1/custom-fields/lens", key: key).status == .conflict)
            #expect(try await client.call(.patch, "/v1/custom-fields/lens", key: key, json: #"{"type": "text"}"#).status == .unprocessableContent)
            let relabelled = try await client.call(.patch, "/v1/custom-fields/lens", key: key, json: #"{"label": "Lens type", "choices": ["single", "progressive", "bifocal"]}"#)
            #expect(relabelled.json["label"] as? String == "Lens type")
            #expect(try await client.call(.delete, "/v1/custom-fields/frame_size", key: key).status == .noContent)
            #expect(try await client.call(.get, "/v1/custom-fields/frame_size", key: key).status == .notFound)
        }
    }

    @Test("an agent's clients are assigned to them; only roles above agent choose the assignee")
    func assignment() async throws {
        let scope = TenantScope(try await harness.directory.find(slug: "optique-a"))
        let repository = ClientRepository(database: harness.database)
        let agentID = UUID(), colleague = UUID()
        let agent = Actor(scope: scope, role: .agent, userID: agentID, label: "user:agent")
        let manager = Actor(scope: scope, role: .manager, userID: UUID(), label: "user:manager")
        func changes(_ json: String) throws -> ClientChanges {
            try JSONDecoder().decode(ClientChanges.self, from: Data(json.utf8))
        }

        let mine = try await repository.create(try changes(#"{"kind": "individual", "last_name": "Agent's"}"#), as: agent)
        #expect(mine.assignedUserID == agentID)
        await #expect(throws: ClientBaseError.self) {
            try await repository.create(try changes(#"{"kind": "individual", "last_name": "X", "assigned_user_id": "\#(colleague)"}"#), as: agent)
        }
        do {
            _ = try await repository.update(mine.id, try changes(#"{"assigned_user_id": "\#(colleague)"}"#), as: agent)
            Issue.record("an agent reassigned a client")
        } catch let error as ClientBaseError {
            #expect(error.code == .forbidden)
        }
        // A manager hands the client to a colleague: the agent no longer sees it.
        let handed = try await repository.update(mine.id, try changes(#"{"assigned_user_id": "\#(colleague)"}"#), as: manager)
        #expect(handed.assignedUserID == colleague)
        do {
            _ = try await repository.get(mine.id, as: agent)
            Issue.record("the agent still sees a client assigned to someone else")
        } catch let error as ClientBaseError {
            #expect(error.code == .notFound)
        }
        var byAssignee = ClientListQuery()
        byAssignee.assignedUserID = colleague
        #expect(try await repository.list(byAssignee, as: manager).items.map(\.id) == [mine.id])
        #expect(try await repository.list(ClientListQuery(), as: agent).items.isEmpty)
    }
}
