import Logging
import NIOPosix
import ServiceLifecycle

/// A bounded pool of libpq connections, and the only way the rest of the server reaches
/// PostgreSQL. Every libpq call runs on this client's own thread pool, sized to the pool,
/// never on an event loop or the cooperative pool.
///
/// It is a `Service`: in a ServiceGroup it closes its connections on graceful shutdown.
/// Outside one (CLI, tests), call `shutdown()` when done.
public final class PostgresClient: Service, Sendable {
    public struct Options: Sendable {
        public var maximumConnections: Int
        /// How long `withConnection` waits for a free connection before failing with `.poolTimeout`.
        public var acquireTimeout: Duration
        /// A connection older than this is closed when returned, so a backend that touched many
        /// tenant schemas gives its catalogue cache back.
        public var maximumLifetime: Duration
        /// A connection idle longer than this is checked before use (a server restart closes it).
        public var healthCheckAfterIdle: Duration
        /// How many `prepared()` statements each connection keeps; 0 runs them all unnamed, as a
        /// pooler that shares server sessions between clients (PgBouncer in transaction mode) needs.
        public var preparedStatementsPerConnection: Int
        /// How many connections `withLongWork` bodies may hold at once (nil: half the pool,
        /// at least one), and how long a body waits for its turn.
        public var longWorkConnections: Int?
        public var longWorkWait: Duration

        public init(
            maximumConnections: Int = 10, acquireTimeout: Duration = .seconds(5),
            maximumLifetime: Duration = .seconds(600), healthCheckAfterIdle: Duration = .seconds(1),
            preparedStatementsPerConnection: Int = 64, longWorkConnections: Int? = nil,
            longWorkWait: Duration = .seconds(60)
        ) {
            self.maximumConnections = maximumConnections
            self.acquireTimeout = acquireTimeout
            self.maximumLifetime = maximumLifetime
            self.healthCheckAfterIdle = healthCheckAfterIdle
            self.preparedStatementsPerConnection = preparedStatementsPerConnection
            self.longWorkConnections = longWorkConnections
            self.longWorkWait = longWorkWait
        }
    }

    public let configuration: PostgresConfiguration
    public let options: Options
    let logger: Logger
    let threadPool: NIOThreadPool
    private let pool: ConnectionPool
    private let longWork: LongWorkPermits
    private let reaper: Task<Void, Never>

