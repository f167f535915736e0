import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Testing
import TestSupport

/// Purchases: one buyer, one payer, zero or more consumers (DOMAIN.md section 1), money exact.
@Suite("Purchases")
struct PurchaseAPITests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("lines give the amount and the margin, computed exactly; money is written as strings with two decimals")
    func moneyFromLines() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            let purchase = try await client.create("/v1/purchases", key: key, """
                {"buyer_id": "\(buyer)", "purchased_on": "2024-03-10", "channel": "in_store", "purchase_type": "considered",
                 "lines": [{"description": "Verres progressifs", "quantity": 2, "unit_price": "74.95", "unit_cost": "30.00"},
                           {"description": "Cordon", "quantity": "1.5", "unit_price": 9.99, "unit_cost": 2.10}]}
                """)
            // 2 × 74.95 = 149.90; 1.5 × 9.99 = 14.985, rounded to 14.99. Costs 60.00 + 3.15.
            #expect(purchase["amount"] as? String == "164.89")
            #expect(purchase["margin"] as? String == "101.74")
            let lines = try #require(purchase["lines"] as? [[String: Any]])
            #expect(lines.count == 2)
            #expect(lines[1]["amount"] as? String == "14.99")
            #expect(lines[1]["quantity"] as? Double == 1.5)
            #expect(lines[1]["unit_price"] as? String == "9.99")
            #expect(lines[0]["description"] as? String == "Verres progressifs")
            #expect(purchase["payer_id"] as? String == buyer)  // the buyer pays unless told otherwise

            // A line without its cost: the margin is unknown, not wrong.
            let unknown = try await client.create("/v1/purchases", key: key, """
                {"buyer_id": "\(buyer)", "lines": [{"description": "Lentilles", "unit_price": "0.10"},
                                                   {"description": "Produit", "quantity": 3, "unit_price": "0.05", "unit_cost": "0.01"}]}
                """)
            #expect(unknown["amount"] as? String == "0.25")
            #expect(unknown["margin"] is NSNull)

            // Replacing the lines recomputes both; dropping them keeps the figures, now editable.
            let id = try #require(purchase["id"] as? String)
            let relined = try await client.call(.patch, "/v1/purchases/\(id)", key: key,
                json: #"{"lines": [{"description": "Monture", "unit_price": "120", "unit_cost": "45.5"}]}"#)
            #expect(relined.json["amount"] as? String == "120.00")
            #expect(relined.json["margin"] as? String == "74.50")
            try await client.expectInvalid(.patch, "/v1/purchases/\(id)", key: key, #"{"amount": "99.00"}"#, field: "amount")
            let unlined = try await client.call(.patch, "/v1/purchases/\(id)", key: key, json: #"{"lines": null}"#)
            #expect(unlined.json["lines"] is NSNull)
            #expect(unlined.json["amount"] as? String == "120.00")
            let repriced = try await client.call(.patch, "/v1/purchases/\(id)", key: key, json: #"{"amount": 99.9, "margin": null}"#)
            #expect(repriced.json["amount"] as? String == "99.90")
            #expect(repriced.json["margin"] is NSNull)
        }
    }

    @Test("create, read, list by client and date, change and delete; every write is audited")
    func crud() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            let payer = try await client.newClient(key: key, #"{"kind": "business", "organisation_name": "Mutuelle Santé"}"#)
            let child = try await client.newClient(key: key, #"{"kind": "individual", "first_name": "Léo"}"#)
            let created = try await client.create("/v1/purchases", key: key, """
                {"buyer_id": "\(buyer)", "payer_id": "\(payer)", "consumer_ids": ["\(child)", "\(child)"],
                 "purchased_on": "2024-05-02", "amount": "249.00", "margin": "120.50", "channel": "web",
                 "purchase_type": "impulse", "note": "glasses for Léo", "external_ref": "till-0001"}
                """)
            let id = try #require(created["id"] as? String)
            #expect(created["consumer_ids"] as? [String] == [child])  // once, however often named
            #expect(created["lines"] is NSNull)

            let read = try await client.call(.get, "/v1/purchases/\(id)", key: key)
            #expect(read.status == .ok)
            #expect(read.json["payer_id"] as? String == payer)
            #expect(read.json["margin"] as? String == "120.50")
            #expect(read.json["external_ref"] as? String == "till-0001")

            // The list finds it from each of its clients, within the dates.
            for someone in [buyer, payer, child] {
                let list = try await client.call(.get, "/v1/purchases?client_id=\(someone)", key: key)
                #expect((list.json["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            }
            let outside = try await client.call(.get, "/v1/purchases?client_id=\(buyer)&from=2024-05-03", key: key)
            #expect((outside.json["items"] as? [Any])?.isEmpty == true)
            let inside = try await client.call(.get, "/v1/purchases?from=2024-05-01&to=2024-05-02", key: key)
            #expect((inside.json["items"] as? [Any])?.count == 1)
            let byRef = try await client.call(.get, "/v1/purchases?external_ref=till-0001", key: key)
            #expect((byRef.json["items"] as? [Any])?.count == 1)
            #expect(try await client.call(.get, "/v1/purchases?colour=red", key: key).status == .badRequest)
            #expect(try await client.call(.get, "/v1/purchases?from=yesterday", key: key).status == .badRequest)

            // null payer: the buyer pays again; an empty consumer list clears them.
            let changed = try await client.call(.patch, "/v1/purchases/\(id)", key: key,
                                                json: #"{"payer_id": null, "consumer_ids": [], "channel": "phone"}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.json["payer_id"] as? String == buyer)
            #expect((changed.json["consumer_ids"] as? [Any])?.isEmpty == true)
            #expect(changed.json["channel"] as? String == "phone")
            #expect(changed.json["note"] as? String == "glasses for Léo")  // left out: unchanged

            #expect(try await client.call(.delete, "/v1/purchases/\(id)", key: key).status == .noContent)
            #expect(try await client.call(.get, "/v1/purchases/\(id)", key: key).status == .notFound)
            #expect(try await client.call(.delete, "/v1/purchases/\(id)", key: key).status == .notFound)

            let audit = try await harness.audit("purchase", id)
            #expect(audit.map(\.0) == ["create", "update", "delete"])
            #expect(audit[1].1.contains("\"channel\": {\"after\": \"phone\", \"before\": \"web\"}"), "\(audit[1].1)")
        }
    }

    @Test("pages of purchases follow their cursor without loss or repeat")
    func pages() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            var ids: [String] = []
            for day in 1...5 {
                let purchase = try await client.create("/v1/purchases", key: key,
                    #"{"buyer_id": "\#(buyer)", "amount": "10", "purchased_on": "2024-01-0\#(day)"}"#)
                ids.append(try #require(purchase["id"] as? String))
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await client.call(.get, "/v1/purchases?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key)
                seen += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil && seen.count < 10
            #expect(seen == ids)
        }
    }

    @Test("bad input is a 422 naming the field")
    func validation() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            let refused: [(String, String)] = [
                (#"{"amount": "10.00"}"#, "buyer_id"),
                (#"{"buyer_id": "\#(buyer)"}"#, "amount"),
                (#"{"buyer_id": "\#(buyer)", "amount": "10", "lines": [{"description": "A", "unit_price": "10"}]}"#, "amount"),
                (#"{"buyer_id": "\#(buyer)", "amount": "12.345"}"#, "amount"),
                (#"{"buyer_id": "\#(buyer)", "amount": "1e3"}"#, "amount"),
                (#"{"buyer_id": "\#(buyer)", "amount": -5}"#, "amount"),
                (#"{"buyer_id": "\#(buyer)", "amount": true}"#, "amount"),
                (#"{"buyer_id": "\#(buyer)", "amount": "10", "margin": "11"}"#, "margin"),
                (#"{"buyer_id": "\#(buyer)", "lines": []}"#, "lines"),
                (#"{"buyer_id": "\#(buyer)", "lines": [{"description": "A"}]}"#, "lines"),
                (#"{"buyer_id": "\#(buyer)", "lines": [{"description": "A", "unit_price": "1", "quantity": 0}]}"#, "lines"),
                (#"{"buyer_id": "\#(buyer)", "lines": [{"description": "A", "unit_price": "1", "colour": "red"}]}"#, "lines"),
                (#"{"buyer_id": "\#(buyer)", "lines": "two glasses"}"#, "lines"),
                (#"{"buyer_id": "\#(buyer)", "amount": "1", "channel": "carrier_pigeon"}"#, "channel"),
                (#"{"buyer_id": "\#(buyer)", "amount": "1", "purchase_type": "compulsive"}"#, "purchase_type"),
                (#"{"buyer_id": "\#(buyer)", "amount": "1", "purchased_on": "2024-02-30"}"#, "purchased_on"),
                (#"{"buyer_id": "\#(buyer)", "amount": "1", "consumer_ids": ["nope"]}"#, "consumer_ids"),
                (#"{"buyer_id": "\#(buyer)", "amount": "1", "consumer_ids": ["\#(UUID())"]}"#, "consumer_ids"),
                (#"{"buyer_id": "\#(UUID())", "amount": "1"}"#, "buyer_id"),
                (#"{"buyer_id": "\#(buyer)", "payer_id": "\#(UUID())", "amount": "1"}"#, "payer_id"),
                (#"{"buyer_id": "\#(buyer)", "amount": "1", "id": "\#(UUID())"}"#, "id"),
                (#"{"buyer_id": "\#(buyer)", "amount": "1", "discount": "5"}"#, "discount"),
            ]
            for (body, field) in refused {
                try await client.expectInvalid(.post, "/v1/purchases", key: key, body, field: field)
            }
            let list = try await client.call(.get, "/v1/purchases?client_id=\(buyer)", key: key)
            #expect((list.json["items"] as? [Any])?.isEmpty == true)  // nothing was written
            #expect(try await client.call(.get, "/v1/purchases/not-a-uuid", key: key).status == .badRequest)

            let purchase = try await client.create("/v1/purchases", key: key, #"{"buyer_id": "\#(buyer)", "amount": "5"}"#)
            let path = "/v1/purchases/\(purchase["id"] as? String ?? "")"
            try await client.expectInvalid(.patch, path, key: key, #"{"buyer_id": null}"#, field: "buyer_id")
            try await client.expectInvalid(.patch, path, key: key, #"{"amount": null}"#, field: "amount")
            try await client.expectInvalid(.patch, path, key: key, #"{"created_at": "2024-01-01T00:00:00Z"}"#, field: "created_at")
        }
    }

    @Test("the buyer's first and last purchase dates follow every insert, change and delete")
    func firstAndLastPurchase() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            let other = try await client.newClient(key: key)
            @Sendable func dates(_ id: String) async throws -> [String?] {
                let rows = try await harness.sql([
                    "SELECT first_purchase_on::text, last_purchase_on::text FROM clients WHERE id = \(UUID(uuidString: id)!)",
                ])
                return [try rows[0][0].decode(String?.self, at: 0), try rows[0][0].decode(String?.self, at: 1)]
            }
            #expect(try await dates(buyer) == [nil, nil])
            let march = try await client.create("/v1/purchases", key: key,
                #"{"buyer_id": "\#(buyer)", "amount": "10", "purchased_on": "2024-03-10"}"#)
            #expect(try await dates(buyer) == ["2024-03-10", "2024-03-10"])
            let december = try await client.create("/v1/purchases", key: key,
                #"{"buyer_id": "\#(buyer)", "amount": "10", "purchased_on": "2023-12-01"}"#)
            #expect(try await dates(buyer) == ["2023-12-01", "2024-03-10"])

            let decemberPath = "/v1/purchases/\(december["id"] as? String ?? "")"
            _ = try await client.call(.patch, decemberPath, key: key, json: #"{"purchased_on": "2024-05-01"}"#)
            #expect(try await dates(buyer) == ["2024-03-10", "2024-05-01"])

            // Moving a purchase to another buyer moves its date with it.
            _ = try await client.call(.patch, decemberPath, key: key, json: #"{"buyer_id": "\#(other)"}"#)
            #expect(try await dates(buyer) == ["2024-03-10", "2024-03-10"])
            #expect(try await dates(other) == ["2024-05-01", "2024-05-01"])

            _ = try await client.call(.delete, "/v1/purchases/\(march["id"] as? String ?? "")", key: key)
            #expect(try await dates(buyer) == [nil, nil])
        }
    }

    @Test("purchases written at once for one buyer all count in its last purchase date")
    func concurrentPurchases() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for day in 1...8 {
                    group.addTask {
                        let response = try await client.call(.post, "/v1/purchases", key: key,
                            json: #"{"buyer_id": "\#(buyer)", "amount": "1", "purchased_on": "2024-06-0\#(day)"}"#)
                        #expect(response.status == .created)
                    }
                }
                try await group.waitForAll()
            }
            let rows = try await harness.sql([
                "SELECT first_purchase_on::text, last_purchase_on::text FROM clients WHERE id = \(UUID(uuidString: buyer)!)",
            ])
            #expect(try rows[0][0].decode(String.self, at: 0) == "2024-06-01")
            #expect(try rows[0][0].decode(String.self, at: 1) == "2024-06-08")
        }
    }

    @Test("deleting a payer's record keeps the purchase, paid by its buyer; deleting the buyer deletes it")
    func deletedClients() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            let payer = try await client.newClient(key: key, #"{"kind": "business", "organisation_name": "Mutuelle"}"#)
            let consumer = try await client.newClient(key: key)
            let purchase = try await client.create("/v1/purchases", key: key,
                #"{"buyer_id": "\#(buyer)", "payer_id": "\#(payer)", "consumer_ids": ["\#(consumer)"], "amount": "10"}"#)
            let path = "/v1/purchases/\(purchase["id"] as? String ?? "")"
            #expect(try await client.call(.delete, "/v1/clients/\(payer)", key: key).status == .noContent)
            #expect(try await client.call(.delete, "/v1/clients/\(consumer)", key: key).status == .noContent)
            let kept = try await client.call(.get, path, key: key)
            #expect(kept.json["payer_id"] as? String == buyer)
            #expect((kept.json["consumer_ids"] as? [Any])?.isEmpty == true)
            #expect(try await client.call(.delete, "/v1/clients/\(buyer)", key: key).status == .noContent)
            #expect(try await client.call(.get, path, key: key).status == .notFound)
        }
    }

    @Test("an external_ref is used once (409)")
    func externalRefOnce() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let buyer = try await client.newClient(key: key)
            _ = try await client.create("/v1/purchases", key: key, #"{"buyer_id": "\#(buyer)", "amount": "1", "external_ref": "T-1"}"#)
            let again = try await client.call(.post, "/v1/purchases", key: key,
                                              json: #"{"buyer_id": "\#(buyer)", "amount": "2", "external_ref": "T-1"}"#)
            #expect(again.status == .conflict)
            #expect(again.problem?["field"] as? String == "external_ref")
        }
    }

    @Test("another tenant can neither read nor name tenant A's purchases and clients")
    func crossTenant() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let buyerA = try await client.newClient(key: keyA)
            let purchase = try await client.create("/v1/purchases", key: keyA, #"{"buyer_id": "\#(buyerA)", "amount": "10"}"#)
            let path = "/v1/purchases/\(purchase["id"] as? String ?? "")"
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, #"{"note": "mine"}"#), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                #expect(try await client.call(method, path, key: keyB, json: body).status == .notFound, "\(method)")
            }
            let listB = try await client.call(.get, "/v1/purchases?client_id=\(buyerA)", key: keyB)
            #expect((listB.json["items"] as? [Any])?.isEmpty == true)

            let buyerB = try await client.newClient(key: keyB)
            try await client.expectInvalid(.post, "/v1/purchases", key: keyB, #"{"buyer_id": "\#(buyerA)", "amount": "1"}"#, field: "buyer_id")
            try await client.expectInvalid(.post, "/v1/purchases", key: keyB,
                #"{"buyer_id": "\#(buyerB)", "consumer_ids": ["\#(buyerA)"], "amount": "1"}"#, field: "consumer_ids")
            // A's purchase is untouched.
            #expect(try await client.call(.get, path, key: keyA).json["note"] is NSNull)
        }
    }
}
