import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing
import TestSupport

/// CSV import of clients and purchases: a column mapping, the API's rules per row with line
/// numbers, idempotent re-runs by external reference, a dry run, and nothing written on error.
@Suite("CSV import")
struct ImportTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    func clientCount(_ slug: String = "optique-a") async throws -> Int {
        try await harness.sql(["SELECT count(*) FROM clients"], slug: slug)[0][0].decode(Int.self, at: 0)
    }

    static let frenchMapping = percentEncoded(
        #"{"Nom": "last_name", "Prénom": "first_name", "Courriel": "email", "Type": "kind", "Code": "external_ref", "Ville": "city", "Fax": null}"#)

    @Test("a French Excel file (BOM, ';', mapping) creates the clients; a second run creates nothing; a changed cell updates")
    func createThenIdempotent() async throws {
        let key = harness.keyA
        let csv = """
            Nom;Prénom;Courriel;Type;Code;Ville;Fax
            Lefèvre;Hélène;Helene.Lefevre@example.fr;individual;C-001;Lyon;04 00 00 00 00
            "Dupont; fils";Jean;;individual;C-002;"Saint-Étienne";

            """
        try await harness.test { client in
            let first = try await client.importCSV("/v1/imports/clients", key: key, csv, query: "mapping=\(Self.frenchMapping)", bom: true)
            #expect(first.status == .ok, "\(first.text)")
            #expect(first.json["created"] as? Int == 2)
            #expect(first.json["written"] as? Bool == true)
            #expect(first.json["ignored_columns"] as? [String] == ["Fax"])
            let list = try await client.call(.get, "/v1/clients?sort=name", key: key)
            let items = try #require(list.json["items"] as? [[String: Any]])
            #expect(items.map { $0["last_name"] as? String } == ["Dupont; fils", "Lefèvre"])
            #expect(items[1]["email"] as? String == "helene.lefevre@example.fr")  // lowercased, as the API stores it
            #expect(items[0]["city"] as? String == "Saint-Étienne")

            let again = try await client.importCSV("/v1/imports/clients", key: key, csv, query: "mapping=\(Self.frenchMapping)", bom: true)
            #expect(again.json["created"] as? Int == 0)
            #expect(again.json["unchanged"] as? Int == 2)
            #expect(try await clientCount() == 2)

            let moved = csv.replacingOccurrences(of: ";Lyon;", with: ";Villeurbanne;")
            let third = try await client.importCSV("/v1/imports/clients", key: key, moved, query: "mapping=\(Self.frenchMapping)")
            #expect(third.json["updated"] as? Int == 1)
            #expect(third.json["unchanged"] as? Int == 1)
            let updated = try await client.call(.get, "/v1/clients?city=villeurbanne", key: key)
            #expect((updated.json["items"] as? [[String: Any]])?.count == 1)

            // One audit entry per import, with its counts.
            let audit = try await harness.sql(["SELECT changes::text FROM audit_log WHERE entity = 'client_import' ORDER BY id"])[0]
            #expect(audit.count == 3)
            #expect(try audit[0].decode(String.self, at: 0).contains(#""created": {"after": 2"#))
        }
    }

    @Test("bad values are reported with their CSV line and field, and nothing is written")
    func rowErrors() async throws {
        let key = harness.keyA
        let csv = """
            kind,last_name,email,notes,headcount
            individual,Martin,martin@example.fr,"two
            lines",
            individual,Petit,not-an-email,,
            robot,Durand,,,
            individual,Bernard,,
            business,,,,
            individual,Roux,,,12

            """
        try await harness.test { client in
            let response = try await client.importCSV("/v1/imports/clients", key: key, csv)
            #expect(response.status == .unprocessableContent)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.json["type"] as? String == "/problems/import-rejected")
            #expect(response.json["written"] as? Bool == false)
            let errors = response.importErrors
            #expect(errors.map(\.line) == [4, 5, 6, 7, 8])
            #expect(errors[0].field == "email" && errors[0].column == "email")
            #expect(errors[1].field == "kind" && errors[1].message.contains("must be one of: individual, business, public_body"))
            #expect(errors[2].message.contains("4 fields, the header 5"))
            #expect(errors[3].field == "organisation_name")
            #expect(errors[4].field == "headcount" && errors[4].message.contains("business or public body only"))
            #expect(try await clientCount() == 0)

            // skip_invalid imports the good rows and counts the others.
            let skipping = try await client.importCSV("/v1/imports/clients", key: key, csv, query: "skip_invalid=true")
            #expect(skipping.status == .ok)
            #expect(skipping.json["created"] as? Int == 1)
            #expect(skipping.json["skipped"] as? Int == 5)
            let list = try await client.call(.get, "/v1/clients", key: key)
            let notes = (list.json["items"] as? [[String: Any]])?.first?["notes"] as? String
            #expect(notes == "two\nlines")
        }
    }

    @Test("a file of several batches (12,001 rows: three INSERTs, built while the previous one runs) is written whole, with every history row, and found by search; a re-run updates across batches")
    func severalBatches() async throws {
        let key = harness.keyA
        let rows = 12_001
        var text = "kind,last_name,first_name,email,external_ref,category\n"
        for index in 1...rows {
            text += "individual,Nom\(index),Prénom,client\(index)@example.fr,R\(index),\(index % 2 == 0 ? "actual_client" : "prospect")\n"
        }
        let csv = text
        try await harness.test { client in
            let first = try await client.importCSV("/v1/imports/clients", key: key, csv)
            #expect(first.status == .ok, "\(first.text.prefix(300))")
            #expect(first.json["created"] as? Int == rows)
            #expect(try await clientCount() == rows)
            let counts = try await harness.sql([
                "SELECT count(*), count(DISTINCT client_id) FROM category_changes",
                "SELECT count(*) FROM clients WHERE category = 'actual_client'",
                "SELECT count(*) FROM audit_log WHERE entity = 'client_import'",
            ])
            #expect(try counts[0][0].decode(Int.self, at: 0) == rows)
            #expect(try counts[0][0].decode(Int.self, at: 1) == rows)
            #expect(try counts[1][0].decode(Int.self, at: 0) == rows / 2)
            #expect(try counts[2][0].decode(Int.self, at: 0) == 1)
            // The last row (in the third batch) is found by the trigram search at once, in a new transaction.
            let found = try await client.call(.get, "/v1/clients?q=client12001%40example.fr", key: key)
            let items = try #require(found.json["items"] as? [[String: Any]])
            #expect(items.first?["external_ref"] as? String == "R12001")

            // Every odd row moves to actual_client: updates in three batches, a history row each.
            let moved = csv.replacingOccurrences(of: ",prospect\n", with: ",actual_client\n")
            let second = try await client.importCSV("/v1/imports/clients", key: key, moved)
            #expect(second.json["updated"] as? Int == rows / 2 + 1)
            #expect(second.json["unchanged"] as? Int == rows / 2)
            let after = try await harness.sql([
                "SELECT count(*) FROM clients WHERE category = 'actual_client'",
                "SELECT count(*) FROM category_changes WHERE from_category = 'prospect' AND to_category = 'actual_client'",
            ])
            #expect(try after[0][0].decode(Int.self, at: 0) == rows)
            #expect(try after[1][0].decode(Int.self, at: 0) == rows / 2 + 1)
        }
    }

    @Test("a dry run reports what would happen and writes nothing")
    func dryRun() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let response = try await client.importCSV(
                "/v1/imports/clients", key: key, "kind,last_name,external_ref\nindividual,Martin,X1\nindividual,Petit,X2\n", query: "dry_run=true")
            #expect(response.status == .ok)
            #expect(response.json["dry_run"] as? Bool == true)
            #expect(response.json["created"] as? Int == 2)
            #expect(response.json["written"] as? Bool == false)
            #expect(try await clientCount() == 0)
            #expect(try await harness.sql(["SELECT count(*) FROM audit_log"])[0][0].decode(Int.self, at: 0) == 0)
        }
    }

    @Test("a file that cannot be read, or columns that do not map, are refused whole")
    func fatalErrors() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let unclosed = try await client.importCSV("/v1/imports/clients", key: key, "kind,last_name\nindividual,\"Martin\nindividual,Petit\n")
            #expect(unclosed.status == .unprocessableContent)
            #expect(unclosed.problem?["type"] as? String == "/problems/invalid-csv")
            #expect((unclosed.problem?["detail"] as? String)?.contains("line 2") == true)

            let unknownMapped = try await client.importCSV(
                "/v1/imports/clients", key: key, "kind,Nom\nindividual,Martin\n", query: "mapping=\(percentEncoded(#"{"Name": "last_name"}"#))")
            #expect(unknownMapped.status == .unprocessableContent)
            #expect(unknownMapped.problem?["field"] as? String == "mapping")

            let unknownField = try await client.importCSV(
                "/v1/imports/clients", key: key, "kind,Nom\nindividual,Martin\n", query: "mapping=\(percentEncoded(#"{"Nom": "surname"}"#))")
            #expect((unknownField.problem?["detail"] as? String)?.contains("'surname', which is not a field") == true)

            let unmapped = try await client.importCSV("/v1/imports/clients", key: key, "kind,Nom\nindividual,Martin\n")
            #expect((unmapped.problem?["detail"] as? String)?.contains("column 'Nom' is not a field") == true)

            let badMapping = try await client.importCSV("/v1/imports/clients", key: key, "kind\nindividual\n", query: "mapping=%5B1%5D")
            #expect(badMapping.status == .badRequest)

            let json = try await client.call(.post, "/v1/imports/clients", key: key, json: "{}")
            #expect(json.status == .unsupportedMediaType)
            let unknownParameter = try await client.importCSV("/v1/imports/clients", key: key, "kind\n", query: "dryrun=true")
            #expect(unknownParameter.status == .badRequest)
            #expect(try await clientCount() == 0)
        }
    }

    @Test("a new row sharing an email, phone or SIREN with a client or an earlier row is an error unless allow_duplicates")
    func duplicates() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let existing = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Martin", "email": "martin@example.fr"}"#)
            let csv = """
                kind,last_name,email,phone
                individual,Martin,MARTIN@example.fr,
                individual,Petit,,06 12 34 56 78
                individual,Petit bis,,+33 6 12 34 56 78

                """
            let refused = try await client.importCSV("/v1/imports/clients", key: key, csv)
            #expect(refused.status == .unprocessableContent)
            let errors = refused.importErrors
            #expect(errors.map(\.line) == [2, 4])
            #expect(errors[0].message.contains(existing) && errors[0].field == "email")
            #expect(errors[1].message.contains("same phone as line 3"))

            let allowed = try await client.importCSV("/v1/imports/clients", key: key, csv, query: "allow_duplicates=true")
            #expect(allowed.json["created"] as? Int == 3)
        }
    }

    @Test("a row naming a client by id updates it; an exported file imports back unchanged")
    func byIDAndRoundTrip() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let id = try await client.newClient(key: key, #"{"kind": "business", "organisation_name": "Garage Martin", "phone": "+33 4 72 00 00 00", "tags": ["vip", "lyon"], "revenue": "1250.50"}"#)
            _ = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "=cmd|' /C calc'!A0", "consent": {"marketing": {"granted": true, "source": "form"}}}"#)
            let export = try await client.call(.get, "/v1/exports/clients.csv", key: key)
            #expect(export.status == .ok)
            let back = try await client.importCSV("/v1/imports/clients", key: key, export.text)
            #expect(back.status == .ok, "\(back.text)")
            #expect(back.json["unchanged"] as? Int == 2)
            #expect(back.json["created"] as? Int == 0)

            let renamed = try await client.importCSV("/v1/imports/clients", key: key, "id,trade_name\n\(id),Chez Martin\n")
            #expect(renamed.json["updated"] as? Int == 1)
            let record = try await client.call(.get, "/v1/clients/\(id)", key: key)
            #expect(record.json["trade_name"] as? String == "Chez Martin")
            #expect(record.json["organisation_name"] as? String == "Garage Martin")  // empty cells leave fields alone
            #expect(record.json["tags"] as? [String] == ["vip", "lyon"])

            // Tenant B cannot reach A's client by its id.
            let other = try await client.importCSV("/v1/imports/clients", key: harness.keyB, "id,trade_name\n\(id),Volé\n")
            #expect(other.status == .unprocessableContent)
            #expect(other.importErrors.first?.message.contains("no client with id") == true)
        }
    }

    @Test("purchases reference their buyer by external_ref; a re-run changes nothing; the buyer's dates follow")
    func purchases() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let imported = try await client.importCSV("/v1/imports/clients", key: key, "kind;last_name;external_ref\nindividual;Martin;C1\nindividual;Petit;C2\n")
            #expect(imported.json["created"] as? Int == 2)
            let csv = """
                Ticket;Client;Date;Montant;Canal
                T1;C1;2024-03-10;149,90;in_store
                T2;C1;2024-05-02;20.00;web
                T3;C2;2024-01-15;1 000,00;
                T4;C9;2024-01-15;10;
                T5;C2;2024-13-01;10;shop

                """
            let mapping = percentEncoded(#"{"Ticket": "external_ref", "Client": "buyer_external_ref", "Date": "purchased_on", "Montant": "amount", "Canal": "channel"}"#)
            let refused = try await client.importCSV("/v1/imports/purchases", key: key, csv, query: "mapping=\(mapping)")
            #expect(refused.status == .unprocessableContent)
            #expect(refused.importErrors.map(\.line) == [5, 6])
            #expect(refused.importErrors.first?.column == "Client")

            let done = try await client.importCSV("/v1/imports/purchases", key: key, csv, query: "mapping=\(mapping)&skip_invalid=true")
            #expect(done.json["created"] as? Int == 3)
            #expect(done.json["skipped"] as? Int == 2)
            let again = try await client.importCSV("/v1/imports/purchases", key: key, csv, query: "mapping=\(mapping)&skip_invalid=true")
            #expect(again.json["created"] as? Int == 0)
            #expect(again.json["unchanged"] as? Int == 3)
            let total = try await harness.sql(["SELECT sum(amount)::text FROM purchases"])[0][0].decode(String.self, at: 0)
            #expect(total == "1169.90")
            let buyer = try await harness.sql(["SELECT first_purchase_on::text, last_purchase_on::text FROM clients WHERE external_ref = 'C1'"])[0][0]
            #expect(try buyer.decode(String.self, at: 0) == "2024-03-10")
            #expect(try buyer.decode(String.self, at: 1) == "2024-05-02")
        }
    }

    @Test("imported purchases recent enough get their post-purchase survey job, old ones and re-runs none")
    func importedPurchasesTriggerSurveys() async throws {
        let key = harness.keyA
        try await harness.test { client in
            _ = try await client.importCSV("/v1/imports/clients", key: key, "kind;last_name;external_ref\nindividual;Martin;C1\n")
            let mapping = percentEncoded(#"{"Ticket": "external_ref", "Client": "buyer_external_ref", "Date": "purchased_on", "Montant": "amount"}"#)
            func surveyJobs() async throws -> Int {
                let scope = try await harness.scope()
                return try await harness.database.query("""
                    SELECT count(*) FROM platform.jobs WHERE tenant_id = \(scope.tenantID) AND kind = 'survey.purchase'
                    """)[0].decode(Int.self, at: 0)
            }
            // No after_purchase campaign: nothing to do.
            let first = try await client.importCSV("/v1/imports/purchases", key: key,
                "Ticket;Client;Date;Montant\nT0;C1;\(Timestamps.today());10\n", query: "mapping=\(mapping)")
            #expect(first.json["created"] as? Int == 1)
            #expect(try await surveyJobs() == 0)

            let campaign = try await client.call(.post, "/v1/survey-campaigns", key: key, json: """
                {"name": "Après achat", "measure": "csat", "question_fr": "Satisfait ?", "trigger": "after_purchase", "delay_days": 2}
                """)
            #expect(campaign.status == .created, "\(campaign.text)")
            let csv = "Ticket;Client;Date;Montant\nT1;C1;\(Timestamps.today());10\nT2;C1;2021-06-01;20\n"
            let dry = try await client.importCSV("/v1/imports/purchases", key: key, csv, query: "mapping=\(mapping)&dry_run=true")
            #expect(dry.json["created"] as? Int == 2)
            #expect(try await surveyJobs() == 0)
            let done = try await client.importCSV("/v1/imports/purchases", key: key, csv, query: "mapping=\(mapping)")
            #expect(done.json["created"] as? Int == 2)
            #expect(try await surveyJobs() == 1)
            let payload = try await harness.database.query(
                "SELECT payload->>'purchase_id' FROM platform.jobs WHERE kind = 'survey.purchase'")[0].decode(String.self, at: 0)
            let recent = try await harness.sql(["SELECT id::text FROM purchases WHERE external_ref = 'T1'"])[0][0].decode(String.self, at: 0)
            #expect(payload == recent)
            _ = try await client.importCSV("/v1/imports/purchases", key: key, csv, query: "mapping=\(mapping)")
            #expect(try await surveyJobs() == 1)
        }
    }

    @Test("every importable field is stored as the API stores it, on creation and on update")
    func everyField() async throws {
        let key = harness.keyA
        try await harness.test { client in
            #expect(try await client.call(.post, "/v1/custom-fields", key: key, json: #"{"key": "size", "label": "Size", "type": "number"}"#).status == .created)
            let csv = """
                kind,category,first_name,last_name,organisation_name,email,phone,city,postal_code,external_ref,category_reason,follow_up_on,address_line1,address_line2,website,trade_name,activity,siren,sector,headcount,legal_form,revenue,establishments_count,birth_date,marital_status,children_count,housing,occupation,income_bracket,tags,notes,needs,motivations,brakes,objections,purchase_stage,acquisition_channel,acquisition_cost,first_purchase_on,consent_surveys,consent_marketing,custom_fields.size
                individual,relative_non_consumer,Jules,Petit,,jules@example.fr,06 11 22 33 44,Lyon,69003,P1,too young,2030-01-01,1 rue A,Bât B,www.petit.fr,,,,,,,,,2015-05-05,single,0,tenant,pupil,under_20k,"vip, Kids",Likes red,"safety,esteem",hedonistic,fear,too_expensive,,Referral,12.50,2024-01-02,oui,non,52
                business,prospect,,,Garage Martin,contact@garage.fr,,Nice,06000,B1,,,,,,Chez Martin,repairs,732 829 320,auto,12,SARL,"1 250,50",2,,,,,,,,,,,,,information_search,web,,,,,

                """
            let response = try await client.importCSV("/v1/imports/clients", key: key, csv)
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["created"] as? Int == 2)
            let list = try await client.call(.get, "/v1/clients?sort=name", key: key)
            let items = try #require(list.json["items"] as? [[String: Any]])
            let (garage, jules) = (items[0], items[1])
            #expect(jules["category_reason"] as? String == "too young" && jules["follow_up_on"] as? String == "2030-01-01")
            #expect(jules["tags"] as? [String] == ["vip", "kids"] && jules["needs"] as? [String] == ["safety", "esteem"])
            #expect(jules["birth_date"] as? String == "2015-05-05" && jules["children_count"] as? Int == 0)
            #expect(jules["acquisition_channel"] as? String == "referral" && jules["acquisition_cost"] as? String == "12.50")
            #expect((jules["custom_fields"] as? [String: Any])?["size"] as? Int == 52)
            let consent = jules["consent"] as? [String: [String: Any]]
            #expect(consent?["surveys"]?["granted"] as? Bool == true && consent?["surveys"]?["source"] as? String == "import")
            #expect(garage["siren"] as? String == "732829320" && garage["revenue"] as? String == "1250.50")
            #expect(garage["headcount"] as? Int == 12 && garage["purchase_stage"] as? String == "information_search")
            let history = try await client.call(.get, "/v1/clients/\(jules["id"] as! String)/category-history", key: key)
            #expect((history.json["items"] as? [[String: Any]])?.first?["reason"] as? String == "too young")

            let update = try await client.importCSV("/v1/imports/clients", key: key, "external_ref,category,category_reason,headcount\nP1,actual_client,,\nB1,,,13\n")
            #expect(update.json["updated"] as? Int == 2, "\(update.text)")
            let moved = try await client.call(.get, "/v1/clients/\(jules["id"] as! String)/category-history", key: key)
            #expect((moved.json["items"] as? [[String: Any]])?.first?["to_category"] as? String == "actual_client")
            let garageNow = try await client.call(.get, "/v1/clients/\(garage["id"] as! String)", key: key)
            #expect(garageNow.json["headcount"] as? Int == 13 && garageNow.json["revision"] == nil)
            #expect(garageNow.headers[.eTag] == "\"2\"")
        }
    }

    @Test("agents and viewers may not import", arguments: [AccessRole.agent, .viewer])
    func roles(role: AccessRole) async throws {
        let (_, key) = try await harness.member(role)
        try await harness.test { client in
            let response = try await client.importCSV("/v1/imports/clients", key: key, "kind,last_name\nindividual,Martin\n")
            #expect(response.status == .forbidden)
            #expect(try await clientCount() == 0)
        }
    }
}

extension TestClientProtocol {
    /// POSTs a CSV file to an import route; `query` is appended as it is (percent-encode it).
    func importCSV(_ path: String, key: String, _ csv: String, query: String = "", bom: Bool = false) async throws -> TestResponse {
        var bytes = bom ? [UInt8]([0xEF, 0xBB, 0xBF]) : []
        bytes += Array(csv.utf8)
        let uri = path + (query.isEmpty ? "" : "?" + query)
        let response = try await execute(
            uri: uri, method: .post,
            headers: [.authorization: "Bearer \(key)", .contentType: "text/csv; charset=utf-8"],
            body: ByteBuffer(bytes: bytes))
        response.checkAgainstOpenAPI(method: .post, uri: uri, requestBody: nil)
        return response
    }
}

extension TestResponse {
    /// An import report's errors as (line, column, field, message).
    var importErrors: [(line: Int, column: String?, field: String?, message: String)] {
        (json["errors"] as? [[String: Any]] ?? []).map {
            ($0["line"] as? Int ?? -1, $0["column"] as? String, $0["field"] as? String, $0["message"] as? String ?? "")
        }
    }
}

/// A query parameter value, percent-encoded.
func percentEncoded(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
}
