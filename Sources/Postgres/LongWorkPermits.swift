import Synchronization

/// How many connections long work (reports over every purchase, CSV imports and exports) may
/// hold at once: a part of the pool, so that quick requests always find a connection while
/// imports run. Waiters are served in arrival order, and give up at their deadline.
final class LongWorkPermits: Sendable {
    private struct Waiter {
        let id: Int
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        /// Acquirers between taking an id and waiting, and those of them cancelled meanwhile.
        var arriving: Set<Int> = []
        var cancelled: Set<Int> = []
    }

    let limit: Int
    private let state: Mutex<State>

    init(limit: Int) {
        precondition(limit > 0, "long work needs at least one permit")
        self.limit = limit
        state = Mutex(State(available: limit))
    }

    func acquire(timeout: Duration) async throws {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            state.arriving.insert(state.nextWaiterID)
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    state.arriving.remove(id)
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if state.available > 0 {
                        state.available -= 1
                        return .success(())
                    }
                    state.waiters.append(Waiter(id: id, deadline: .now + timeout, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    // Not waiting yet: it fails as it arrives. Already served: nothing to do.
                    if state.arriving.contains(id) { state.cancelled.insert(id) }
                    return nil
                }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a permit back: to the longest waiter, or to the pool of permits.
    func release() {
        let waiter: Waiter? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.available += 1
            return nil
        }
        waiter?.continuation.resume()
    }

    /// Fails the waiters whose deadline has passed.
    func expireWaiters(now: ContinuousClock.Instant = .now) {
        let expired: [Waiter] = state.withLock { state in
            let expired = state.waiters.filter { $0.deadline <= now }
            if !expired.isEmpty { state.waiters.removeAll { $0.deadline <= now } }
            return expired
        }
        for waiter in expired {
            waiter.continuation.resume(throwing: PostgresError(
                .poolTimeout, "the server is busy with long work (all \(limit) of its places are taken); try again shortly"))
        }
    }
}
