import Foundation
import Postgres

/// A job as a worker holds it.
public struct Job: Sendable, Hashable {
    public var id: Int64
    /// The tenant the job works for; nil for platform-wide jobs.
    public var tenantID: Int64?
    public var kind: String
    /// JSON text; decode it with `payload(as:)`.
    public var payloadJSON: String
    /// This run's number, from 1.
    public var attempt: Int
    public var maxAttempts: Int

    static let columns: PostgresQuery = "id, tenant_id, kind, payload, attempts, max_attempts"

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        tenantID = try row.decode(at: 1)
        kind = try row.decode(at: 2)
        payloadJSON = try row.decode(PostgresJSONValue.self, at: 3).text
        attempt = try row.decode(at: 4)
        maxAttempts = try row.decode(at: 5)
    }

    public func payload<T: Decodable>(as type: T.Type) throws -> T {
        try PostgresJSONValue(text: payloadJSON).decode(T.self)
    }
}

/// A job to enqueue.
public struct NewJob: Sendable {
    public var kind: String
    public var payloadJSON: String
    public var tenantID: Int64?
    public var runAt: Date?
    public var maxAttempts: Int
    /// At most one queued or running job per key: enqueueing a second one does nothing.
    public var uniqueKey: String?

    public init(
        kind: String, payload: some Encodable & Sendable = [String: String](), tenantID: Int64? = nil,
        runAt: Date? = nil, maxAttempts: Int = 10, uniqueKey: String? = nil
    ) {
        self.kind = kind
        self.payloadJSON = PostgresJSON(payload).postgresText
        self.tenantID = tenantID
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
    }
}

/// Where a job stands.
public enum JobState: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
    case queued, running, succeeded, dead, cancelled
}
