import Foundation

/// A CSV file as read for an import: RFC 4180 quoting, a header row, `,` or `;` (French Excel
/// writes `;`) detected from the header, UTF-8 with or without a BOM. It is parsed on the bytes:
/// the delimiter, quote and line ends are ASCII, so they never occur inside a UTF-8 character.
public struct CSVTable: Sendable {
    public struct Record: Sendable {
        /// The file line the record starts on (the header is line 1; a quoted line break makes a
        /// record span several lines).
        public var line: Int
        public var fields: [String]
    }

    public var delimiter: UInt8
    public var header: [String]
    public var records: [Record]

    /// Parses the whole file; a malformed file (not UTF-8, an unclosed quote, a stray quote, no
    /// header) is refused as a whole, naming the line.
    public init(parsing bytes: [UInt8]) throws {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        guard String(validating: bytes[start...], as: UTF8.self) != nil else {
            throw CSVError("the file is not UTF-8 text; save it as \"CSV UTF-8\"")
        }
        delimiter = Self.detectDelimiter(bytes[start...])
        var parser = Parser(bytes: bytes, position: start, delimiter: delimiter)
        var header: [String]?
        var records: [Record] = []
        while let (line, fields) = try parser.nextRecord() {
            if fields.count == 1, fields[0].isEmpty { continue }  // a blank line
            if header == nil {
                header = fields.map { $0.trimmingCharacters(in: .whitespaces) }
            } else {
                records.append(Record(line: line, fields: fields))
            }
        }
        guard let header, header.contains(where: { !$0.isEmpty }) else {
            throw CSVError("the file has no header row; its first line must name the columns")
        }
        self.header = header
        self.records = records
    }

    /// The more frequent of `;` and `,` in the header line (outside quotes); `,` if neither.
    static func detectDelimiter(_ bytes: ArraySlice<UInt8>) -> UInt8 {
        var commas = 0, semicolons = 0, quoted = false
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { quoted.toggle() }
            if quoted { continue }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { break }
            if byte == UInt8(ascii: ",") { commas += 1 }
            if byte == UInt8(ascii: ";") { semicolons += 1 }
        }
        return semicolons > commas ? UInt8(ascii: ";") : UInt8(ascii: ",")
    }

    private struct Parser {
        let bytes: [UInt8]
        var position: Int
        let delimiter: UInt8
        var line = 1

        init(bytes: [UInt8], position: Int, delimiter: UInt8) {
            self.bytes = bytes
            self.position = position
            self.delimiter = delimiter
        }

        /// The next record and the line it starts on; nil at the end of the file.
        mutating func nextRecord() throws -> (Int, [String])? {
            guard position < bytes.count else { return nil }
            let startLine = line
            var fields: [String] = []
            var field: [UInt8] = []
            while true {
                field.removeAll(keepingCapacity: true)
                if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
                    let quoteLine = line
                    position += 1
                    while true {
                        guard position < bytes.count else {
                            throw CSVError("line \(quoteLine): a quoted field is never closed", line: quoteLine)
                        }
                        let byte = bytes[position]
                        position += 1
                        if byte == UInt8(ascii: "\"") {
                            if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
                                field.append(byte)
                                position += 1
                            } else {
                                break
                            }
                        } else {
                            if byte == UInt8(ascii: "\n") { line += 1 }
                            field.append(byte)
                        }
                    }
                    if position < bytes.count, !isEnd(bytes[position]) {
                        throw CSVError("line \(line): unexpected text after a closing quote; double the quotes inside a quoted field (\"\")", line: line)
                    }
                } else {
                    while position < bytes.count, !isEnd(bytes[position]) {
                        if bytes[position] == UInt8(ascii: "\"") {
                            throw CSVError("line \(line): a quote inside an unquoted field; quote the whole field and double the quote (\"\")", line: line)
                        }
                        field.append(bytes[position])
                        position += 1
                    }
                }
                fields.append(String(decoding: field, as: UTF8.self))
                guard position < bytes.count else { return (startLine, fields) }
                let end = bytes[position]
                position += 1
                if end == delimiter { continue }
                if end == UInt8(ascii: "\r"), position < bytes.count, bytes[position] == UInt8(ascii: "\n") { position += 1 }
                line += 1
                return (startLine, fields)
            }
        }

        func isEnd(_ byte: UInt8) -> Bool {
            byte == delimiter || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
        }
    }
}

/// A file that cannot be read as CSV at all: nothing of it is imported.
public struct CSVError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var line: Int?
    public init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }
    public var description: String { message }
}

/// Writes CSV for spreadsheets: RFC 4180 quoting, CRLF line ends, and formulas neutralised: a
/// cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a
/// spreadsheet shows it as text instead of running it (CSV injection).
public struct CSVWriter: Sendable {
    public let delimiter: UInt8
    public var bytes: [UInt8] = []

    public init(delimiter: UInt8) {
        self.delimiter = delimiter
    }

    /// The UTF-8 byte order mark: Excel reads the file as UTF-8 only with it.
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    public mutating func row(_ cells: [String?]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { bytes.append(delimiter) }
            write(cell ?? "")
        }
        bytes.append(UInt8(ascii: "\r"))
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func write(_ cell: String) {
        let utf8 = cell.utf8
        let risky = utf8.first.map { Self.formulaStarts.contains($0) } ?? false
        let needsQuotes = utf8.contains { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }
        if needsQuotes { bytes.append(UInt8(ascii: "\"")) }
        if risky { bytes.append(UInt8(ascii: "'")) }
        for byte in utf8 {
            if byte == UInt8(ascii: "\"") { bytes.append(byte) }
            bytes.append(byte)
        }
        if needsQuotes { bytes.append(UInt8(ascii: "\"")) }
    }

    /// What a spreadsheet would take for the start of a formula.
    static let formulaStarts: Set<UInt8> = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13]

    /// Undoes the neutralisation on import: `'=1+2` reads back as `=1+2`, `'+33 6…` as `+33 6…`.
    public static func unneutralised(_ cell: String) -> String {
        let utf8 = cell.utf8
        guard utf8.count >= 2, utf8.first == UInt8(ascii: "'"),
              formulaStarts.contains(utf8[utf8.index(after: utf8.startIndex)])
        else { return cell }
        return String(cell.dropFirst())
    }
}
