/// Tasks waiting for something, in arrival order, each until its deadline: the pool's waiters
/// for a connection and long work's for a place. Kept inside its owner's lock.
struct Waiters<Value: Sendable> {
    struct Waiter {
        let id: Int
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Value, any Error>
    }

    private var queue: [Waiter] = []

    var count: Int { queue.count }

    mutating func append(id: Int, deadline: ContinuousClock.Instant, _ continuation: CheckedContinuation<Value, any Error>) {
        queue.append(Waiter(id: id, deadline: deadline, continuation: continuation))
    }

    /// The longest waiter.
    mutating func popFirst() -> Waiter? {
        queue.isEmpty ? nil : queue.removeFirst()
    }

    /// A waiter that gave up (its task was cancelled), if it is still waiting.
    mutating func remove(id: Int) -> Waiter? {
        queue.firstIndex { $0.id == id }.map { queue.remove(at: $0) }
    }

    /// The waiters whose deadline has passed, taken out: the caller fails them outside its lock.
    mutating func removeExpired(now: ContinuousClock.Instant) -> [Waiter] {
        let expired = queue.filter { $0.deadline <= now }
        if !expired.isEmpty { queue.removeAll { $0.deadline <= now } }
        return expired
    }

    mutating func removeAll() -> [Waiter] {
        defer { queue = [] }
        return queue
    }
}
