import Foundation

/// Every failure of the libpq layer. A struct with a `Code`, like postgres-nio's PSQLError,
/// so callers match on codes and SQLSTATEs rather than on strings.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }
        public var description: String { raw }

        /// The connection could not be opened (server down, bad credentials, bad host).
        public static let connectionFailed = Code("connectionFailed")
        /// The connection broke while in use (server restart, network failure).
        public static let connectionLost = Code("connectionLost")
        /// The server answered a statement with an error: see `sqlState`.
        public static let server = Code("server")
        /// No connection could be had from the pool within the acquire timeout.
        public static let poolTimeout = Code("poolTimeout")
        /// The client was shut down.
        public static let clientClosed = Code("clientClosed")
        /// A column could not be decoded into the requested Swift type.
        public static let decoding = Code("decoding")
        /// A row or column that was asked for does not exist.
        public static let missingColumn = Code("missingColumn")
        /// The server answered in a way this layer does not expect.
        public static let protocolViolation = Code("protocolViolation")
    }

    public var code: Code
    /// The server's error fields, when the server sent them.
    public var sqlState: SQLState?
    public var message: String
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    public var table: String?
    public var column: String?

    public init(
        _ code: Code, _ message: String, sqlState: SQLState? = nil, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, table: String? = nil, column: String? = nil
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
    }

    public var description: String {
        var text = "PostgreSQL \(code)"
        if let sqlState { text += " [\(sqlState.rawValue)]" }
        text += ": \(message)"
        if let detail { text += " (\(detail))" }
        return text
    }
}

/// A five-character SQLSTATE, with the ones callers map to domain errors named.
public struct SQLState: RawRepresentable, Hashable, Sendable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The two-character class: "23" is integrity constraint violation, "08" connection exception.
    public var errorClass: String { String(rawValue.prefix(2)) }

    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let exclusionViolation = SQLState(rawValue: "23P01")
    public static let insufficientPrivilege = SQLState(rawValue: "42501")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let undefinedObject = SQLState(rawValue: "42704")
    public static let duplicateObject = SQLState(rawValue: "42710")
    public static let duplicateSchema = SQLState(rawValue: "42P06")
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    public static let numericValueOutOfRange = SQLState(rawValue: "22003")
    public static let stringDataRightTruncation = SQLState(rawValue: "22001")
    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let queryCanceled = SQLState(rawValue: "57014")
    public static let adminShutdown = SQLState(rawValue: "57P01")
    public static let lockNotAvailable = SQLState(rawValue: "55P03")

    public var isIntegrityConstraintViolation: Bool { errorClass == "23" }
    public var isDataException: Bool { errorClass == "22" }
    public var isConnectionException: Bool { errorClass == "08" }
}

extension PostgresError {
    public var isUniqueViolation: Bool { sqlState == .uniqueViolation }
    /// True when the failure is the connection's, not the statement's: the work may be retried elsewhere.
    public var isConnectionFailure: Bool {
        code == .connectionFailed || code == .connectionLost
            || (sqlState.map { $0.isConnectionException || $0 == .adminShutdown } ?? false)
    }
}
