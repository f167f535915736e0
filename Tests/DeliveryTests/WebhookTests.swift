import Foundation
import NIOCore
import Testing
import TestSupport
@testable import Delivery

/// The receiver of `webhook/webhook_receiver.py`, with the requests it recorded.
struct WebhookTestReceiver {
    struct Request: Decodable {
        var method: String
        var path: String
        var headers: [[String]]
        var body_base64: String

        var body: [UInt8] { Array(Data(base64Encoded: body_base64) ?? Data()) }
        func header(_ name: String) -> String? {
            headers.first { $0[0].lowercased() == name.lowercased() }?[1]
        }
    }

    let server: LoopbackServer
    let scheme: String

    static func start(tls: Bool = false) async throws -> WebhookTestReceiver {
        let arguments = tls ? ["--cert", try TestCertificate.certificate, "--key", try TestCertificate.key] : []
        return WebhookTestReceiver(
            server: try await LoopbackServer.start(script: "DeliveryTests/webhook/webhook_receiver.py", arguments: arguments),
            scheme: tls ? "https" : "http")
    }

    func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(server.port)\(path)" }
    func requests() throws -> [Request] { try server.records(in: "requests", as: Request.self) }
    func stop() { server.stop() }
}

@Suite("Webhook delivery against a real receiver")
struct WebhookTests {
    static let secret = "whsec_4f1c2d3e0b6a"
    static let payload = #"{"event":"churn_alert.opened","client_id":"0192f7a0","score":81,"reasons":["détracteur"]}"#

