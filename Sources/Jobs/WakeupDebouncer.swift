import Postgres
import Synchronization

/// NOTIFY takes a cluster-wide lock at commit, so one NOTIFY per enqueue serialises every
/// enqueueing transaction behind one another's commit (a few hundred per second here).
/// This process sends at most about one per `window`: the first enqueue of a window notifies in
/// its own transaction; later ones don't, and when their transaction ends they ask for a
/// trailing NOTIFY at the end of the window (`transactionEnded`). Since it is asked for after
/// the commit, it is sent after it: a worker it wakes finds the job. Windows are per client
/// (per database).
final class WakeupDebouncer: Sendable {
    static let shared = WakeupDebouncer(window: .milliseconds(20))

    private struct State {
        var lastSent: ContinuousClock.Instant?
        /// A trailing NOTIFY is scheduled and not yet started: it serves every transaction
        /// that ends before it starts.
        var trailing = false
    }

    let window: Duration
    private let states = Mutex([ObjectIdentifier: State]())

    init(window: Duration) { self.window = window }

    /// Whether this enqueue's transaction should NOTIFY. If not, the caller reports the end of
    /// that transaction with `transactionEnded(client:)`.
    func shouldNotify(client: PostgresClient) -> Bool {
        let now = ContinuousClock.now
        let key = ObjectIdentifier(client)
        return states.withLock { states in
            if let last = states[key]?.lastSent, now - last < window { return false }
            states[key, default: State()].lastSent = now
            return true
        }
    }

    /// A transaction whose jobs did not NOTIFY has ended: a NOTIFY follows on `client`, at the
    /// end of the current window.
    func transactionEnded(client: PostgresClient) {
        let key = ObjectIdentifier(client)
        let delay: Duration? = states.withLock { states in
            var state = states[key] ?? State()
            if state.trailing { return nil }
            state.trailing = true
            states[key] = state
            let now = ContinuousClock.now
            return max(.zero, now.duration(to: (state.lastSent ?? now) + window))
        }
        guard let delay else { return }
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            self.states.withLock { $0[key] = State(lastSent: .now, trailing: false) }
            // Fire and forget: a lost trailing NOTIFY costs one poll interval, nothing more.
            _ = try? await client.query("SELECT pg_notify(\(JobQueue.channel), '')")
        }
    }
}
