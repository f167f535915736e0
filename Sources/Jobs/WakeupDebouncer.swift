import Postgres
import Synchronization

/// NOTIFY takes a cluster-wide lock at commit, so one NOTIFY per enqueue serialises every
/// enqueueing transaction behind one another's commit (a few hundred per second here).
/// This process sends at most one per `window`: the first enqueue of a window notifies in its
/// own transaction; later ones in the window don't, and one trailing NOTIFY follows the window
/// for them. Windows are per client (per database). Workers also poll, so a job whose transaction commits after the trailing NOTIFY
/// waits at most one poll interval.
final class WakeupDebouncer: Sendable {
    static let shared = WakeupDebouncer(window: .milliseconds(20))

    private struct State {
        var lastSent: ContinuousClock.Instant?
        var trailing = false
    }

    let window: Duration
    private let states = Mutex([ObjectIdentifier: State]())

    init(window: Duration) { self.window = window }

    /// Whether this enqueue's transaction should NOTIFY. If not, a trailing NOTIFY is sent on
    /// `client` after the window.
    func shouldNotify(client: PostgresClient) -> Bool {
        let now = ContinuousClock.now
        let key = ObjectIdentifier(client)
        let (notify, scheduleTrailing) = states.withLock { states -> (Bool, Bool) in
            var state = states[key] ?? State()
            defer { states[key] = state }
            if let last = state.lastSent, now - last < window {
                defer { state.trailing = true }
                return (false, !state.trailing)
            }
            state.lastSent = now
            return (true, false)
        }
        if scheduleTrailing {
            // Fire and forget: a lost trailing NOTIFY costs one poll interval, nothing more.
            Task { [window] in
                try? await Task.sleep(for: window)
                self.states.withLock { $0[key] = State(lastSent: .now, trailing: false) }
                _ = try? await client.query("SELECT pg_notify(\(JobQueue.channel), '')")
            }
        }
        return notify
    }
}
