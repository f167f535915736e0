import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Seniority, acquisition, difficult clients and conquest against retention, each on a small
/// data set whose figures are worked out by hand in the comments.
@Suite("Analytics: seniority, acquisition, difficult clients, conquest and retention")
struct AnalyticsClientBaseTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("cohorts by year of first purchase keep buying or not; tiers by full years against loyalty_years")
    func seniority() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let (s1, s2, s3, s4) = (try await client.newClient(key: key), try await client.newClient(key: key),
                                    try await client.newClient(key: key), try await client.newClient(key: key))
            for date in ["2021-03-01", "2022-05-01", "2024-02-01"] { try await client.buy(s1, key: key, amount: "10", on: date) }
            try await client.buy(s2, key: key, amount: "10", on: "2021-06-01")
            for date in ["2022-01-10", "2023-01-10"] { try await client.buy(s3, key: key, amount: "10", on: date) }
            try await client.buy(s4, key: key, amount: "10", on: "2024-03-01")

            let report = try await client.report("/v1/analytics/seniority?to=2024-12-31", key: key)
            #expect(report.int("clients") == 4)
            let cohorts = report.list("cohorts")
            #expect(cohorts.map { $0.int("year") } == [2021, 2022, 2024])
            #expect(cohorts.map { $0.int("clients") } == [2, 1, 1])
            let first = cohorts[0].list("retention")
            #expect(first.map { $0.int("year") } == [2021, 2022, 2023, 2024])
            #expect(first.map { $0.int("active_clients") } == [2, 1, 0, 1])
            #expect(first.map { $0.number("retention") } == [1, 0.5, 0, 0.5])
            #expect(cohorts[1].list("retention").map { $0.int("active_clients") } == [1, 1, 0])

            // At 2024-12-31 with N = 3: s1 and s2 have 3 full years, s3 2 (joins next year), s4 none.
            let tiers = report.list("tiers")
            #expect(tiers.map { $0.text("tier") } == ["new", "established", "inner_circle"])
            #expect(tiers.map { $0.int("clients") } == [1, 1, 2])
            #expect(tiers.map { $0.number("share") } == [0.25, 0.25, 0.5])
            #expect(report.int("joining_inner_circle_within_a_year") == 1)

            _ = try await client.call(.patch, "/v1/analytics/settings", key: key, json: #"{"loyalty_years": 4}"#)
            let later = try await client.report("/v1/analytics/seniority?to=2024-12-31", key: key)
            #expect(later.list("tiers").map { $0.int("clients") } == [1, 3, 0])
            #expect(later.int("joining_inner_circle_within_a_year") == 2)
        }
    }

    @Test("a cohort of more than 63 years keeps every year it bought in, on both sides of the 63rd")
    func seniorityOfAnOldCohort() async throws {
        let key = harness.keyA
        try await harness.test { client in
            // The years bought within 63 of `to` are counted from bits of one number, older ones
            // one by one: 1960 is on one side of that line, 1961 on the other.
            let old = try await client.newClient(key: key)
            for date in ["1958-06-01", "1960-12-31", "1961-01-01", "2024-01-01"] {
                try await client.buy(old, key: key, amount: "10", on: date)
            }
            let report = try await client.report("/v1/analytics/seniority?to=2024-12-31", key: key)
            let cohort = try #require(report.list("cohorts").first)
            #expect(cohort.int("year") == 1958)
            let retention = cohort.list("retention")
            #expect(retention.count == 2024 - 1958 + 1)
            let active = retention.filter { $0.int("active_clients") == 1 }.map { $0.int("year") }
            #expect(active == [1958, 1960, 1961, 2024])
        }
    }

    @Test("cost per client by channel against the months of margin that pay it back")
    func acquisition() async throws {
        let key = harness.keyA
        try await harness.test { client in
            func acquired(_ channel: String?, _ cost: String?) async throws -> String {
                var fields = [#""kind": "individual""#, #""last_name": "Acquis""#]
                if let channel { fields.append(#""acquisition_channel": "\#(channel)""#) }
                if let cost { fields.append(#""acquisition_cost": "\#(cost)""#) }
                return try await client.newClient(key: key, "{" + fields.joined(separator: ", ") + "}")
            }
            // 12 months (January to December) of a 240 margin: 20 a month; paid back. A purchase
            // after `to` counts for nothing.
            let early = try await acquired("web", "120")
            try await client.buy(early, key: key, amount: "1000", margin: "240", on: "2024-01-15")
            try await client.buy(early, key: key, amount: "500", margin: "100", on: "2025-02-01")
            // 6 months of a 30 margin: 5 a month; not paid back.
            try await client.buy(try await acquired("web", "60"), key: key, amount: "100", margin: "30", on: "2024-07-01")
            // 3 months of 60: 20 a month, for a cost of 300.
            try await client.buy(try await acquired("salon", "300"), key: key, amount: "200", margin: "60", on: "2024-10-01")
            try await client.buy(try await acquired(nil, nil), key: key, amount: "50", margin: "10", on: "2024-12-01")

            let report = try await client.report("/v1/analytics/acquisition?to=2024-12-31", key: key)
            let channels = report.list("channels")
            #expect(channels.map { $0.text("channel") } == ["web", "salon", nil])
            let web = channels[0]
            #expect(web.int("clients") == 2)
            #expect(web.text("total_cost") == "180.00")
            #expect(web.text("cost_per_client") == "90.00")
            #expect(web.text("margin") == "270.00")
            #expect(web.text("monthly_margin_per_client") == "12.50")
            // 90 / 12.50
            #expect(web.number("payback_months") == 7.2)
            #expect(web.int("paid_back_clients") == 1)
            #expect(channels[1].number("payback_months") == 15)
            #expect(channels[2]["cost_per_client"] is NSNull)
            #expect(channels[2]["payback_months"] is NSNull)

            // Acquired from October only: the salon client and the unknown one.
            let recent = try await client.report("/v1/analytics/acquisition?from=2024-10-01&to=2024-12-31", key: key)
            #expect(recent.list("channels").map { $0.int("clients") } == [1, 1])
        }
    }

    @Test("complaints, disputes, payment incidents and contacts cost more than some clients bring")
    func difficultClients() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let d1 = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Chicaneur"}"#)
            let d2 = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Fidèle"}"#)
            let d3 = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Râleur"}"#)
            // Margin unknown: 30% of 200 = 60.
            try await client.buy(d1, key: key, amount: "200", on: "2024-02-01")
            // A dispute handled in 90 minutes: 20 + 150 + 1.5 × 40 = 230.
            _ = try await client.create("/v1/complaints", key: key, """
                {"client_id": "\(d1)", "opened_on": "2024-03-01", "category": "product_quality", "status": "disputed", "handling_minutes": 90}
                """)
            // A late payment (10) and a rejected one (50).
            _ = try await client.create("/v1/payments", key: key,
                #"{"client_id": "\#(d1)", "amount": "200", "due_on": "2024-03-01", "paid_on": "2024-04-01"}"#)
            _ = try await client.create("/v1/payments", key: key, """
                {"client_id": "\(d1)", "amount": "50", "due_on": "2024-04-01", "incident": "rejected", "incident_on": "2024-04-10"}
                """)
            // Two contacts: 10. Cost to serve 300, net contribution 60 − 300 = −240.
            for day in ["2024-05-01T10:00:00Z", "2024-06-01T10:00:00+02:00"] {
                _ = try await client.create("/v1/interactions", key: key,
                    #"{"client_id": "\#(d1)", "occurred_at": "\#(day)", "channel": "visit", "subject": "réclamation"}"#)
            }
            // A good client: margin 400, one contact (5): +395; a complaint of 2023 is outside the period.
            try await client.buy(d2, key: key, amount: "1000", margin: "400", on: "2024-02-01")
            _ = try await client.create("/v1/interactions", key: key,
                #"{"client_id": "\#(d2)", "occurred_at": "2024-05-01T10:00:00Z", "channel": "phone", "subject": "suivi"}"#)
            _ = try await client.create("/v1/complaints", key: key,
                #"{"client_id": "\#(d2)", "opened_on": "2023-12-31", "category": "delivery"}"#)
            // No purchase, one complaint: −20.
            _ = try await client.create("/v1/complaints", key: key,
                #"{"client_id": "\#(d3)", "opened_on": "2024-12-31", "category": "service"}"#)

            // Sold at a loss, nothing else: −30, and a cost to serve of 0.00.
            let d4 = try await client.newClient(key: key, #"{"kind": "individual", "last_name": "Bradé"}"#)
            try await client.buy(d4, key: key, amount: "100", margin: "-30", on: "2024-07-01")

            let report = try await client.report("/v1/analytics/difficult-clients?from=2024-01-01&to=2024-12-31", key: key)
            #expect(report.int("clients_served") == 4)
            #expect(report.text("revenue") == "1300.00")
            #expect(report.text("margin") == "430.00")
            #expect(report.text("cost_to_serve") == "325.00")
            #expect(report.text("net_contribution") == "105.00")
            #expect(report.int("negative_clients") == 3)
            #expect(report.text("negative_contribution") == "-290.00")
            let clients = report.list("clients")
            #expect(clients.map { $0.text("client_id") } == [d1, d4, d3])
            #expect(clients[1].text("cost_to_serve") == "0.00")
            #expect(clients[1].text("net_contribution") == "-30.00")
            #expect(clients[1].int("complaints") == 0)
            let worst = clients[0]
            #expect(worst.text("name") == "Chicaneur")
            #expect(worst.text("margin") == "60.00")
            #expect(worst.int("complaints") == 1)
            #expect(worst.int("disputes") == 1)
            #expect(worst.int("handling_minutes") == 90)
            #expect(worst.int("late_payments") == 1)
            #expect(worst.int("failed_payments") == 1)
            #expect(worst.int("contacts") == 2)
            #expect(worst.text("cost_to_serve") == "300.00")
            #expect(worst.text("net_contribution") == "-240.00")
            #expect(try await client.report("/v1/analytics/difficult-clients?from=2024-01-01&to=2024-12-31&limit=1", key: key)
                .list("clients").count == 1)

            // Contacts free of charge: the first client still costs 290.
            _ = try await client.call(.patch, "/v1/analytics/settings", key: key, json: #"{"cost_per_contact": 0}"#)
            let cheaper = try await client.report("/v1/analytics/difficult-clients?from=2024-01-01&to=2024-12-31", key: key)
            #expect(cheaper.list("clients").first?.text("cost_to_serve") == "290.00")
        }
    }

    @Test("revenue and contacts of new against existing clients, and the retention of last year's buyers")
    func conquestRetention() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let existing = try await client.newClient(key: key)
            try await client.buy(existing, key: key, amount: "100", on: "2023-06-01")
            try await client.buy(existing, key: key, amount: "300", margin: "90", on: "2024-06-01")
            let lost = try await client.newClient(key: key)
            try await client.buy(lost, key: key, amount: "100", on: "2023-03-01")
            let new = try await client.newClient(key: key)
            try await client.buy(new, key: key, amount: "500", margin: "100", on: "2024-04-01")
            let prospect = try await client.newClient(key: key)
            for (who, count) in [(existing, 2), (new, 1), (prospect, 3)] {
                for _ in 0..<count {
                    _ = try await client.create("/v1/interactions", key: key,
                        #"{"client_id": "\#(who)", "occurred_at": "2024-09-01T09:00:00Z", "channel": "phone", "subject": "offre"}"#)
                }
            }

            let report = try await client.report("/v1/analytics/conquest-retention?from=2024-01-01&to=2024-12-31", key: key)
            #expect(report.text("previous_from") == "2023-01-01")
            #expect(report.text("previous_to") == "2023-12-31")
            let groups = report.list("groups")
            #expect(groups.map { $0.text("segment") } == ["new", "existing", "not_buying"])
            #expect(groups.map { $0.int("clients") } == [1, 1, 1])
            #expect(groups.map { $0.text("revenue") } == ["500.00", "300.00", "0.00"])
            #expect(groups.map { $0.text("margin") } == ["100.00", "90.00", "0.00"])
            #expect(groups.map { $0.int("contacts") } == [1, 2, 3])
            #expect(groups.map { $0.number("revenue_share") } == [0.625, 0.375, 0])
            #expect(groups.map { $0.number("contact_share") } == [0.1667, 0.3333, 0.5])
            #expect(groups[1].text("revenue_per_contact") == "150.00")
            // Two bought in 2023, one of them again in 2024.
            #expect(report.int("previous_period_clients") == 2)
            #expect(report.int("retained_clients") == 1)
            #expect(report.number("retention_rate") == 0.5)
        }
    }
}
