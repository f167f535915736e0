import Synchronization

/// Lets idle worker slots sleep until either a signal (a job was enqueued) or a timeout.
///
/// Signals are counted: a loop reads `generation` before it looks for work and passes it to
/// `wait(after:timeout:)`, which returns at once if a signal came in between. Without that, a
/// NOTIFY arriving while the loop's claim was in flight found nobody waiting and was lost, and
/// the loop slept its whole poll interval with work queued.
final class WakeSignal: Sendable {
    private enum Waiter {
        case waiting(CheckedContinuation<Void, Never>?)
        case done
    }

    private struct State {
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
        var generation = 0
    }

    private let state = Mutex(State())

    /// How many signals have been sent so far.
    var generation: Int { state.withLock { $0.generation } }

    /// Wakes every slot waiting now, and any wait that starts after a `generation` read before it.
    func signal() {
        let continuations: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.generation &+= 1
            var ready: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters {
                if case .waiting(let continuation?) = waiter { ready.append(continuation) }
                state.waiters[id] = .done
            }
            return ready
        }
        continuations.forEach { $0.resume() }
    }

    /// Returns on the next signal or after the timeout, whichever comes first; at once if a
    /// signal was sent since `generation` was read.
    func wait(after generation: Int, timeout: Duration) async {
        let id = state.withLock { state in
            state.nextID += 1
            state.waiters[state.nextID] = state.generation == generation ? .waiting(nil) : .done
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.finish(id)
            }
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state -> Bool in
                        guard case .waiting = state.waiters[id] else { return true }
                        state.waiters[id] = .waiting(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            await group.next()
            group.cancelAll()
        }
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }

    /// Ends one wait: resumes it if it is parked, or marks it so it does not park.
    private func finish(_ id: Int) {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard case .waiting(let continuation) = state.waiters[id] else { return nil }
            state.waiters[id] = .done
            return continuation
        }
        continuation?.resume()
    }
}