    public init(configuration: PostgresConfiguration, options: Options = Options(), logger: Logger) {
        self.configuration = configuration
        self.options = options
        self.logger = logger
        let threadPool = NIOThreadPool(numberOfThreads: options.maximumConnections)
        threadPool.start()
        self.threadPool = threadPool
        let pool = ConnectionPool(maximumConnections: options.maximumConnections)
        self.pool = pool
        let longWork = LongWorkPermits(limit: max(1, min(options.maximumConnections,
                                                         options.longWorkConnections ?? options.maximumConnections / 2)))
        self.longWork = longWork
        // Fails waiters past their acquire timeout; cheap, and needs no task per waiter.
        self.reaper = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                pool.expireWaiters()
                longWork.expireWaiters()
            }
        }
    }

    /// Runs until graceful shutdown, then closes every connection.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes idle connections now and leased ones as they come back; fails waiters.
    public func shutdown() async {
        reaper.cancel()
        for connection in pool.close() {
            await close(connection)
        }
        try? await threadPool.shutdownGracefully()
    }

    public var statistics: PoolStatistics { pool.statistics }

    // MARK: Work

    /// Runs work that holds a connection for long (a report over every purchase, a CSV import)
    /// once one of the pool's places for long work is free: at most half the pool
    /// by default, so that the quick requests still find connections while it runs. Waits in
    /// arrival order, up to `longWorkWait`, then fails with `.poolTimeout`.
    public func withLongWork<Result>(_ body: () async throws -> sending Result) async throws -> sending Result {
        try await longWork.acquire(timeout: options.longWorkWait)
        defer { longWork.release() }
        return try await body()
    }

    /// Leases a connection for the body. A connection left mid-transaction is rolled back (or
    /// closed) before anyone else gets it; a broken one is replaced.
    public func withConnection<Result>(
        _ body: (PostgresSession) async throws -> sending Result
    ) async throws -> sending Result {
        let connection = try await lease(checkHealth: true)
        let session = PostgresSession(connection: connection, client: self)
        do {
            let result = try await body(session)
            await giveBack(connection)
            session.transactionEnded()
            return result
        } catch {
            await giveBack(connection)  // rolls back a transaction left open
            session.transactionEnded()
            throw error
        }
    }

    /// Runs the body in a transaction, committed if it returns and rolled back if it throws.
    /// `prelude` statements (settings local to the transaction) are not sent on their own:
    /// they travel with BEGIN and the body's first statement in one round trip.
    public func withTransaction<Result>(
        prelude: [PostgresQuery] = [],
        _ body: (PostgresSession) async throws -> sending Result
    ) async throws -> sending Result {
        try await withConnection { session in
            session.pending = ["BEGIN"] + prelude
            do {
                let result = try await body(session)
                if session.pending.isEmpty {
                    _ = try await session.run { try $0.execute("COMMIT") }
                }
                session.pending = []
                return result
            } catch {
                session.pending = []
                // The connection is rolled back (or closed) when given back to the pool.
                throw error
            }
        }
    }

    /// Runs one statement on any connection.
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    /// BEGIN, the statements, COMMIT, in one network round trip; returns each statement's rows.
    /// A connection found dead before anything was sent is replaced and the work retried.
    public func transaction(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        for attempt in 0..<2 {
            let connection = try await lease(checkHealth: false)
            let outcome: TransactionOutcome
            do {
                outcome = try await threadPool.runIfActive {
                    guard connection.checkHealth() else { return .stale }
                    return .done(try connection.transaction(queries))
                }
            } catch {
                await giveBack(connection)
                throw error
            }
            await giveBack(connection)
            switch outcome {
            case .done(let rows): return rows
            case .stale: logger.debug("replacing a closed database connection", metadata: ["attempt": "\(attempt)"])
            }
        }
        throw PostgresError(.connectionLost, "no live database connection could be had")
    }

    private enum TransactionOutcome: Sendable {
        case done([PostgresRows])
        case stale
    }

    /// Runs blocking work with a connection on this client's threads.
    func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await threadPool.runIfActive(body)
        } catch let error as NIOThreadPoolError.ThreadPoolInactive {
            _ = error
            throw PostgresError(.clientClosed, "the database client is shut down")
        }
    }

    // MARK: Pool plumbing

    private func lease(checkHealth: Bool) async throws -> PostgresConnection {
        while true {
            switch try await pool.acquire(timeout: options.acquireTimeout) {
            case .slot:
                do {
                    let configuration = self.configuration
                    let prepared = options.preparedStatementsPerConnection
                    return try await onThread { try PostgresConnection.connect(configuration, preparedStatements: prepared) }
                } catch {
                    pool.discardSlot()
                    throw error
                }
            case .connection(let connection):
                if connection.openedAt.duration(to: .now) > options.maximumLifetime {
                    await close(connection)
                    pool.discardSlot()
                    continue
                }
                if checkHealth, connection.lastUsed.duration(to: .now) > options.healthCheckAfterIdle {
                    let healthy = (try? await onThread { connection.checkHealth() }) ?? false
                    if !healthy {
                        logger.info("replacing a closed database connection")
                        await close(connection)
                        pool.discardSlot()
                        continue
                    }
                }
                return connection
            }
        }
    }

    private func giveBack(_ connection: PostgresConnection) async {
        if !connection.isBroken, !connection.isIdle {
            _ = try? await onThread { connection.rollbackIfNeeded() }
        }
        if connection.isBroken || !connection.isIdle
            || connection.openedAt.duration(to: .now) > options.maximumLifetime {
            await close(connection)
            pool.discardSlot()
            return
        }
        if !pool.release(connection) {
            await close(connection)
        }
    }

    private func close(_ connection: PostgresConnection) async {
        do {
            try await threadPool.runIfActive { connection.close() }
        } catch {
            connection.close()  // the thread pool is gone: closing is quick, do it here
        }
    }
}

/// A leased connection as the body of `withConnection`/`withTransaction` sees it.
/// Valid only inside that body.
public final class PostgresSession {
    let connection: PostgresConnection
    public let client: PostgresClient
    /// Statements queued to travel with the next one (BEGIN and the transaction's prelude).
    var pending: [PostgresQuery] = []
    /// What runs once the open transaction has ended (see `afterTransaction`).
    private var endActions: [@Sendable () -> Void] = []

    init(connection: PostgresConnection, client: PostgresClient) {
        self.connection = connection
        self.client = client
    }

    /// Runs `action` once the open transaction has ended, committed or rolled back (the body
    /// of `withConnection` or `withTransaction` has returned or thrown); at once if none is open.
    /// For what must follow a commit, such as a NOTIFY left out of the transaction.
    public func afterTransaction(_ action: @escaping @Sendable () -> Void) {
        if connection.isIdle && pending.isEmpty {
            action()
        } else {
            endActions.append(action)
        }
    }

    func transactionEnded() {
        let actions = endActions
        endActions = []
        actions.forEach { $0() }
    }

    /// Runs one statement with bound parameters and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        if pending.isEmpty {
            return try await run { try $0.execute(query) }
        }
        let batch = pending + [query]
        pending = []
        return try await run { try $0.pipeline(batch) }.last ?? .empty
    }

    /// Runs several statements in one round trip; the first error is thrown.
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        let batch = pending + queries
        let skip = pending.count
        pending = []
        return Array(try await run { try $0.pipeline(batch) }.dropFirst(skip))
    }

    /// Runs trusted SQL text holding several statements (a migration file). Never user input.
    public func executeScript(_ sql: String) async throws {
        if !pending.isEmpty {
            let batch = pending
            pending = []
            _ = try await run { try $0.pipeline(batch) }
        }
        try await run { try $0.executeScript(sql) }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let connection = self.connection
        return try await client.onThread { try body(connection) }
    }
}
