/// Tasks waiting for something, in arrival order, each until its deadline: the pool's waiters
/// for a connection and long work's for a place. Kept inside its owner's lock.
struct Waiters<Value: Sendable> {
    struct Waiter {
        let id: Int
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Value, any Error>
    }

    private var queue: [Waiter] = []
    private var nextID = 0
    /// Acquirers between taking an id and waiting, and those of them whose task was cancelled
    /// meanwhile: the cancellation handler can run before there is anything to remove.
    private var arriving: Set<Int> = []
    private var cancelled: Set<Int> = []

    var count: Int { queue.count }

    /// An id for an acquirer, before it looks for what it wants.
    mutating func arrive() -> Int {
        nextID += 1
        arriving.insert(nextID)
        return nextID
    }

    /// The acquirer looks (under its owner's lock): true if its task was cancelled since it
    /// arrived, and then it must not wait.
    mutating func settle(_ id: Int) -> Bool {
        arriving.remove(id)
        return cancelled.remove(id) != nil
    }

    /// A cancelled acquirer: its waiter, taken out, if it waits; remembered for `settle` if it
    /// has not looked yet; nothing if it was served.
    mutating func cancel(_ id: Int) -> Waiter? {
        if let index = queue.firstIndex(where: { $0.id == id }) { return queue.remove(at: index) }
        if arriving.contains(id) { cancelled.insert(id) }
        return nil
    }

    mutating func append(id: Int, deadline: ContinuousClock.Instant, _ continuation: CheckedContinuation<Value, any Error>) {
        queue.append(Waiter(id: id, deadline: deadline, continuation: continuation))
    }

    /// The longest waiter.
    mutating func popFirst() -> Waiter? {
        queue.isEmpty ? nil : queue.removeFirst()
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
