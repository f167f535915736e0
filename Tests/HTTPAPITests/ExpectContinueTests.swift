import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `Expect: 100-continue` over a real socket: the interim answer comes before the body is sent.
@Suite("Expect: 100-continue")
struct ExpectContinueTests {
    let harness: APIHarness

    init() async throws {
        harness = try await APIHarness.make()
    }

    /// A blocking HTTP/1.1 exchange on its own thread (never the cooperative pool): sends the
    /// head, reads what comes within `wait`, sends the body, reads the final answer.
    static func exchange(port: Int, head: String, body: String, wait: TimeInterval) async throws -> (interim: String, final: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try RawHTTP(port: port).exchange(head: head, body: body, wait: wait) })
            }
        }
    }

    @Test("a client that asks to continue is told to at once, then gets its answer; the import behind it runs as usual")
    func interimAnswer() async throws {
        let key = harness.keyA
        try await harness.server.makeApplication().test(.live) { client in
            let port = try #require(client.port)
            let csv = "last_name;first_name;kind\nLe Goff;Yann;individual\n"
            let head = """
                POST /v1/imports/clients HTTP/1.1\r
                Host: localhost\r
                Authorization: Bearer \(key)\r
                Content-Type: text/csv\r
                Content-Length: \(csv.utf8.count)\r
                Expect: 100-continue\r
                \r

                """
            let (interim, final) = try await Self.exchange(port: port, head: head, body: csv, wait: 5)
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(interim)")
            #expect(final.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(final)")
            #expect(final.contains(#""created":1"#), "\(final)")

            // Without the expectation, no interim answer: the final one is the first.
            let plain = head.replacingOccurrences(of: "Expect: 100-continue\r\n", with: "")
            let (none, answer) = try await Self.exchange(port: port, head: plain, body: csv.replacingOccurrences(of: "Le Goff", with: "Le Gall"), wait: 0.3)
            #expect(none.isEmpty, "\(none)")
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        }
    }
}

/// One connection to 127.0.0.1, with blocking reads bounded by a receive timeout.
private struct RawHTTP {
    struct Failure: Error { var what: String }
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(what: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(socket); throw Failure(what: "connect") }
    }

    func exchange(head: String, body: String, wait: TimeInterval) throws -> (String, String) {
        defer { close(socket) }
        try send(head)
        let interim = read(until: wait, stopAfterHead: true)
        try send(body)
        return (interim, read(until: 10, stopAfterHead: false))
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { throw Failure(what: "send") }
            sent += count
        }
    }

    /// What arrives within `seconds`; stops at the end of one head, or once a whole answer with
    /// its Content-Length has arrived.
    func read(until seconds: TimeInterval, stopAfterHead: Bool) -> String {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                if stopAfterHead { return text }
                let length = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if text[end.upperBound...].utf8.count >= length { return text }
            }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return text }
            received += buffer[..<count]
        }
    }
}
