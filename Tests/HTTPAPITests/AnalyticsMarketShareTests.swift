import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Market estimates and market share against effective and potential demand.
@Suite("Analytics: market estimates and market share")
struct AnalyticsMarketShareTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("our revenue in the estimate's zone, line and period against effective and potential demand")
    func share() async throws {
        let (key, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let (a, b, c) = (try await client.newClient(key: key), try await client.newClient(key: key), try await client.newClient(key: key))
            let purchase = try await client.call(.get, "/v1/purchases/\(try await client.buy(a, key: key, amount: "1000", on: "2024-03-01", zone: " Lyon ", line: "Lunettes"))", key: key)
            // Labels are kept lowercased and trimmed.
            #expect(purchase.json["market_zone"] as? String == "lyon")
            #expect(purchase.json["product_line"] as? String == "lunettes")
            try await client.buy(b, key: key, amount: "500", on: "2024-05-01", zone: "lyon", line: "lunettes")
            try await client.buy(c, key: key, amount: "700", on: "2024-06-01", zone: "lyon", line: "lentilles")
            try await client.buy(c, key: key, amount: "300", on: "2024-06-01", zone: "paris", line: "lunettes")
            try await client.buy(a, key: key, amount: "400", on: "2023-06-01", zone: "lyon", line: "lunettes")
            try await client.buy(a, key: key, amount: "900", on: "2024-06-01")

            let glasses = try await client.create("/v1/market-estimates", key: key, """
                {"market_zone": "Lyon", "product_line": "Lunettes", "period_start": "2024-01-01", "period_end": "2024-12-31",
                 "effective_demand": "10000", "potential_demand": "25000.00", "effective_consumers": 100,
                 "potential_consumers": 250, "source": "INSEE + chambre de commerce"}
                """)
            #expect(glasses["market_zone"] as? String == "lyon")
            #expect(glasses["effective_demand"] as? String == "10000.00")
            _ = try await client.create("/v1/market-estimates", key: key, """
                {"market_zone": "lyon", "period_start": "2024-01-01", "period_end": "2024-12-31",
                 "effective_demand": 20000, "potential_demand": 40000}
                """)

            let report = try await client.report("/v1/analytics/market-share?zone=lyon", key: key)
            let items = report.list("items")
            #expect(items.count == 2)
            // Every line first: 1000 + 500 + 700 in Lyon in 2024, by 3 clients.
            #expect(items[0].text("product_line") == nil)
            #expect(items[0].text("our_revenue") == "2200.00")
            #expect(items[0].int("our_clients") == 3)
            #expect(items[0].number("share_of_effective_demand") == 0.11)
            #expect(items[0].number("share_of_potential_demand") == 0.055)
            #expect(items[0]["share_of_effective_consumers"] is NSNull)
            // Glasses only: 1000 + 500 by 2 clients.
            #expect(items[1].text("our_revenue") == "1500.00")
            #expect(items[1].number("share_of_effective_demand") == 0.15)
            #expect(items[1].number("share_of_potential_demand") == 0.06)
            #expect(items[1].number("share_of_effective_consumers") == 0.02)
            #expect(items[1].number("share_of_potential_consumers") == 0.008)

            #expect(try await client.report("/v1/analytics/market-share?product_line=lentilles", key: key).list("items").isEmpty)
            #expect(try await client.report("/v1/analytics/market-share?to=2023-12-31", key: key).list("items").isEmpty)
            #expect(try await client.report("/v1/analytics/market-share?limit=1", key: key).list("items").count == 1)
            // Tenant B has no estimate and none of A's purchases.
            #expect(try await client.report("/v1/analytics/market-share", key: keyB).list("items").isEmpty)
        }
    }

    @Test("estimates are created, listed, changed and deleted by managers and above, audited; bad input is a 422")
    func estimates() async throws {
        let key = harness.keyA
        let harness = harness
        let (_, viewerKey) = try await harness.member(.viewer)
        let (_, managerKey) = try await harness.member(.manager)
        try await harness.test { client in
            let valid = #""market_zone": "nice", "period_start": "2024-01-01", "period_end": "2024-12-31""#
            let created = try await client.create("/v1/market-estimates", key: managerKey,
                "{\(valid), \"effective_demand\": \"1000\", \"potential_demand\": \"1500\"}")
            let id = try #require(created["id"] as? String)
            let path = "/v1/market-estimates/\(id)"
            #expect(created["product_line"] is NSNull)
            #expect(created["potential_demand"] as? String == "1500.00")

            let changed = try await client.call(.patch, path, key: key, json: #"{"note": "salon 2024", "potential_demand": "1800.50"}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.json["note"] as? String == "salon 2024")
            #expect(changed.json["potential_demand"] as? String == "1800.50")
            #expect(try await client.call(.get, path, key: key).json["note"] as? String == "salon 2024")
            let list = try await client.call(.get, "/v1/market-estimates?market_zone=Nice", key: key)
            #expect((list.json["items"] as? [Any])?.count == 1)

            let refused: [(String, String)] = [
                (#"{"period_start": "2024-01-01", "period_end": "2024-12-31", "effective_demand": 1, "potential_demand": 1}"#, "market_zone"),
                ("{\(valid), \"potential_demand\": 1}", "effective_demand"),
                ("{\(valid), \"effective_demand\": 0, \"potential_demand\": 1}", "effective_demand"),
                ("{\(valid), \"effective_demand\": 100, \"potential_demand\": 99}", "potential_demand"),
                ("{\(valid), \"effective_demand\": \"1.001\", \"potential_demand\": 99}", "effective_demand"),
                (#"{"market_zone": "nice", "period_start": "2024-02-01", "period_end": "2024-01-31", "effective_demand": 1, "potential_demand": 1}"#, "period_end"),
                ("{\(valid), \"effective_demand\": 1, \"potential_demand\": 1, \"effective_consumers\": 0}", "effective_consumers"),
                ("{\(valid), \"effective_demand\": 1, \"potential_demand\": 1, \"effective_consumers\": 5, \"potential_consumers\": 4}", "potential_consumers"),
                ("{\(valid), \"effective_demand\": 1, \"potential_demand\": 1, \"share\": 3}", "share"),
            ]
            for (body, field) in refused {
                try await client.expectInvalid(.post, "/v1/market-estimates", key: key, body, field: field)
            }
            try await client.expectInvalid(.patch, path, key: key, #"{"market_zone": null}"#, field: "market_zone")

            // Viewers do not reach estimates; another tenant does not see them.
            #expect(try await client.call(.get, "/v1/market-estimates", key: viewerKey).status == .forbidden)
            #expect(try await client.call(.post, "/v1/market-estimates", key: viewerKey,
                                          json: "{\(valid), \"effective_demand\": 1, \"potential_demand\": 1}").status == .forbidden)
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, #"{"note": "x"}"#), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                #expect(try await client.call(method, path, key: harness.keyB, json: body).status == .notFound, "\(method)")
            }
            #expect(try await client.call(.get, "/v1/market-estimates/not-an-id", key: key).status == .badRequest)

            #expect(try await client.call(.delete, path, key: key).status == .noContent)
            #expect(try await client.call(.get, path, key: key).status == .notFound)
            #expect(try await harness.audit("market_estimate", id).map(\.0) == ["create", "update", "delete"])
        }
    }
}
