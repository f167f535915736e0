import Synchronization

/// The pool's bookkeeping: idle connections, open slots and waiters, behind one lock.
/// It never touches libpq; opening and closing happen in `PostgresClient` on its threads.
final class ConnectionPool: TurnQueue {
    /// What an acquirer receives: a connection to reuse, or the right to open a new one.
    enum Lease {
        case connection(PostgresConnection)
        case slot
    }

    struct State {
        var idle: [PostgresConnection] = []
        var open = 0
        var waiters = Waiters<Lease>()
        var closed = false
    }

    let maximumConnections: Int
    let state = Mutex(State())
    static var waiters: WritableKeyPath<State, Waiters<Lease>> { \.waiters }

    init(maximumConnections: Int) {
        precondition(maximumConnections > 0, "a pool needs at least one connection")
        self.maximumConnections = maximumConnections
    }

    func acquire(timeout: Duration) async throws -> Lease {
        try await awaitTurn(timeout: timeout) { [maximumConnections] state in
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
            return nil
        }
    }

    /// Gives a healthy, idle connection back; it goes to the longest waiter, or to the idle list.
    /// Returns false when the pool is closed: the caller must close the connection.
    func release(_ connection: PostgresConnection) -> Bool {
        let outcome: (Waiters<Lease>.Waiter?, Bool) = state.withLock { state in
            if state.closed {
                state.open -= 1
                return (nil, false)
            }
            if let waiter = state.waiters.popFirst() {
                return (waiter, true)
            }
            state.idle.append(connection)
            return (nil, true)
        }
        outcome.0?.continuation.resume(returning: .connection(connection))
        return outcome.1
    }

    /// A connection was closed or never opened: its slot goes to the longest waiter, if any.
    func discardSlot() {
        let waiter: Waiters<Lease>.Waiter? = state.withLock { state in
            if !state.closed, let waiter = state.waiters.popFirst() {
                return waiter
            }
            state.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .slot)
    }

    /// Fails the waiters whose acquire timeout has passed.
    func expireWaiters(now: ContinuousClock.Instant = .now) {
        let expired = state.withLock { $0.waiters.removeExpired(now: now) }
        for waiter in expired {
            waiter.continuation.resume(throwing: PostgresError(
                .poolTimeout,
                "no database connection became free in time (all \(maximumConnections) are in use)"
            ))
        }
    }

    /// Closes the pool: waiters fail, and the idle connections are handed back to be closed.
    func close() -> [PostgresConnection] {
        let (idle, waiters): ([PostgresConnection], [Waiters<Lease>.Waiter]) = state.withLock { state in
            state.closed = true
            let idle = state.idle
            state.open -= idle.count
            state.idle = []
            return (idle, state.waiters.removeAll())
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
