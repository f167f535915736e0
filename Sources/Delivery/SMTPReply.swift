import NIOCore

/// One server reply: a three-digit code and its lines ("250-first", ..., "250 last").
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var text: String { "\(code) " + lines.joined(separator: " / ") }
    /// EHLO lines after the first are the extensions: "STARTTLS", "AUTH PLAIN LOGIN"...
    var extensions: [String] { Array(lines.dropFirst()) }
}

/// Splits the byte stream into replies. A line without a valid code, or a line or reply that is
/// too long, is a protocol error that ends the session.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    private var lines: [String] = []
    private var code: Int?

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 4096 { throw SMTPProtocolError("reply line longer than 4096 bytes") }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        var line = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }

        let bytes = Array(line.utf8)
        guard bytes.count >= 3, bytes[0...2].allSatisfy({ $0 >= 48 && $0 <= 57 }),
              let lineCode = Int(String(decoding: bytes[0...2], as: UTF8.self)), lineCode >= 200, lineCode < 600,
              bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-")
        else { throw SMTPProtocolError("malformed reply line \"\(line.prefix(80))\"") }
        if let code, code != lineCode { throw SMTPProtocolError("reply code changed inside a reply: \(code) then \(lineCode)") }
        code = lineCode
        lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        guard lines.count <= 100 else { throw SMTPProtocolError("reply of more than 100 lines") }

        if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") {
            let reply = SMTPReply(code: lineCode, lines: lines)
            lines = []
            code = nil
            context.fireChannelRead(Self.wrapInboundOut(reply))
        }
        return .continue
    }
}

struct SMTPProtocolError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
