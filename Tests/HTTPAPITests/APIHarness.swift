import ClientBase
import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Postgres
import Tenancy
import TestSupport
import Testing

/// A server on a fresh database with two tenants, A and B, each with an owner key.
struct APIHarness {
    let database: PostgresClient
    let directory: TenantDirectory
    let keyA: String
    let keyB: String
    let server: APIServer

    /// The platform key the tests' servers seal tenants' SMTP passwords with.
    static let secretBox = try! SecretBox(key: Array(repeating: 7, count: 32))

    static func make(
        cacheTTL: Duration = .seconds(30), secretBox: SecretBox? = APIHarness.secretBox, maximumConnections: Int = 8
    ) async throws -> APIHarness {
        let (database, directory) = try await TestDatabase.platform("api", maximumConnections: maximumConnections)
        let a = try await directory.create(slug: "optique-a", name: "Optique A")
        let b = try await directory.create(slug: "garage-b", name: "Garage B")
        // bcrypt at its minimum cost: the tests check behaviour, not hashing strength.
        let server = APIServer(
            database: database, settings: .init(credentialCacheTTL: cacheTTL, passwordHashCost: 4, secretBox: secretBox),
            logger: TestDatabase.logger)
        return APIHarness(database: database, directory: directory, keyA: a.key.token, keyB: b.key.token, server: server)
    }

    /// Tenant A's scope, for stores that work inside an account.
    func scopeA() async throws -> TenantScope {
        TenantScope(try await directory.find(slug: "optique-a"))
    }

    /// An active user of tenant A with a password, and an API key of the same role acting for
    /// them (an agent's key must act for a user).
    func member(_ role: AccessRole, email: String? = nil) async throws -> (user: User, key: String) {
        let scope = try await scopeA()
        let user = try await server.users.createActive(
            tenantID: scope.tenantID, email: email ?? "\(role.rawValue)-\(UUID().uuidString.prefix(8))@optique-a.fr",
            name: role.rawValue.capitalized, role: role, password: APIHarness.password)
        let key = try await server.authenticatorKeys.create(
            in: scope, name: "\(role.rawValue) key", role: role, userID: user.id, by: .owner)
        return (user, key.token)
    }

    static let password = "correct horse battery"

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
        let response = try await execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        response.checkAgainstOpenAPI(method: method, uri: path, requestBody: json)
        return response
    }
}

extension TestResponse {
    /// Every response a test sees must match the OpenAPI document: each mismatch is an issue.
    func checkAgainstOpenAPI(method: HTTPRequest.Method, uri: String, requestBody: String?) {
        for problem in OpenAPIConformance.shared.problems(
            method: method.rawValue, uri: uri, requestBody: requestBody, status: Int(status.code),
            contentType: headers[.contentType], body: Array(body.readableBytesView)) {
            Issue.record("openapi.json: \(problem)")
        }
    }

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