    @Test("The receiver gets the JSON body as sent, the delivery id, and a signature it can verify")
    func deliversASignedPost() async throws {
        let receiver = try await WebhookTestReceiver.start()
        defer { receiver.stop() }
        let sender = try WebhookSender()

        let receipt = try await sender.send(WebhookRequest(
            url: receiver.url("/hooks/sms?tenant=dupont"), json: Self.payload, deliveryID: "alert-42-attempt", secret: Self.secret))

        let requests = try receiver.requests()
        try #require(requests.count == 1)
        let request = requests[0]
        #expect(receipt.statusCode == 200)
        #expect(request.method == "POST")
        #expect(request.path == "/hooks/sms?tenant=dupont")
        #expect(request.body == Array(Self.payload.utf8))
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Clientele-Delivery") == "alert-42-attempt")
        #expect(request.header("Clientele-Timestamp") == "\(receipt.timestamp)")
        #expect(abs(receipt.timestamp - Int(Date().timeIntervalSince1970)) < 60)
        let signature = try #require(request.header("Clientele-Signature"))
        #expect(signature.hasPrefix("v1="))
        try WebhookSignature.verify(body: request.body, timestamp: request.header("Clientele-Timestamp") ?? "",
                                    signature: signature, secret: Self.secret)
        #expect(throws: WebhookSignature.VerificationError.mismatch) {
            try WebhookSignature.verify(body: request.body, timestamp: request.header("Clientele-Timestamp") ?? "",
                                        signature: signature, secret: "another tenant's secret")
        }
    }

    @Test("HTTPS with the receiver's self-signed certificate trusted")
    func deliversOverHTTPS() async throws {
        let receiver = try await WebhookTestReceiver.start(tls: true)
        defer { receiver.stop() }
        let sender = try WebhookSender(configuration: .init(trust: .pemFile(TestCertificate.certificate)))

        let receipt = try await sender.send(WebhookRequest(url: receiver.url("/hooks"), json: Self.payload, deliveryID: "d-1", secret: Self.secret))

        #expect(receipt.statusCode == 200)
        #expect(try receiver.requests().map(\.body) == [Array(Self.payload.utf8)])
    }

    @Test("HTTPS to a certificate the sender does not trust is refused before the body is sent")
    func untrustedHTTPS() async throws {
        let receiver = try await WebhookTestReceiver.start(tls: true)
        defer { receiver.stop() }

        let error = try await #require(throws: WebhookError.self) {
            try await WebhookSender().send(WebhookRequest(url: receiver.url("/hooks"), json: Self.payload, deliveryID: "d-1", secret: Self.secret))
        }

        #expect(error.isTransient)
        #expect(error.statusCode == nil)
        #expect(try receiver.requests().isEmpty)
    }

    struct StatusCase: CustomTestStringConvertible, Sendable {
        var path: String
        var code: WebhookError.Code
        var status: Int
        var retryAfter: Int?
        var testDescription: String { path }
    }

    @Test("408, 429 and 5xx are transient; other 4xx and redirects permanent", arguments: [
        StatusCase(path: "/status/500", code: .transient, status: 500),
        StatusCase(path: "/status/503?retry_after=30", code: .transient, status: 503, retryAfter: 30),
        StatusCase(path: "/status/429?retry_after=7", code: .transient, status: 429, retryAfter: 7),
        StatusCase(path: "/status/408", code: .transient, status: 408),
        StatusCase(path: "/status/400", code: .permanent, status: 400),
        StatusCase(path: "/status/401", code: .permanent, status: 401),
        StatusCase(path: "/status/404", code: .permanent, status: 404),
        StatusCase(path: "/status/410", code: .permanent, status: 410),
        StatusCase(path: "/status/301", code: .permanent, status: 301),
    ])
    func statusIsClassified(_ answer: StatusCase) async throws {
        let receiver = try await WebhookTestReceiver.start()
        defer { receiver.stop() }

        let error = try await #require(throws: WebhookError.self) {
            try await WebhookSender().send(WebhookRequest(url: receiver.url(answer.path), json: Self.payload, deliveryID: "d-1", secret: Self.secret))
        }

        #expect(error.code == answer.code)
        #expect(error.statusCode == answer.status)
        #expect(error.retryAfter == answer.retryAfter)
        #expect(error.message.contains("refused by the test receiver"))
        #expect(try receiver.requests().count == 1)
    }

    @Test("A receiver that never answers is a transient timeout")
    func timeout() async throws {
        let receiver = try await WebhookTestReceiver.start()
        defer { receiver.stop() }
        let sender = try WebhookSender(configuration: .init(timeout: .milliseconds(700)))
        let started = ContinuousClock.now

        let error = try await #require(throws: WebhookError.self) {
            try await sender.send(WebhookRequest(url: receiver.url("/hang"), json: Self.payload, deliveryID: "d-1", secret: Self.secret))
        }

        #expect(error.isTransient)
        #expect(error.message.contains("no response within 700 ms"))
        #expect(ContinuousClock.now - started < .seconds(30), "well before the receiver's 60 s hang ends")
    }

    @Test("A connection dropped before the answer, or refused, is transient")
    func connectionFailures() async throws {
        let receiver = try await WebhookTestReceiver.start()
        defer { receiver.stop() }
        let sender = try WebhookSender()

        let dropped = try await #require(throws: WebhookError.self) {
            try await sender.send(WebhookRequest(url: receiver.url("/close"), json: Self.payload, deliveryID: "d-1", secret: Self.secret))
        }
        let refused = try await #require(throws: WebhookError.self) {
            try await sender.send(WebhookRequest(url: "http://127.0.0.1:\(try LoopbackServer.closedPort())/", json: Self.payload, deliveryID: "d-1", secret: Self.secret))
        }

        #expect(dropped.isTransient && dropped.statusCode == nil)
        #expect(refused.isTransient && refused.message.contains("cannot connect"))
    }

    @Test("A URL that is not http(s) or a delivery id that could inject a header is permanent")
    func invalidRequests() async throws {
        let sender = try WebhookSender()
        for request in [
            WebhookRequest(url: "ftp://example.com/hook", json: "{}", deliveryID: "d-1", secret: "s"),
            WebhookRequest(url: "not a url", json: "{}", deliveryID: "d-1", secret: "s"),
            WebhookRequest(url: "http://127.0.0.1:9/hook", json: "{}", deliveryID: "d-1\r\nX-Evil: 1", secret: "s"),
            WebhookRequest(url: "http://127.0.0.1:9/hook", json: "{}", deliveryID: "", secret: "s"),
        ] {
            let error = try await #require(throws: WebhookError.self) { try await sender.send(request) }
            #expect(error.code == .permanent, "\(request.url) \(request.deliveryID)")
        }
    }
}
