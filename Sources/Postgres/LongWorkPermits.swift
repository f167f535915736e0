import Synchronization

/// How many connections long work (reports over every purchase, CSV imports) may hold at
/// once: a part of the pool, so that quick requests always find a connection while
/// imports run. Waiters are served in arrival order, and give up at their deadline.
final class LongWorkPermits: TurnQueue {
    struct State {
        var available: Int
        var waiters = Waiters<Void>()
    }

    let limit: Int
    let state: Mutex<State>
    static var waiters: WritableKeyPath<State, Waiters<Void>> { \.waiters }

    init(limit: Int) {
        precondition(limit > 0, "long work needs at least one permit")
        self.limit = limit
        state = Mutex(State(available: limit))
    }

    func acquire(timeout: Duration) async throws {
        try await awaitTurn(timeout: timeout) { state in
            guard state.available > 0 else { return nil }
            state.available -= 1
            return .success(())
        }
    }

    /// Gives a permit back: to the longest waiter, or to the pool of permits.
    func release() {
        let waiter: Waiters<Void>.Waiter? = state.withLock { state in
            if let waiter = state.waiters.popFirst() { return waiter }
            state.available += 1
            return nil
        }
        waiter?.continuation.resume()
    }

    /// Fails the waiters whose deadline has passed.
    func expireWaiters(now: ContinuousClock.Instant = .now) {
        let expired = state.withLock { $0.waiters.removeExpired(now: now) }
        for waiter in expired {
            waiter.continuation.resume(throwing: PostgresError(
                .poolTimeout, "the server is busy with long work (all \(limit) of its places are taken); try again shortly"))
        }
    }
}
