import Synchronization

/// The pool's bookkeeping: idle connections, open slots and waiters, behind one lock.
/// It never touches libpq; opening and closing happen in `PostgresClient` on its threads.
final class ConnectionPool: Sendable {
    /// What an acquirer receives: a connection to reuse, or the right to open a new one.
    enum Lease {
        case connection(PostgresConnection)
        case slot
    }

    private struct Waiter {
        let id: Int
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Lease, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
    }

    let maximumConnections: Int
    private let state = Mutex(State())

    init(maximumConnections: Int) {
        precondition(maximumConnections > 0, "a pool needs at least one connection")
        self.maximumConnections = maximumConnections
    }

    func acquire(timeout: Duration) async throws -> Lease {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let immediate: Result<Lease, any Error>? = state.withLock { state in
                    if state.closed {
                        return .failure(PostgresError(.clientClosed, "the database client is shut down"))
                    }
                    if let connection = state.idle.popLast() {
                        return .success(.connection(connection))
                    }
                    if state.open < maximumConnections {
                        state.open += 1
                        return .success(.slot)
                    }
                    state.waiters.append(Waiter(id: id, deadline: .now + timeout, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.waiters.firstIndex { $0.id == id }.map { state.waiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a healthy, idle connection back; it goes to the longest waiter, or to the idle list.
    /// Returns false when the pool is closed: the caller must close the connection.
    func release(_ connection: PostgresConnection) -> Bool {
        let outcome: (Waiter?, Bool) = state.withLock { state in
            if state.closed {
                state.open -= 1
                return (nil, false)
            }
            if !state.waiters.isEmpty {
                return (state.waiters.removeFirst(), true)
            }
            state.idle.append(connection)
            return (nil, true)
        }
        outcome.0?.continuation.resume(returning: .connection(connection))
        return outcome.1
    }

    /// A connection was closed or never opened: its slot goes to the longest waiter, if any.
    func discardSlot() {
        let waiter: Waiter? = state.withLock { state in
            if !state.closed, !state.waiters.isEmpty {
                return state.waiters.removeFirst()
            }
            state.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .slot)
    }

    /// Fails the waiters whose acquire timeout has passed.
    func expireWaiters(now: ContinuousClock.Instant = .now) {
        let expired: [Waiter] = state.withLock { state in
            let expired = state.waiters.filter { $0.deadline <= now }
            if !expired.isEmpty { state.waiters.removeAll { $0.deadline <= now } }
            return expired
        }
        for waiter in expired {
            waiter.continuation.resume(throwing: PostgresError(
                .poolTimeout,
                "no database connection became free in time (all \(maximumConnections) are in use)"
            ))
        }
    }

    /// Closes the pool: waiters fail, and the idle connections are handed back to be closed.
    func close() -> [PostgresConnection] {
        let (idle, waiters): ([PostgresConnection], [Waiter]) = state.withLock { state in
            state.closed = true
            let idle = state.idle
            state.open -= idle.count
            state.idle = []
            let waiters = state.waiters
            state.waiters = []
            return (idle, waiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: PostgresError(.clientClosed, "the database client is shut down"))
        }
        return idle
    }

    var statistics: PoolStatistics {
        state.withLock { state in
            PoolStatistics(
                open: state.open, idle: state.idle.count, inUse: state.open - state.idle.count,
                waiting: state.waiters.count, maximum: maximumConnections
            )
        }
    }
}

/// A snapshot of the pool, for metrics.
public struct PoolStatistics: Sendable, Hashable {
    public var open: Int
    public var idle: Int
    /// Connections leased or being opened.
    public var inUse: Int
    public var waiting: Int
    public var maximum: Int
}
