import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import Testing

extension TestClientProtocol {
    /// Creates a client and returns its id.
    func newClient(key: String, _ json: String = #"{"kind": "individual", "last_name": "Martin"}"#) async throws -> String {
        let response = try await call(.post, "/v1/clients", key: key, json: json)
        #expect(response.status == .created, "\(response.text)")
        return try #require(response.json["id"] as? String)
    }

    /// POSTs a record, expects 201 with its Location, and returns its fields.
    func create(_ path: String, key: String, _ json: String) async throws -> [String: Any] {
        let response = try await call(.post, path, key: key, json: json)
        #expect(response.status == .created, "\(path): \(response.text)")
        let body = response.json
        let id = try #require(body["id"] as? String, "\(response.text)")
        #expect(response.headers[.location] == "\(path)/\(id)")
        return body
    }

    /// Expects a 422 problem naming the field.
    func expectInvalid(
        _ method: HTTPRequest.Method, _ path: String, key: String, _ json: String, field: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let response = try await call(method, path, key: key, json: json)
        #expect(response.status == .unprocessableContent, "\(json): \(response.text)", sourceLocation: sourceLocation)
        #expect(response.problem?["field"] as? String == field, "\(json): \(response.text)", sourceLocation: sourceLocation)
    }
}

extension APIHarness {
    func scope(_ slug: String = "optique-a") async throws -> TenantScope {
        TenantScope(try await directory.find(slug: slug))
    }

    /// Runs statements in tenant A's schema, as the tests' back door.
    func sql(_ queries: [PostgresQuery], slug: String = "optique-a") async throws -> [PostgresRows] {
        try await database.tenantTransaction(try await scope(slug), queries)
    }

    /// Audit entries of one record, oldest first: (action, changes JSON).
    func audit(_ entity: String, _ id: String) async throws -> [(String, String)] {
        let rows = try await sql(["SELECT action, changes::text FROM audit_log WHERE entity = \(entity) AND entity_id = \(id) ORDER BY id"])
        return try rows[0].map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
    }
}
