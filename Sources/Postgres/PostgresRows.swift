/// The rows of one result, already copied out of libpq: a `PGresult` never outlives the
/// thread-pool hop that produced it, so these values can cross any `await`.
public struct PostgresRows: Sendable, Sequence {
    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: PostgresType
    }

    public let columns: [Column]
    /// Cells in row-major order; nil is SQL NULL.
    let cells: [String?]
    /// Rows affected by INSERT/UPDATE/DELETE (from `PQcmdTuples`), 0 otherwise.
    public let affectedRows: Int

    init(columns: [Column], cells: [String?], affectedRows: Int) {
        self.columns = columns
        self.cells = cells
        self.affectedRows = affectedRows
    }

    public static let empty = PostgresRows(columns: [], cells: [], affectedRows: 0)

    public var count: Int { columns.isEmpty ? 0 : cells.count / columns.count }
    public var isEmpty: Bool { count == 0 }
    public var first: PostgresRow? { isEmpty ? nil : PostgresRow(rows: self, index: 0) }

    public subscript(index: Int) -> PostgresRow { PostgresRow(rows: self, index: index) }

    public func makeIterator() -> AnyIterator<PostgresRow> {
        var index = 0
        return AnyIterator {
            guard index < count else { return nil }
            defer { index += 1 }
            return PostgresRow(rows: self, index: index)
        }
    }

    func columnIndex(named name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }
}

/// One row, read by position or by column name.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    public var columnCount: Int { rows.columns.count }

    /// The raw text of a cell; nil for NULL.
    public func text(at column: Int) -> String? {
        rows.cells[index * rows.columns.count + column]
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at column: Int) throws -> T {
        guard column >= 0, column < rows.columns.count else {
            throw PostgresError(.missingColumn, "column \(column) does not exist (the row has \(rows.columns.count))")
        }
        let info = rows.columns[column]
        return try T.decode(cell: text(at: column), type: info.type, column: info.name)
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, named name: String) throws -> T {
        guard let column = rows.columnIndex(named: name) else {
            throw PostgresError(.missingColumn, "column \"\(name)\" is not in the result")
        }
        return try decode(type, at: column)
    }

    public subscript<T: PostgresDecodable>(name: String, as type: T.Type = T.self) -> T {
        get throws { try decode(type, named: name) }
    }
}
