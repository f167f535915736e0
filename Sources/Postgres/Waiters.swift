import Synchronization

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

/// Those waiting in turn for something kept in a lock's state: the pool's connections, long
/// work's places. Its owner says how to take what is wanted now, under the lock.
protocol TurnQueue: AnyObject, Sendable {
    associatedtype State
    associatedtype Value: Sendable
    var state: Mutex<State> { get }
    /// Where the state keeps its waiters.
    static var waiters: WritableKeyPath<State, Waiters<Value>> { get }
}

extension TurnQueue {
    /// Takes what `take` gives at once, or waits for it in arrival order until `timeout`; a task
    /// cancelled before it is served gives up with `CancellationError`.
    func awaitTurn(timeout: Duration, take: @escaping @Sendable (inout State) -> Result<Value, any Error>?) async throws -> Value {
        let id = state.withLock { $0[keyPath: Self.waiters].arrive() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let immediate: Result<Value, any Error>? = state.withLock { state in
                    let cancelled = state[keyPath: Self.waiters].settle(id)
                    if let taken = take(&state) { return taken }
                    if cancelled { return .failure(CancellationError()) }
                    state[keyPath: Self.waiters].append(id: id, deadline: .now + timeout, continuation)
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0[keyPath: Self.waiters].cancel(id) }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
