import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Tenancy
import Testing
import TestSupport

/// Who reaches the analytics, how their parameters are checked, and the tenant's settings.
@Suite("Analytics: access, parameters, settings")
struct AnalyticsAccessTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    static let reports = ["pareto", "market-share", "seniority", "acquisition", "difficult-clients", "conquest-retention",
                          "rfm", "personas", "commercial-effort", "settings"]

    @Test("owners, admins and managers run every report; agents and viewers get 403", arguments: AccessRole.allCases)
    func roles(role: AccessRole) async throws {
        let (_, key) = try await harness.member(role)
        try await harness.test { client in
            for report in Self.reports {
                let response = try await client.call(.get, "/v1/analytics/\(report)", key: key)
                if [.owner, .admin, .manager].contains(role) {
                    #expect(response.status == .ok, "\(role) \(report): \(response.text)")
                    #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                } else {
                    #expect(response.status == .forbidden, "\(role) \(report)")
                    #expect(response.problem?["type"] as? String == "/problems/forbidden")
                }
            }
            let patch = try await client.call(.patch, "/v1/analytics/settings", key: key, json: #"{"loyalty_years": 2}"#)
            #expect(patch.status == ([.owner, .admin, .manager].contains(role) ? .ok : .forbidden), "\(role)")
        }
    }

    @Test("every report of an empty tenant answers, with the period it covers")
    func emptyTenant() async throws {
        let key = harness.keyB
        try await harness.test { client in
            for report in Self.reports.filter({ $0 != "settings" && $0 != "market-share" }) {
                let body = try await client.report("/v1/analytics/\(report)?from=2024-01-01&to=2024-12-31", key: key)
                #expect(body.text("to") == "2024-12-31", "\(report)")
            }
            // Default: the last 12 months up to today (UTC).
            let pareto = try await client.report("/v1/analytics/pareto", key: key)
            let today = ISO8601DateFormatter().string(from: Date()).prefix(10)
            #expect(pareto.text("to") == String(today))
        }
    }

    @Test("bad parameters are a 400 naming the parameter")
    func badParameters() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let refused: [(String, String)] = [
                ("pareto?year=2024", "year"),
                ("pareto?points=1", "points"),
                ("pareto?points=abc", "points"),
                ("pareto?from=2024-13-01", "from"),
                ("pareto?from=2024-06-01&to=2024-05-31", "from"),
                ("seniority?to=yesterday", "to"),
                ("difficult-clients?limit=0", "limit"),
                ("difficult-clients?limit=501", "limit"),
                ("rfm?segment=whales", "segment"),
                ("personas?count=11", "count"),
                ("commercial-effort?visits=-1", "visits"),
                ("market-share?from=2024-06-01&to=2024-01-01", "from"),
                ("settings?x=1", "x"),
            ]
            for (path, field) in refused {
                let response = try await client.call(.get, "/v1/analytics/\(path)", key: key)
                #expect(response.status == .badRequest, "\(path): \(response.status.code) \(response.text)")
                #expect(response.problem?["field"] as? String == field, "\(path): \(response.text)")
            }
        }
    }

    @Test("settings have defaults, change field by field with checks, and every change is audited")
    func settings() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let defaults = try await client.report("/v1/analytics/settings", key: key)
            #expect(defaults.int("loyalty_years") == 3)
            #expect(defaults.number("pareto_warning_share") == 0.2)
            #expect(defaults.number("margin_rate_when_unknown") == 0.3)
            #expect(defaults.text("cost_per_complaint") == "20.00")
            #expect(defaults.text("cost_per_dispute") == "150.00")
            #expect(defaults.text("cost_per_handling_hour") == "40.00")
            #expect(defaults.text("cost_per_late_payment") == "10.00")
            #expect(defaults.text("cost_per_failed_payment") == "50.00")
            #expect(defaults.text("cost_per_contact") == "5.00")

            let changed = try await client.call(.patch, "/v1/analytics/settings", key: key,
                                                json: #"{"loyalty_years": 2, "pareto_warning_share": 0.35, "cost_per_contact": "7.50"}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.json["loyalty_years"] as? Int == 2)
            #expect((changed.json["pareto_warning_share"] as? NSNumber)?.doubleValue == 0.35)
            #expect(changed.json["cost_per_contact"] as? String == "7.50")
            #expect(changed.json["cost_per_dispute"] as? String == "150.00")

            let refused: [(String, String)] = [
                (#"{"loyalty_years": 0}"#, "loyalty_years"),
                (#"{"loyalty_years": "three"}"#, "loyalty_years"),
                (#"{"pareto_warning_share": 1.5}"#, "pareto_warning_share"),
                (#"{"pareto_warning_share": 0}"#, "pareto_warning_share"),
                (#"{"pareto_warning_share": "0.12345"}"#, "pareto_warning_share"),
                (#"{"margin_rate_when_unknown": null}"#, "margin_rate_when_unknown"),
                (#"{"cost_per_complaint": -1}"#, "cost_per_complaint"),
                (#"{"cost_per_contact": null}"#, "cost_per_contact"),
                (#"{"updated_at": "2024-01-01T00:00:00Z"}"#, "updated_at"),
                (#"{"loyalty": 3}"#, "loyalty"),
            ]
            for (body, field) in refused {
                try await client.expectInvalid(.patch, "/v1/analytics/settings", key: key, body, field: field)
            }
            #expect(try await client.report("/v1/analytics/settings", key: key).int("loyalty_years") == 2)
            // Tenant B keeps its own settings.
            #expect(try await client.report("/v1/analytics/settings", key: harness.keyB).int("loyalty_years") == 3)

            let audit = try await harness.audit("analytics_settings", "settings")
            #expect(audit.map(\.0) == ["update"])
            #expect(audit.first?.1.contains("cost_per_contact") == true)
            #expect(audit.first?.1.contains("cost_per_dispute") == false)
        }
    }
}
