import Foundation
import HTTPAPI
import Hummingbird
import Testing

@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    /// "GET /v1/clients/{id}" for each route the router holds.
    static func routerOperations(_ harness: APIHarness) -> Set<String> {
        Set(harness.server.makeRouter().routes.map { route in
            let path = route.path.components.map { element in
                let text = element.description
                return text.hasPrefix(":") ? "{\(text.dropFirst())}" : text
            }
            return "\(route.method.rawValue) /\(path.joined(separator: "/"))"
        })
    }

    @Test("every route of the router is in the document, and the document has no route the router lacks")
    func routesMatch() async throws {
        let harness = try await APIHarness.make()
        let routes = Self.routerOperations(harness)
        let documented = Set(OpenAPIConformance.shared.operations)
        #expect(routes.count > 50)
        #expect(routes.subtracting(documented).sorted() == [], "routes missing from openapi.json")
        #expect(documented.subtracting(routes).sorted() == [], "documented operations with no route")
        try await harness.database.shutdown()
    }

    @Test("the server serves the document at /openapi.json without a key, and it is OpenAPI 3.1")
    func served() async throws {
        let harness = try await APIHarness.make()
        try await harness.test { client in
            let response = try await client.call(.get, "/openapi.json", key: nil)
            #expect(response.status == .ok)
            let document = JSONValue.parse(response.body.readableBytesView)
            #expect(document?["openapi"]?.string == "3.1.0")
            #expect(Array(response.body.readableBytesView) == APIDocument.json)
        }
    }

    @Test("every operation has an id, a summary and documented responses; every reference resolves")
    func wellFormed() throws {
        let document = OpenAPIConformance.shared.document
        var ids = Set<String>()
        for (path, item) in document["paths"]?.members ?? [:] {
            for (method, operation) in item.members {
                let id = try #require(operation["operationId"]?.string, "\(method) \(path) has no operationId")
                #expect(ids.insert(id).inserted, "operationId \(id) is used twice")
                #expect(operation["summary"]?.string?.isEmpty == false, "\(method) \(path) has no summary")
                #expect(operation["responses"]?.members.isEmpty == false, "\(method) \(path) has no responses")
                for parameter in operation["parameters"]?.elements ?? [] where parameter["in"]?.string == "path" {
                    #expect(path.contains("{\(parameter["name"]?.string ?? "")}"), "\(method) \(path) documents a path parameter it lacks")
                }
            }
        }
        let text = String(decoding: APIDocument.json, as: UTF8.self)
        let references = Set(text.matches(of: /"\$ref": "#\/components\/(\w+)\/(\w+)"/).map { "\($0.1)/\($0.2)" })
        #expect(!references.isEmpty)
        for reference in references {
            let parts = reference.split(separator: "/").map(String.init)
            #expect(document["components"]?[parts[0]]?[parts[1]] != nil, "unresolved $ref \(reference)")
        }
    }

    @Test("the response check catches a body that strays from the document")
    func checkerCatchesStrays() throws {
        let conformance = OpenAPIConformance.shared
        let good = #"{"status":"ok"}"#
        #expect(conformance.problems(method: "GET", uri: "/healthz", requestBody: nil, status: 200,
                                     contentType: "application/json; charset=utf-8", body: Array(good.utf8)) == [])
        let extra = #"{"status":"ok","extra":1}"#
        #expect(!conformance.problems(method: "GET", uri: "/healthz", requestBody: nil, status: 200,
                                      contentType: "application/json", body: Array(extra.utf8)).isEmpty)
        #expect(!conformance.problems(method: "GET", uri: "/healthz", requestBody: nil, status: 418,
                                      contentType: "application/json", body: Array(good.utf8)).isEmpty)
        let badCategory = #"{"items":[{"author":"x","changed_at":"2026-01-01T00:00:00.000Z","from_category":null,"reason":null,"to_category":"friend"}]}"#
        #expect(!conformance.problems(method: "GET", uri: "/v1/clients/0190/category-history", requestBody: nil, status: 200,
                                      contentType: "application/json", body: Array(badCategory.utf8)).isEmpty)
        #expect(!conformance.problems(method: "GET", uri: "/v1/not-a-route", requestBody: nil, status: 200,
                                      contentType: "application/json", body: Array(good.utf8)).isEmpty)
    }
}
