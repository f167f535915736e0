import Foundation
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// LISTEN on a few channels over one dedicated connection, driven by a thread of its own that
/// waits on the socket with `poll`. It reconnects by itself (with backoff) and says so, since
/// notifications sent while it was away are lost: subscribers should then look for missed work.
public final class PostgresListener: Service, Sendable {
    public enum Event: Sendable, Hashable {
        /// The listener is (again) listening: anything sent before may have been missed.
        case listening
        case notification(PostgresNotification)
    }

    private struct State {
        var subscribers: [Int: AsyncStream<Event>.Continuation] = [:]
        var nextSubscriber = 0
        var stopping = false
        var thread: Thread?
        var finished: [CheckedContinuation<Void, Never>] = []
        var isFinished = false
    }

    public let configuration: PostgresConfiguration
    public let channels: [String]
    private let logger: Logger
    private let state = Mutex(State())

    public init(configuration: PostgresConfiguration, channels: [String], logger: Logger) {
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
    }

    /// A stream of events for one subscriber; it ends when the listener stops.
    public func events() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let id = state.withLock { state in
            state.nextSubscriber += 1
            state.subscribers[state.nextSubscriber] = continuation
            return state.nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await stop()
    }

    /// Starts the listening thread; idempotent.
    public func start() {
        let thread: Thread? = state.withLock { state in
            guard state.thread == nil, !state.stopping else { return nil }
            let thread = Thread { [self] in self.loop() }
            thread.name = "clientele-listener"
            state.thread = thread
            return thread
        }
        thread?.start()
    }

    /// Stops the thread and ends every subscriber's stream.
    public func stop() async {
        let started = state.withLock { state in
            state.stopping = true
            return state.thread != nil && !state.isFinished
        }
        guard started else {
            finishSubscribers()
            return
        }
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.isFinished { return true }
                state.finished.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func publish(_ event: Event) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(event) }
    }

    private func finishSubscribers() {
        let subscribers = state.withLock { state in
            let all = Array(state.subscribers.values)
            state.subscribers = [:]
            return all
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// The listening thread's whole life. Blocking calls are fine here: the thread is ours.
    private func loop() {
        var connection: PostgresConnection?
        var backoff = 0.1
        while !isStopping {
            guard let live = connection else {
                do {
                    let opened = try PostgresConnection.connect(configuration)
                    for channel in channels {
                        _ = try opened.execute(PostgresQuery(unsafeSQL: "LISTEN \(quoteIdentifier(channel))"))
                    }
                    connection = opened
                    backoff = 0.1
                    publish(.listening)
                } catch {
                    logger.warning("listener cannot connect, retrying", metadata: ["error": "\(error)"])
                    sleepUnlessStopping(seconds: backoff)
                    backoff = min(backoff * 2, 5)
                }
                continue
            }
            var descriptor = pollfd(fd: live.socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 200)
            guard ready > 0 else { continue }
            do {
                for notification in try live.consumeNotifications() {
                    publish(.notification(notification))
                }
            } catch {
                logger.warning("listener connection lost, reconnecting", metadata: ["error": "\(error)"])
                live.close()
                connection = nil
            }
        }
        connection?.close()
        finishSubscribers()
        let waiting = state.withLock { state in
            state.isFinished = true
            let waiting = state.finished
            state.finished = []
            return waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    private func sleepUnlessStopping(seconds: Double) {
        var remaining = seconds
        while remaining > 0, !isStopping {
            Thread.sleep(forTimeInterval: min(remaining, 0.1))
            remaining -= 0.1
        }
    }
}

extension PostgresClient {
    /// Sends a notification; the payload is a bound parameter, the channel too.
    public func notify(channel: String, payload: String = "") async throws {
        _ = try await query("SELECT pg_notify(\(channel), \(payload))")
    }
}
