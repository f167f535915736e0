import Foundation
import NIOCore
import Testing
import TestSupport
@testable import Delivery

/// A server that refuses, hangs or drops the connection: each gives a clear error of the right
/// class at the right stage, and never a receipt.
@Suite("SMTP faults")
struct SMTPFaultTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var mode: SMTPTestServer.Mode
        var code: SMTPError.Code
        var stage: SMTPStage
        var replyCode: Int?
        var text: String
        var testDescription: String { mode.rawValue }
        /// Short where the server hangs, so the test is quick; long elsewhere, so a slow
        /// machine never turns a refusal into a timeout.
        var timeout: TimeAmount { mode == .hangData || mode == .silent ? .milliseconds(1500) : .seconds(10) }
    }

    static let refusals: [Case] = [
        Case(mode: .rcpt550, code: .permanent, stage: .recipient, replyCode: 550, text: "User unknown"),
        Case(mode: .rcpt451, code: .transient, stage: .recipient, replyCode: 451, text: "Temporary lookup failure"),
        Case(mode: .data550, code: .permanent, stage: .messageBody, replyCode: 550, text: "rejected as spam"),
        Case(mode: .data451, code: .transient, stage: .messageBody, replyCode: 451, text: "Greylisted"),
        Case(mode: .hangData, code: .transient, stage: .messageBody, replyCode: nil, text: "no reply within 1500 ms"),
        Case(mode: .closeMidData, code: .transient, stage: .messageBody, replyCode: nil, text: "connection"),
        Case(mode: .silent, code: .transient, stage: .greeting, replyCode: nil, text: "no reply within 1500 ms"),
    ]

    @Test("5xx is permanent, 4xx, a timeout or a dropped connection transient; nothing is reported sent",
          arguments: refusals)
    func faultIsClassified(_ fault: Case) async throws {
        let server = try await SMTPTestServer.start(fault.mode)
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration(commandTimeout: fault.timeout))

        let error = try await #require(throws: SMTPError.self) { try await client.send(SampleMail.invitation()) }

        #expect(error.code == fault.code, "\(error)")
        #expect(error.isTransient == (fault.code == .transient))
        #expect(error.stage == fault.stage, "\(error)")
        #expect(error.replyCode == fault.replyCode, "\(error)")
        #expect(error.message.contains(fault.text), "\(error)")
        #expect(try server.received().isEmpty)
    }

    @Test("Cancelling the sending task closes the session at once: a cancellation, not a receipt")
    func cancellation() async throws {
        let server = try await SMTPTestServer.start(.hangData)
        defer { server.stop() }
        let client = try SMTPClient(configuration: server.configuration(commandTimeout: .seconds(60)))
        let started = ContinuousClock.now

        let sending = Task { try await client.send(SampleMail.invitation()) }
        try await Task.sleep(for: .milliseconds(500))
        sending.cancel()

        await #expect(throws: CancellationError.self) { try await sending.value }
        #expect(ContinuousClock.now - started < .seconds(30), "well before the 60 s reply timeout")
        #expect(try server.received().isEmpty)
    }

    @Test("A connection refused is transient, at the connect stage")
    func connectionRefused() async throws {
        let port = try LoopbackServer.closedPort()
        let client = try SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: port, security: .none))

        let error = try await #require(throws: SMTPError.self) { try await client.send(SampleMail.invitation()) }

        #expect(error.code == .transient)
        #expect(error.stage == .connect)
    }

    @Test("A message that could inject headers or is malformed is refused before connecting")
    func invalidMessagesAreRefused() async throws {
        // Nothing listens there: a failure at .message proves no connection was tried.
        let client = try SMTPClient(configuration: SMTPConfiguration(host: "127.0.0.1", port: try LoopbackServer.closedPort(), security: .none))
        var injected = SampleMail.invitation()
        injected.subject = "Bonjour\r\nBcc: everyone@example.com"
        var badAddress = SampleMail.invitation()
        badAddress.to = [EmailAddress("elodie martin@example.fr")]
        var reserved = SampleMail.invitation()
        reserved.headers = [(name: "Subject", value: "second subject")]
        var headerBreak = SampleMail.invitation()
        headerBreak.headers = [(name: "X-Note", value: "a\nb")]
        var plainUnsubscribe = SampleMail.invitation()
        plainUnsubscribe.listUnsubscribe = "http://clientele.test/unsubscribe"
        var badMessageID = SampleMail.invitation()
        badMessageID.messageID = "no at sign"
        var nobody = SampleMail.invitation()
        nobody.to = []

        for message in [injected, badAddress, reserved, headerBreak, plainUnsubscribe, badMessageID, nobody] {
            let error = try await #require(throws: SMTPError.self) { try await client.send(message) }
            #expect(error.code == .permanent)
            #expect(error.stage == .message, "\(error)")
        }
    }
}
