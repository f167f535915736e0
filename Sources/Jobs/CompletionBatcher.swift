import Synchronization

/// Group commit for job completions: jobs that finish while one completion statement runs are
/// completed together by the next one. Under load that is one statement for hundreds of jobs;
/// when idle, one for one, at once.
final class CompletionBatcher: Sendable {
    private struct State {
        var pending: [(job: Job, done: CheckedContinuation<Bool, Never>)] = []
        var flusher: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    private let state = Mutex(State())
    let queue: JobQueue
    let worker: String

    init(queue: JobQueue, worker: String) {
        self.queue = queue
        self.worker = worker
    }

    /// Completes the job with the next batch; true if this worker still held it.
    func complete(_ job: Job) async -> Bool {
        await withCheckedContinuation { continuation in
            state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.pending.append((job, continuation))
                defer { state.flusher = nil }
                return state.flusher
            }?.resume()
        }
    }

    /// The flushing loop; returns after `stop()` once nothing is pending.
    func run() async {
        while true {
            let batch = await nextBatch()
            if batch.isEmpty { return }
            let done: Set<Int64>
            do {
                done = try await queue.complete(batch.map(\.job), worker: worker)
            } catch {
                // Not recorded: the jobs' leases run out and they are rescued and run again.
                done = []
            }
            for entry in batch { entry.done.resume(returning: done.contains(entry.job.id)) }
        }
    }

    func stop() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopped = true
            defer { state.flusher = nil }
            return state.flusher
        }?.resume()
    }

    private func nextBatch() async -> [(job: Job, done: CheckedContinuation<Bool, Never>)] {
        while true {
            let batch = state.withLock { state in
                defer { state.pending = [] }
                return state.pending
            }
            if !batch.isEmpty { return batch }
            if state.withLock({ $0.stopped }) { return [] }
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if !state.pending.isEmpty || state.stopped { return true }
                    state.flusher = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        }
    }
}
