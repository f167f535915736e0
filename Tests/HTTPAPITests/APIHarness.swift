import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import TestSupport

/// A server on a fresh database with two tenants, A and B, each with an owner key.
struct APIHarness {
    let database: PostgresClient
    let directory: TenantDirectory
    let keyA: String
    let keyB: String
    let server: APIServer

    static func make(cacheTTL: Duration = .seconds(30)) async throws -> APIHarness {
        let (database, directory) = try await TestDatabase.platform("api")
        let a = try await directory.create(slug: "optique-a", name: "Optique A")
        let b = try await directory.create(slug: "garage-b", name: "Garage B")
        let server = APIServer(
            database: database, settings: .init(credentialCacheTTL: cacheTTL), logger: TestDatabase.logger)
        return APIHarness(database: database, directory: directory, keyA: a.key.token, keyB: b.key.token, server: server)
    }

    /// Runs the body against the router in process; the pool is shut down afterwards.
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await server.makeApplication().test(.router, body)
    }
}

extension TestClientProtocol {
    /// Sends a request with a bearer key and an optional JSON body.
    func call(
        _ method: HTTPRequest.Method, _ path: String, key: String?, json: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }

    var json: [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else { return [:] }
        return object
    }

    /// Checks the response is a problem+json with this status; returns its fields.
    var problem: [String: Any]? {
        guard headers[.contentType] == "application/problem+json" else { return nil }
        let object = json
        guard object["status"] as? Int == Int(status.code), object["type"] is String,
              object["title"] is String, object["detail"] is String
        else { return nil }
        return object
    }
}
