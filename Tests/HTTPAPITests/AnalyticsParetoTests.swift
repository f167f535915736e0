import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Pareto: how concentrated revenue and margin are, and the warning when one client weighs
/// too much.
@Suite("Analytics: Pareto")
struct AnalyticsParetoTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("ten clients spending 100 to 1000: the top 20% make 34.55%, the Lorenz curve and Gini follow")
    func concentration() async throws {
        let key = harness.keyA
        try await harness.test { client in
            for index in 1...10 {
                let buyer = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Client \#(index)"}"#)
                try await client.buy(buyer, key: key, amount: "\(index * 100)", margin: "\(index * 10)",
                                     on: "2024-0\(index % 9 + 1)-15")
                if index == 10 {
                    // Outside the period: not counted.
                    try await client.buy(buyer, key: key, amount: "5000", on: "2023-12-31")
                }
            }
            let report = try await client.report("/v1/analytics/pareto?from=2024-01-01&to=2024-12-31&points=11", key: key)
            #expect(report.text("from") == "2024-01-01")
            let revenue = report.object("revenue")
            #expect(revenue.text("total") == "5500.00")
            #expect(revenue.int("clients") == 10)
            // (1000 + 900) / 5500
            #expect(revenue.number("top_20_percent_share") == 0.3455)
            // 1000 + 900 + ... + 500 = 4500 ≥ 80% of 5500: 6 clients of 10.
            #expect(revenue.number("clients_share_for_80_percent") == 0.6)
            #expect(revenue.number("largest_client_share") == 0.1818)
            #expect(revenue.number("gini") == 0.3)
            let lorenz = revenue.list("lorenz")
            #expect(lorenz.count == 11)
            #expect(lorenz.map { $0.number("clients_share") } == [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
            // The poorest half: (100 + ... + 500) / 5500.
            #expect(lorenz[5].number("share") == 0.2727)
            #expect(lorenz[10].number("share") == 1)
            // Margins are a tenth of each amount: the same shares.
            #expect(report.object("margin").text("total") == "550.00")
            #expect(report.object("margin").number("top_20_percent_share") == 0.3455)
            // Nobody above the default 20%.
            #expect(report["warning"] as? Bool == false)
            #expect(revenue.list("over_warning_share").isEmpty)

            // Default: 21 points.
            let defaults = try await client.report("/v1/analytics/pareto?from=2024-01-01&to=2024-12-31", key: key)
            #expect(defaults.object("revenue").list("lorenz").count == 21)
        }
    }

    @Test("a client above the tenant's warning share is named; an unknown margin counts 30% of the amount")
    func warning() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let big = try await client.newClient(key: key, #"{"kind": "business", "organisation_name": "Gros Client SA"}"#)
            let small = try await client.newClient(key: key)
            try await client.buy(big, key: key, amount: "1000", on: "2024-03-01")
            try await client.buy(small, key: key, amount: "4000", margin: "200", on: "2024-03-01")
            let patched = try await client.call(.patch, "/v1/analytics/settings", key: key, json: #"{"pareto_warning_share": "0.15"}"#)
            #expect(patched.status == .ok, "\(patched.text)")

            let report = try await client.report("/v1/analytics/pareto?from=2024-01-01&to=2024-12-31", key: key)
            #expect(report["warning"] as? Bool == true)
            #expect(report.number("warning_share") == 0.15)
            // Revenue: both clients weigh more than 15% (4000 and 1000 of 5000), biggest first.
            let revenue = report.object("revenue").list("over_warning_share")
            #expect(revenue.map { $0.text("name") } == ["Martin", "Gros Client SA"])
            #expect(revenue.map { $0.number("share") } == [0.8, 0.2])
            // Margin: 300 (30% of 1000, unknown) against 200.
            let margin = report.object("margin")
            #expect(margin.text("total") == "500.00")
            let heavy = margin.list("over_warning_share")
            #expect(heavy.first?.text("client_id") == big)
            #expect(heavy.first?.text("amount") == "300.00")
            #expect(heavy.first?.number("share") == 0.6)
        }
    }

    @Test("another tenant's purchases count for nothing")
    func isolation() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let buyer = try await client.newClient(key: keyA)
            try await client.buy(buyer, key: keyA, amount: "100", on: "2024-03-01")
            let report = try await client.report("/v1/analytics/pareto?from=2024-01-01&to=2024-12-31", key: keyB)
            #expect(report.object("revenue").int("clients") == 0)
            #expect(report.object("revenue").text("total") == "0.00")
            #expect(report.object("revenue").list("lorenz").allSatisfy { $0.number("share") == 0 })
        }
    }
}
