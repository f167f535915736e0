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
    /// This run's number, from 1. With the worker's id it is the lease: a job rescued and
    /// claimed again has a new attempt number, so the earlier holder can change nothing.
    public var attempt: Int
    public var maxAttempts: Int
    /// How long the job waited between its due time and this run's start, in seconds.
    public var waited: Double

    static let columns: PostgresQuery = """
        id, tenant_id, kind, payload, attempts, max_attempts, extract(epoch FROM started_at - run_at)::float8
        """

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        tenantID = try row.decode(at: 1)
        kind = try row.decode(at: 2)
        payloadJSON = try row.decode(PostgresJSONValue.self, at: 3).text
        attempt = try row.decode(at: 4)
        maxAttempts = try row.decode(at: 5)
        waited = max(0, try row.decode(at: 6))
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
    /// At most one queued or running job per key (and tenant): enqueueing a second one does nothing.
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

extension NewJob {
    /// The jobs as one JSON array for the batch enqueue: `run_at` in epoch seconds (microsecond
    /// precision survives a double), the payload as the JSON it already is.
    static func jsonArray(_ jobs: [NewJob]) -> String {
        var text = "["
        for (index, job) in jobs.enumerated() {
            if index > 0 { text += "," }
            text += "{\"kind\":\(jsonString(job.kind)),\"payload\":\(job.payloadJSON)"
            text += ",\"max_attempts\":\(job.maxAttempts)"
            if let tenantID = job.tenantID { text += ",\"tenant_id\":\(tenantID)" }
            if let runAt = job.runAt { text += ",\"run_at\":\(runAt.timeIntervalSince1970)" }
            if let key = job.uniqueKey { text += ",\"unique_key\":\(jsonString(key))" }
            text += "}"
        }
        return text + "]"
    }

    private static func jsonString(_ value: String) -> String {
        // Encoding a String cannot fail.
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// Where a job stands. Queued and running jobs are in `platform.jobs`, the table workers claim
/// from; finished ones (succeeded, discarded, cancelled) in `platform.job_history`.
public enum JobState: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
    case queued, running, succeeded, discarded, cancelled
}

/// Thrown by a handler for a failure that retrying cannot fix: the job is discarded at once.
public struct JobDiscard: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The worker no longer holds the job (its lease ran out and it was rescued, or it was
/// finished elsewhere): what the handler tried to commit with its completion was rolled back.
public struct JobLeaseLost: Error, CustomStringConvertible, Sendable {
    public var jobID: Int64
    public var description: String { "job \(jobID) is no longer held by this worker; its changes were rolled back" }
}
