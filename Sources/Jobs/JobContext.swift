import Foundation
import Postgres
import Synchronization
import Tenancy

/// Runs one job. Throwing is a failed attempt (retried with backoff, then discarded); throw
/// `JobDiscard` for a failure retrying cannot fix. Returning completes the job.
public typealias JobHandler = @Sendable (JobContext) async throws -> Void

/// What a handler gets: its job, the database, and a way to commit its writes together with
/// the job's completion.
public struct JobContext: Sendable {
    public let job: Job
    public let client: PostgresClient
    let worker: String
    let scopes: TenantScopes
    /// Whether the handler completed its job itself.
    let completed = Flag()

    /// The job's tenant, as its transactions need it. Fails for a platform job or a tenant
    /// that is no longer active.
    public func tenantScope() async throws -> TenantScope {
        guard let tenantID = job.tenantID else { throw JobDiscard("job \(job.id) belongs to no tenant") }
        return try await scopes.scope(of: tenantID)
    }

    /// The job's database writes and its completion in one transaction, as the job's tenant's
    /// role on its schema: both commit or neither does. If this worker no longer holds the job
    /// (its lease ran out and it was rescued), throws `JobLeaseLost` before the body runs.
    public func completeInTenantTransaction<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        let scope = try await tenantScope()
        return try await completeInTransaction(prelude: [scope.prelude], body)
    }

    /// The same on the platform's role (no tenant settings).
    public func completeInTransaction<T: Sendable>(
        prelude: [PostgresQuery] = [], _ body: (PostgresSession) async throws -> T
    ) async throws -> T {
        let job = self.job, worker = self.worker
        let result = try await client.withTransaction { session in
            // The completion comes first: its row lock makes a rescuer wait for this
            // transaction, and then find the job gone.
            let rows = try await session.pipeline(
                [JobQueue.finish(ids: [job.id], attempts: [job.attempt], worker: worker, state: .succeeded)] + prelude)
            if rows[0].isEmpty { throw JobLeaseLost(jobID: job.id) }
            return try await body(session)
        }
        completed.set()
        return result
    }
}

/// Tenant scopes by id, cached for a minute: a suspended or deleted tenant stops getting
/// work within that time.
final class TenantScopes: Sendable {
    let client: PostgresClient
    private let cache = Mutex<[Int64: (scope: TenantScope, until: ContinuousClock.Instant)]>([:])

    init(client: PostgresClient) { self.client = client }

    func scope(of tenantID: Int64) async throws -> TenantScope {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[tenantID] }), cached.until > now { return cached.scope }
        guard let scope = try await TenantScope.active(tenantID: tenantID, client: client) else {
            throw JobError(message: "tenant \(tenantID) is not active")
        }
        cache.withLock { $0[tenantID] = (scope, now + .seconds(60)) }
        return scope
    }
}
