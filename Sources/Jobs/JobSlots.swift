import Synchronization

/// How many more jobs a worker may run at once. The fetch loop parks here when every slot is
/// busy and is resumed by the first job to finish: no polling, no lost wake-up.
final class JobSlots: Sendable {
    private struct State {
        var free: Int
        var waiter: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(State(free: capacity))
    }

    var running: Int { capacity - state.withLock { $0.free } }

    /// Waits until a slot is free; returns how many are, or 0 once stopped.
    func waitForFree() async -> Int {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.free > 0 || state.stopped { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
        return state.withLock { $0.stopped ? 0 : $0.free }
    }

    func take(_ count: Int) { state.withLock { $0.free -= count } }

    func release() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.free += 1
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    func stop() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopped = true
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }
}
