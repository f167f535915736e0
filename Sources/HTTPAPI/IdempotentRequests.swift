import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Postgres
import Tenancy

/// `Idempotency-Key` for POST: the first response is stored with the work, in the same tenant
/// transaction; the same key sent again (with the same body) replays it and changes nothing.
/// The same key with another body is refused. Keys are kept 24 hours.
struct IdempotentRequests {
    static let header = HTTPField.Name("Idempotency-Key")!
    let database: PostgresClient

    struct Stored: Sendable {
        var status: Int
        var location: String?
        var etag: String?
        var body: [UInt8]
    }

    /// The key of a request, nil without one; a malformed key is a 400.
    static func key(of request: Request) throws -> String? {
        guard let key = request.headers[header] else { return nil }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw Problem.badRequest("Idempotency-Key must be 1 to 255 printable ASCII characters")
        }
        return key
    }

    /// Runs `work` once per key: later calls with the key get the stored response.
    func run(
        key: String, route: String, body: [UInt8], scope: TenantScope,
        _ work: (PostgresSession) async throws -> Stored
    ) async throws -> Response {
        let hash = Data(SHA256.hash(data: body)).base64EncodedString()
        let stored: Stored = try await database.withTenantTransaction(scope) { session in
            let previous = try await session.pipeline([
                // Two requests with one key wait for each other instead of both doing the work.
                "SELECT pg_advisory_xact_lock(hashtext(\(route) || ' ' || \(key)))",
                "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'",
                """
                SELECT request_hash, status, location, etag, body FROM idempotency_keys
                WHERE idempotency_key = \(key) AND route = \(route)
                """,
            ])[2]
            if let row = previous.first {
                guard try row.decode(String.self, at: 0) == hash else {
                    throw Problem(status: .unprocessableContent, slug: "idempotency-key-reused",
                                  title: "Idempotency-Key reused",
                                  detail: "this Idempotency-Key was used with a different body; use a new key for a new request")
                }
                return Stored(status: try row.decode(at: 1), location: try row.decode(at: 2), etag: try row.decode(at: 3),
                              body: Array(try row.decode(String.self, at: 4).utf8))
            }
            let result = try await work(session)
            try await session.query("""
                INSERT INTO idempotency_keys (idempotency_key, route, request_hash, status, location, etag, body)
                VALUES (\(key), \(route), \(hash), \(result.status), \(result.location), \(result.etag),
                        \(String(decoding: result.body, as: UTF8.self)))
                """)
            return result
        }
        var response = JSONBody.response(bytes: stored.body, status: HTTPResponse.Status(code: stored.status))
        if let location = stored.location { response.headers[.location] = location }
        if let etag = stored.etag { response.headers[.eTag] = etag }
        return response
    }
}
