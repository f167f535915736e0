import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// RFM segments, personas and the commercial effort suggestion, on data sets whose figures are
/// worked out by hand in the comments.
@Suite("Analytics: RFM, personas, commercial effort")
struct AnalyticsSegmentsTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("RFM quintiles name the segments: champions, loyal, promising, cannot lose, hibernating")
    func rfm() async throws {
        let key = harness.keyA
        try await harness.test { client in
            // Client i buys i times 100 (frequency and monetary rank like i); their last purchases
            // come in this order, oldest first, so recency ranks differently.
            let recencyOrder = [7, 8, 1, 2, 3, 4, 5, 6, 9, 10]
            var ids: [Int: String] = [:]
            for index in 1...10 {
                let id = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "RFM \#(index)"}"#)
                ids[index] = id
                for purchase in 1..<index {
                    try await client.buy(id, key: key, amount: "100", on: "2024-01-0\(purchase)")
                }
                let position = recencyOrder.firstIndex(of: index)!
                try await client.buy(id, key: key, amount: "100", on: "2024-\(String(format: "%02d", position + 2))-15")
            }
            let report = try await client.report("/v1/analytics/rfm?from=2024-01-01&to=2024-12-31", key: key)
            #expect(report.int("clients") == 10)
            let segments = Dictionary(uniqueKeysWithValues: report.list("segments").map { ($0.text("segment") ?? "", $0) })
            #expect(report.list("segments").map { $0.text("segment") }
                    == ["champions", "loyal", "new", "promising", "at_risk", "cannot_lose", "hibernating"])
            // R, F by client: 1-2 (2, 1) hibernating; 3-4 (3, 2) promising; 5-6 (4, 3) loyal;
            // 7-8 (1, 4, M 4) cannot lose; 9-10 (5, 5) champions.
            #expect(segments.mapValues { $0.int("clients") ?? -1 }
                    == ["champions": 2, "loyal": 2, "new": 0, "promising": 2, "at_risk": 0, "cannot_lose": 2, "hibernating": 2])
            #expect(segments["champions"]?.text("revenue") == "1900.00")
            #expect(segments["champions"]?.number("revenue_share") == 0.3455)
            #expect(segments["champions"]?.number("share") == 0.2)
            #expect(segments["hibernating"]?.number("average_frequency") == 1.5)

            let members = try await client.report("/v1/analytics/rfm?from=2024-01-01&to=2024-12-31&segment=cannot_lose", key: key)
            let listed = members.list("members")
            #expect(listed.map { $0.text("client_id") } == [ids[8], ids[7]])
            #expect(listed.map { $0.int("r") } == [1, 1])
            #expect(listed.map { $0.int("f") } == [4, 4])
            #expect(listed.first?.int("frequency") == 8)
            #expect(listed.first?.text("monetary") == "800.00")
            #expect(listed.first?.text("last_purchase_on") == "2024-03-15")
            #expect(listed.first?.int("recency_days") == 291)
            #expect(try await client.report("/v1/analytics/rfm?from=2024-01-01&to=2024-12-31", key: key).list("members").isEmpty)
        }
    }

    @Test("personas group buyers by kind, age band, category and spend band, the largest groups first")
    func personas() async throws {
        let key = harness.keyA
        try await harness.test { client in
            func individual(_ birth: String?, _ motivations: String) async throws -> String {
                let birthField = birth.map { #", "birth_date": "\#($0)""# } ?? ""
                return try await client.newClient(key: key, """
                    {"kind": "individual", "last_name": "P", "category": "actual_client", "motivations": \(motivations)\(birthField)}
                    """)
            }
            // Spend terciles over 6 buyers: 50 and 100 low, 200 and 300 medium, 1000 and 2000 high.
            try await client.buy(try await individual("1985-05-01", #"["hedonistic"]"#), key: key, amount: "100", on: "2024-02-01")
            try await client.buy(try await individual("1985-05-01", #"["hedonistic"]"#), key: key, amount: "200", on: "2024-02-01")
            try await client.buy(try await individual("1980-05-01", #"["oblative"]"#), key: key, amount: "300", on: "2024-02-01")
            try await client.buy(try await individual(nil, "[]"), key: key, amount: "50", on: "2024-02-01")
            for amount in ["1000", "2000"] {
                let business = try await client.newClient(key: key,
                    #"{"kind": "business", "organisation_name": "Garage \#(amount)", "category": "actual_client"}"#)
                try await client.buy(business, key: key, amount: amount, on: "2024-03-01")
            }

            let report = try await client.report("/v1/analytics/personas?from=2024-01-01&to=2024-12-31&count=3", key: key)
            #expect(report.int("clients") == 6)
            let personas = report.list("personas")
            #expect(personas.count == 3)
            #expect(report.number("covered_share") == 0.8333)
            #expect(personas[0].text("name") == "business, organisation, actual_client, high spend")
            #expect(personas[0].int("clients") == 2)
            #expect(personas[0].text("average_spend") == "1500.00")
            #expect(personas[0]["dominant_motivation"] is NSNull)
            let middle = personas[1]
            #expect(middle.text("age_band") == "35_49")
            #expect(middle.text("spend_band") == "medium")
            #expect(middle.number("share") == 0.3333)
            #expect(middle.number("revenue_share") == 0.137)
            #expect(middle.text("average_spend") == "250.00")
            // One hedonistic, one oblative: the tie goes to alphabetical order.
            #expect(middle.text("dominant_motivation") == "hedonistic")
            // Among the one-client groups, the bigger spender comes first.
            #expect(personas[2].text("spend_band") == "low")
            #expect(personas[2].text("age_band") == "35_49")
        }
    }

    @Test("effort goes in proportion to loyalty × potential; visits and offers are shared out in whole numbers")
    func commercialEffort() async throws {
        let key = harness.keyA
        try await harness.test { client in
            // Inner circle (4 years, capped at 3): loyalty 2 × 1000 = 2000.
            let c1 = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Ancien"}"#)
            try await client.buy(c1, key: key, amount: "50", on: "2020-06-01")
            try await client.buy(c1, key: key, amount: "1000", on: "2024-02-01")
            // Established (1 year): loyalty 4/3 × 600 = 800.
            let c2 = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Établi"}"#)
            try await client.buy(c2, key: key, amount: "100", on: "2023-06-01")
            try await client.buy(c2, key: key, amount: "600", on: "2024-05-01")
            // New: loyalty 1 × 1200 = 1200.
            let c3 = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Nouveau"}"#)
            try await client.buy(c3, key: key, amount: "1200", on: "2024-03-01")

            let report = try await client.report(
                "/v1/analytics/commercial-effort?from=2024-01-01&to=2024-12-31&visits=7&offers=10", key: key)
            let tiers = report.list("tiers")
            #expect(tiers.map { $0.text("tier") } == ["new", "established", "inner_circle"])
            #expect(tiers.map { $0.number("share") } == [0.3, 0.2, 0.5])
            // 7 visits: 2.1, 1.4, 3.5 → 2, 1, 3, and the one left to the largest remainder.
            #expect(tiers.map { $0.int("visits") } == [2, 1, 4])
            #expect(tiers.map { $0.int("offers") } == [3, 2, 5])
            let clients = report.list("clients")
            #expect(clients.map { $0.text("client_id") } == [c1, c3, c2])
            #expect(clients.map { $0.number("share") } == [0.5, 0.3, 0.2])
            #expect(clients.map { $0.number("loyalty") } == [2, 1, 1.3333])
            #expect(clients.first?.int("seniority_years") == 4)

            let plain = try await client.report("/v1/analytics/commercial-effort?from=2024-01-01&to=2024-12-31&limit=1", key: key)
            #expect(plain.list("clients").count == 1)
            #expect(plain.list("tiers").allSatisfy { $0["visits"] is NSNull })
        }
    }
}
