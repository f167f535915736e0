import CLibpq
import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Every method here blocks and must run on a thread of the client's
/// own pool, never on an event loop or the cooperative pool; `PostgresClient` sees to that.
///
/// Not thread-safe by itself (libpq forbids two threads on one `PGconn` at once): the pool
/// leases a connection to one task at a time, and that task awaits each call in turn.
/// No `PGresult` leaves a method: rows are copied into `PostgresRows` and the result cleared.
public final class PostgresConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// When the connection was opened, for the pool's maximum lifetime.
    let openedAt: ContinuousClock.Instant
    /// Mirrors of libpq's state after the last call, readable without touching libpq.
    private(set) var isBroken = false
    private(set) var isIdle = true
    /// Lets the pool ask for a cheap health check only for connections that sat unused.
    var lastUsed: ContinuousClock.Instant
    /// Statements marked `prepared()` that this connection's server session holds.
    private(set) var statements: PreparedStatements

    private init(handle: OpaquePointer, preparedStatements: Int) {
        self.handle = handle
        self.statements = PreparedStatements(capacity: preparedStatements)
        self.openedAt = .now
        self.lastUsed = .now
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Opens a connection that keeps up to `preparedStatements` named statements. Blocks.
    static func connect(_ configuration: PostgresConfiguration, preparedStatements: Int = 0) throws -> PostgresConnection {
        let pairs = configuration.keywordValues
        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keywordPointers = keywords.map { UnsafePointer<CChar>($0) } + [nil]
        var valuePointers = values.map { UnsafePointer<CChar>($0) } + [nil]
        guard let handle = PQconnectdbParams(&keywordPointers, &valuePointers, 0) else {
            throw PostgresError(.connectionFailed, "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.message(of: handle)
            PQfinish(handle)
            throw PostgresError(.connectionFailed, "cannot connect to \(configuration): \(message)")
        }
        // Notices ("relation already exists, skipping") are not errors; keep them off stderr.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return PostgresConnection(handle: handle, preparedStatements: preparedStatements)
    }

    /// Closes the connection; safe to call more than once, `PQfinish` runs exactly once.
    func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
        isBroken = true
    }

    private func liveHandle() throws -> OpaquePointer {
        // Debug builds (the tests) trap if a blocking libpq call ever reaches an event loop.
        assert(MultiThreadedEventLoopGroup.currentEventLoop == nil, "libpq called on a SwiftNIO event loop")
        guard let handle, !isBroken else {
            throw PostgresError(.connectionLost, "the connection is closed")
        }
        return handle
    }

    /// True if the server has not closed the connection meanwhile (for example a restart).
    /// Reads whatever the server sent while the connection sat idle, without waiting.
    func checkHealth() -> Bool {
        guard let handle, !isBroken, PQstatus(handle) == CONNECTION_OK else {
            isBroken = true
            return false
        }
        // A server that shut down sends a FATAL message and then closes: read until the socket
        // is quiet, so that the close is seen too.
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        for _ in 0..<8 {
            descriptor.revents = 0
            guard poll(&descriptor, 1, 0) > 0 else { return true }
            if PQconsumeInput(handle) == 0 || PQstatus(handle) == CONNECTION_BAD {
                isBroken = true
                return false
            }
            while let notify = PQnotifies(handle) { PQfreemem(notify) }
        }
        return true
    }

    // MARK: Statements

    /// Runs one statement with bound parameters (extended protocol).
    func execute(_ query: PostgresQuery) throws -> PostgresRows {
        if query.isPrepared { return try pipeline([query])[0] }
        let handle = try liveHandle()
        let result = withParameters(query.binds) { values, types in
            PQexecParams(handle, query.sql, Int32(query.binds.count), types, values, nil, nil, 0)
        }
        defer { noteState() }
        return try consume(result, handle: handle)
    }

    /// Runs trusted SQL text that may hold several statements (simple protocol), as migration
    /// files do. Never used with user input.
    func executeScript(_ sql: String) throws {
        let handle = try liveHandle()
        defer { noteState() }
        _ = try consume(PQexec(handle, sql), handle: handle)
        // PQexec returns only the last result; errors in earlier statements stop the script
        // and are what it returns, so nothing else is lost.
    }

    /// Sends all statements in one pipeline and one network round trip, and returns each one's
    /// rows. The first server error is thrown after the pipeline is drained.
    func pipeline(_ queries: [PostgresQuery]) throws -> [PostgresRows] {
        let handle = try liveHandle()
        defer { noteState() }
        guard PQenterPipelineMode(handle) == 1 else {
            throw connectionError(handle, "cannot enter pipeline mode")
        }
        // What each result in the pipeline answers: a statement of `queries`, or the
        // preparation of a named statement that follows it.
        enum Sent {
            case statement
            case preparation(PreparedStatements.Key, name: String)
        }
        var sent: [Sent] = []
        sent.reserveCapacity(queries.count)
        var preparing: [PreparedStatements.Key: String] = [:]
        var failure: PostgresError?
        for query in queries {
            let count = Int32(query.binds.count)
            let ok = withParameters(query.binds) { values, types -> Int32 in
                guard query.isPrepared else {
                    return PQsendQueryParams(handle, query.sql, count, types, values, nil, nil, 0)
                }
                let key = PreparedStatements.Key(sql: query.sql, types: query.binds.types)
                if let name = statements.name(for: key) ?? preparing[key] {
                    return PQsendQueryPrepared(handle, name, count, values, nil, nil, 0)
                }
                guard statements.count + preparing.count < statements.capacity else {
                    return PQsendQueryParams(handle, query.sql, count, types, values, nil, nil, 0)
                }
                let name = statements.newName()
                guard PQsendPrepare(handle, name, query.sql, count, types) == 1 else { return 0 }
                preparing[key] = name
                sent.append(.preparation(key, name: name))
                return PQsendQueryPrepared(handle, name, count, values, nil, nil, 0)
            }
            guard ok == 1 else {
                failure = connectionError(handle, "cannot send a statement")
                break
            }
            sent.append(.statement)
        }
        if failure == nil, PQpipelineSync(handle) != 1 {
            failure = connectionError(handle, "cannot send the pipeline")
        }
        if let failure {
            close()
            throw failure
        }
        var results: [PostgresRows] = []
        results.reserveCapacity(queries.count)
        var current = PostgresRows.empty
        var succeeded = false
        var answered = 0
        while true {
            guard let result = PQgetResult(handle) else {
                // A NULL ends one statement's results; a broken connection only ever gives NULL.
                if PQstatus(handle) == CONNECTION_BAD {
                    let error = connectionError(handle, "the connection broke during a pipeline")
                    close()
                    throw error
                }
                if answered < sent.count, case .preparation(let key, let name) = sent[answered] {
                    // Only a preparation the server confirmed is reused; one skipped because the
                    // pipeline aborted before it does not exist.
                    if succeeded { statements.insert(key, name: name) }
                } else {
                    results.append(current)
                }
                answered += 1
                current = .empty
                succeeded = false
                continue
            }
            defer { PQclear(result) }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC { break }
            switch status {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                current = Self.rows(of: result)
                succeeded = true
            case PGRES_PIPELINE_ABORTED:
                break
            default:
                if failure == nil { failure = Self.serverError(of: result, handle: handle) }
            }
        }
        PQexitPipelineMode(handle)
        if let failure {
            forgetStatementsIfLost(failure)
            throw failure
        }
        return results
    }

    /// BEGIN, the statements, COMMIT: one round trip. On an error the transaction is rolled back
    /// before the error is thrown, so the connection goes back to the pool idle.
    func transaction(_ queries: [PostgresQuery]) throws -> [PostgresRows] {
        do {
            let results = try pipeline(["BEGIN"] + queries + ["COMMIT"])
            return Array(results.dropFirst().dropLast())
        } catch let error as PostgresError {
            rollbackIfNeeded()
            throw error
        }
    }

    /// Ends a failed or abandoned transaction; a connection that cannot do so is closed.
    func rollbackIfNeeded() {
        guard let handle, !isBroken else { return }
        if PQtransactionStatus(handle) != PQTRANS_IDLE {
            if let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
        }
        noteState()
        if !isIdle { close() }
    }

    // MARK: LISTEN/NOTIFY support

    var socket: Int32 {
        guard let handle else { return -1 }
        return PQsocket(handle)
    }

    /// Reads what has arrived and returns the notifications in it, without blocking.
    func consumeNotifications() throws -> [PostgresNotification] {
        let handle = try liveHandle()
        guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else {
            let error = connectionError(handle, "the listening connection broke")
            close()
            throw error
        }
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(handle) {
            notifications.append(
                PostgresNotification(
                    channel: String(cString: notify.pointee.relname),
                    payload: String(cString: notify.pointee.extra),
                    processID: notify.pointee.be_pid
                )
            )
            PQfreemem(notify)
        }
        return notifications
    }

    // MARK: Helpers

    /// A named statement the server no longer has (26000), or whose tables changed shape under
    /// it (0A000, "cached plan must not change result type"): forget them all, so the next run
    /// prepares again. Our code never deallocates; this is for an outside `DISCARD ALL`.
    private func forgetStatementsIfLost(_ error: PostgresError) {
        guard let state = error.sqlState?.rawValue, state == "26000" || state == "0A000" else { return }
        statements.removeAll()
    }

    private func noteState() {
        guard let handle else {
            isBroken = true
            isIdle = false
            return
        }
        isBroken = PQstatus(handle) != CONNECTION_OK
        isIdle = PQtransactionStatus(handle) == PQTRANS_IDLE
        lastUsed = .now
    }

    private func consume(_ result: OpaquePointer?, handle: OpaquePointer) throws -> PostgresRows {
        guard let result else {
            throw connectionError(handle, "no result")
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return Self.rows(of: result)
        default:
            throw Self.serverError(of: result, handle: handle)
        }
    }

    private func connectionError(_ handle: OpaquePointer, _ context: String) -> PostgresError {
        PostgresError(.connectionLost, "\(context): \(Self.message(of: handle))")
    }

    private static func message(of handle: OpaquePointer) -> String {
        guard let text = PQerrorMessage(handle) else { return "unknown error" }
        return String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func serverError(of result: OpaquePointer, handle: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        guard let state = field("C") else {
            // No SQLSTATE: libpq itself failed, which means the connection did.
            return PostgresError(.connectionLost, message(of: handle))
        }
        let sqlState = SQLState(rawValue: state)
        let code: PostgresError.Code =
            PQstatus(handle) == CONNECTION_BAD || sqlState.isConnectionException ? .connectionLost : .server
        return PostgresError(
            code, field("M") ?? "unknown error", sqlState: sqlState, detail: field("D"), hint: field("H"),
            constraint: field("n"), table: field("t"), column: field("c")
        )
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let fieldCount = Int(PQnfields(result))
        var columns: [PostgresRows.Column] = []
        columns.reserveCapacity(fieldCount)
        for field in 0..<fieldCount {
            columns.append(.init(
                name: String(cString: PQfname(result, Int32(field))),
                type: PostgresType(rawValue: PQftype(result, Int32(field)))
            ))
        }
        var cells: [String?] = []
        cells.reserveCapacity(rowCount * fieldCount)
        for row in 0..<Int32(rowCount) {
            for field in 0..<Int32(fieldCount) {
                if PQgetisnull(result, row, field) == 1 {
                    cells.append(nil)
                } else {
                    cells.append(String(cString: PQgetvalue(result, row, field)))
                }
            }
        }
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        return PostgresRows(columns: columns, cells: cells, affectedRows: affected)
    }

    /// Gives libpq C strings for the parameters for the duration of one call.
    private func withParameters<R>(
        _ binds: PostgresBindings,
        _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Oid>?) -> R
    ) -> R {
        if binds.count == 0 { return body(nil, nil) }
        let copies: [UnsafeMutablePointer<CChar>?] = binds.values.map { $0.map { strdup($0) } }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer<CChar>($0) }
        return pointers.withUnsafeBufferPointer { values in
            binds.types.withUnsafeBufferPointer { types in
                body(values.baseAddress, types.baseAddress)
            }
        }
    }
}

/// A message received on a channel the listener follows.
public struct PostgresNotification: Sendable, Hashable {
    public var channel: String
    public var payload: String
    public var processID: Int32
}
