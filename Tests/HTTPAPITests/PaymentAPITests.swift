import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Payments: due date, paid date, amount, means, incidents (late, rejected, litigation).
@Suite("Payments")
struct PaymentAPITests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("a payment paid after its due date is late by itself; paid on time it is not")
    func lateAutomatically() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let customer = try await client.newClient(key: key)
            let payment = try await client.create("/v1/payments", key: key,
                #"{"client_id": "\#(customer)", "amount": "80.00", "due_on": "2024-01-31", "means": "transfer"}"#)
            let path = "/v1/payments/\(payment["id"] as? String ?? "")"
            #expect(payment["incident"] as? String == "none")
            #expect(payment["paid_on"] is NSNull)
            #expect(payment["amount"] as? String == "80.00")

            let late = try await client.call(.patch, path, key: key, json: #"{"paid_on": "2024-02-12"}"#)
            #expect(late.json["incident"] as? String == "late", "\(late.text)")
            #expect(late.json["incident_on"] is NSNull)
            // A correction of the date takes the lateness away.
            let onTime = try await client.call(.patch, path, key: key, json: #"{"paid_on": "2024-01-30"}"#)
            #expect(onTime.json["incident"] as? String == "none")
            // "none" on a late payment stays late: the dates say otherwise.
            let stillLate = try await client.call(.patch, path, key: key, json: #"{"paid_on": "2024-02-02", "incident": "none"}"#)
            #expect(stillLate.json["incident"] as? String == "late")

            let lateList = try await client.call(.get, "/v1/payments?client_id=\(customer)&incident=late", key: key)
            #expect((lateList.json["items"] as? [Any])?.count == 1)
            let unpaid = try await client.call(.get, "/v1/payments?client_id=\(customer)&paid=false", key: key)
            #expect((unpaid.json["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a rejected payment or a litigation is kept whatever the dates, with the date it happened")
    func worseIncidents() async throws {
        let key = harness.keyA
        let harness = harness
        try await harness.test { client in
            let customer = try await client.newClient(key: key)
            let payment = try await client.create("/v1/payments", key: key, """
                {"client_id": "\(customer)", "amount": "120.50", "due_on": "2024-03-01", "paid_on": "2024-03-20",
                 "means": "cheque", "incident": "rejected", "incident_on": "2024-03-25", "incident_note": "cheque bounced"}
                """)
            let id = try #require(payment["id"] as? String)
            #expect(payment["incident"] as? String == "rejected")
            #expect(payment["incident_on"] as? String == "2024-03-25")

            // Without a date, the incident is dated today.
            let litigation = try await client.call(.patch, "/v1/payments/\(id)", key: key,
                                                   json: #"{"incident": "litigation", "incident_on": null}"#)
            #expect(litigation.json["incident_on"] as? String == ISO8601DateFormatter().string(from: Date()).prefix(10).description)
            // Back to no incident: late again by its dates, and undated.
            let settled = try await client.call(.patch, "/v1/payments/\(id)", key: key, json: #"{"incident": null}"#)
            #expect(settled.json["incident"] as? String == "late")
            #expect(settled.json["incident_on"] is NSNull)

            #expect(try await client.call(.delete, "/v1/payments/\(id)", key: key).status == .noContent)
            #expect(try await harness.audit("payment", id).map(\.0) == ["create", "update", "update", "delete"])
        }
    }

    @Test("bad input is a 422 naming the field")
    func validation() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let customer = try await client.newClient(key: key)
            let refused: [(String, String)] = [
                (#"{"amount": "10", "due_on": "2024-01-01"}"#, "client_id"),
                (#"{"client_id": "\#(customer)", "due_on": "2024-01-01"}"#, "amount"),
                (#"{"client_id": "\#(customer)", "amount": "10"}"#, "due_on"),
                (#"{"client_id": "\#(customer)", "amount": "0", "due_on": "2024-01-01"}"#, "amount"),
                (#"{"client_id": "\#(customer)", "amount": "10.001", "due_on": "2024-01-01"}"#, "amount"),
                (#"{"client_id": "\#(customer)", "amount": "10", "due_on": "2024-01-01", "means": "bitcoin"}"#, "means"),
                (#"{"client_id": "\#(customer)", "amount": "10", "due_on": "2024-01-01", "incident": "fraud"}"#, "incident"),
                (#"{"client_id": "\#(customer)", "amount": "10", "due_on": "2024-01-01", "incident_on": "2024-01-05"}"#, "incident_on"),
            ]
            for (body, field) in refused {
                try await client.expectInvalid(.post, "/v1/payments", key: key, body, field: field)
            }
            // Paid on the spot: due when paid.
            let cash = try await client.create("/v1/payments", key: key,
                #"{"client_id": "\#(customer)", "amount": 15, "paid_on": "2024-01-05", "means": "cash"}"#)
            #expect(cash["due_on"] as? String == "2024-01-05")
            #expect(cash["incident"] as? String == "none")
        }
    }

    @Test("another tenant can neither read tenant A's payments nor record one for A's client")
    func crossTenant() async throws {
        let (keyA, keyB) = (harness.keyA, harness.keyB)
        try await harness.test { client in
            let customer = try await client.newClient(key: keyA)
            let payment = try await client.create("/v1/payments", key: keyA,
                #"{"client_id": "\#(customer)", "amount": "10", "due_on": "2024-01-01"}"#)
            let path = "/v1/payments/\(payment["id"] as? String ?? "")"
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, #"{"paid_on": "2024-01-01"}"#), (.delete, nil)] as [(HTTPRequest.Method, String?)] {
                #expect(try await client.call(method, path, key: keyB, json: body).status == .notFound, "\(method)")
            }
            try await client.expectInvalid(.post, "/v1/payments", key: keyB,
                #"{"client_id": "\#(customer)", "amount": "10", "due_on": "2024-01-01"}"#, field: "client_id")
        }
    }
}
