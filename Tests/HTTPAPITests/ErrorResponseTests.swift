import Foundation
import HTTPTypes
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

/// Every mistake a caller can make gets a problem+json with a 4xx status, never a 500.
@Suite("Error responses")
struct ErrorResponseTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    @Test("bad bodies are refused with the right status and a problem naming the fault")
    func badBodies() async throws {
        let key = harness.keyA
        let cases: [(body: String, status: HTTPResponse.Status, mentions: String)] = [
            ("{not json", .badRequest, "JSON"),
            ("[1, 2]", .unprocessableContent, "JSON object"),
            (#"{"kind": 12, "last_name": "X"}"#, .unprocessableContent, "kind"),
            (#"{"kind": "individual", "last_name": 12}"#, .unprocessableContent, "last_name"),
            (#"{"kind": "person", "last_name": "X"}"#, .unprocessableContent, "individual, business, public_body"),
            (#"{"kind": "individual", "category": "vip", "last_name": "X"}"#, .unprocessableContent, "category"),
            (#"{"kind": "individual", "last_name": "X", "emial": "x@y.fr"}"#, .unprocessableContent, "emial"),
            (#"{"kind": "individual", "last_name": "X", "id": "x"}"#, .unprocessableContent, "read-only"),
            (#"{"last_name": "X"}"#, .unprocessableContent, "kind"),
            (#"{"kind": "business"}"#, .unprocessableContent, "organisation_name"),
            (#"{"kind": "individual", "last_name": "X", "email": "not-an-email"}"#, .unprocessableContent, "email"),
            (#"{"kind": "individual", "last_name": "X", "phone": "call me"}"#, .unprocessableContent, "phone"),
            ("", .badRequest, "empty"),
        ]
        try await harness.test { client in
            for item in cases {
                let response = try await client.call(.post, "/v1/clients", key: key, json: item.body)
                #expect(response.status == item.status, "\(item.body)")
                let problem = try #require(response.problem, "\(item.body): \(response.text)")
                #expect((problem["detail"] as? String)?.contains(item.mentions) == true, "\(item.body): \(problem)")
            }
            // Nothing was written by any of them.
            let list = try await client.call(.get, "/v1/clients", key: key)
            #expect((list.json["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("a body past 64 KiB is refused with 413")
    func oversized() async throws {
        let key = harness.keyA
        let huge = #"{"kind": "individual", "last_name": ""# + String(repeating: "x", count: 70_000) + #""}"#
        try await harness.test { client in
            let response = try await client.call(.post, "/v1/clients", key: key, json: huge)
            #expect(response.status == .contentTooLarge)
            #expect(response.problem != nil)
        }
    }

    @Test("a non-JSON content type is refused with 415")
    func wrongMediaType() async throws {
        let key = harness.keyA
        try await harness.test { client in
            let response = try await client.call(.post, "/v1/clients", key: key, json: "kind=individual",
                                                 headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(response.status == .unsupportedMediaType)
            #expect(response.problem != nil)
        }
    }

    @Test("bad ids and bad query parameters are 400")
    func badIdsAndQueries() async throws {
        let key = harness.keyA
        try await harness.test { client in
            for path in ["/v1/clients/42", "/v1/clients/not-a-uuid", "/v1/clients?limit=0", "/v1/clients?limit=201",
                         "/v1/clients?limit=ten", "/v1/clients?category=vip", "/v1/clients?cursor=%%%",
                         "/v1/clients?sort=price", "/v1/clients?colour=red"] {
                let response = try await client.call(.get, path, key: key)
                #expect(response.status == .badRequest, "\(path)")
                #expect(response.problem != nil, "\(path)")
            }
            let patch = try await client.call(.patch, "/v1/clients/xyz", key: key, json: "{}")
            #expect(patch.status == .badRequest)
        }
    }

    @Test("unknown routes are 404 problems")
    func unknownRoutes() async throws {
        let key = harness.keyA
        try await harness.test { client in
            for path in ["/nope", "/v2/clients", "/v1/clients/\(UUID())/nothing"] {
                let response = try await client.call(.get, path, key: key)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.problem != nil, "\(path)")
            }
        }
    }

    @Test("missing, malformed, wrong and revoked keys are 401 with a Bearer challenge")
    func unauthorized() async throws {
        let key = harness.keyA
        let keys = harness.directory
        try await harness.test { client in
            let wrongSecret = String(key.dropLast()) + (key.hasSuffix("0") ? "1" : "0")
            let attempts: [HTTPFields] = [
                [:],
                [.authorization: "Basic dXNlcjpwYXNz"],
                [.authorization: "Bearer"],
                [.authorization: "Bearer ck_garbage"],
                [.authorization: "Bearer \(wrongSecret)"],
            ]
            for headers in attempts {
                let response = try await client.call(.get, "/v1/clients", key: nil, headers: headers)
                #expect(response.status == .unauthorized, "\(headers)")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                #expect(response.problem != nil)
            }
            _ = keys
        }
    }

    @Test("health and readiness answer without a key; metrics are Prometheus text")
    func operations() async throws {
        let key = harness.keyA
        try await harness.test { client in
            #expect(try await client.call(.get, "/healthz", key: nil).status == .ok)
            let ready = try await client.call(.get, "/readyz", key: nil)
            #expect(ready.status == .ok)
            _ = try await client.call(.get, "/v1/clients", key: key)
            _ = try await client.call(.get, "/v1/clients/\(UUID())", key: key)
            let metrics = try await client.call(.get, "/metrics", key: nil)
            #expect(metrics.status == .ok)
            let text = metrics.text
            #expect(text.contains(#"http_requests_total{method="GET",route="/v1/clients",status="200"} 1"#))
            #expect(text.contains(#"route="/v1/clients/{id}",status="404""#))
            #expect(text.contains("http_request_duration_seconds_bucket"))
            #expect(text.contains(#"db_pool_connections{state="in_use"}"#))
            #expect(text.contains(#"db_pool_connections{state="waiting"}"#))
        }
    }

    @Test("every response carries a request id, and problems repeat it")
    func requestID() async throws {
        try await harness.test { client in
            let response = try await client.call(.get, "/v1/clients", key: nil)
            let id = try #require(response.headers[HTTPField.Name("X-Request-Id")!])
            #expect(response.problem?["request_id"] as? String == id)
        }
    }
}
