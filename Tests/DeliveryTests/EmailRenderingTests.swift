import Foundation
import NIOCore
import Testing
@testable import Delivery

/// The wire form of a message, checked without a server: the rules a strict relay enforces.
@Suite("Email rendering")
struct EmailRenderingTests {
    @Test("Every line ends with CRLF and stays within 998 octets, body lines within 76")
    func lineRules() throws {
        let rendered = try SampleMail.invitation().render(boundary: "=_b")
        #expect(!rendered.content.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(!rendered.content.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
        let lines = rendered.content.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        let body = lines.drop { !$0.isEmpty }
        #expect(body.allSatisfy { $0.utf8.count <= 76 })
        #expect(rendered.content.utf8.allSatisfy { $0 < 128 }, "7-bit on the wire")
    }

    @Test("Quoted-printable escapes '=', non-ASCII and trailing spaces, and never cuts an escape")
    func quotedPrintable() {
        #expect(MIMEEncoding.quotedPrintable("a = b ") == "a =3D b=20")
        #expect(MIMEEncoding.quotedPrintable("é") == "=C3=A9")
        #expect(MIMEEncoding.quotedPrintable("one\ntwo\r\nthree") == "one\r\ntwo\r\nthree")
        let long = MIMEEncoding.quotedPrintable(String(repeating: "é", count: 100))
        let lines = long.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") && !$0.dropLast().hasSuffix("=") })
        #expect(lines.joined().replacingOccurrences(of: "=", with: "").count == 400, "every byte escaped once, soft breaks removed")
    }

    @Test("A non-ASCII subject becomes encoded words of at most 75 characters holding whole characters")
    func encodedWords() throws {
        let subject = String(repeating: "Votre avis compte ☕ ", count: 6)
        let words = MIMEEncoding.encodedWords(subject).components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
        let decoded = words.map { word -> String in
            let payload = word.dropFirst(10).dropLast(2)
            return String(decoding: Data(base64Encoded: String(payload))!, as: UTF8.self)
        }
        #expect(decoded.joined() == subject)
    }

    @Test("An ASCII display name is quoted with its quotes escaped")
    func quotedDisplayName() {
        #expect(MIMEEncoding.mailbox(EmailAddress("a@b.fr", name: "Dupont \"père\" & fils")).hasPrefix("=?UTF-8?B?"))
        #expect(MIMEEncoding.mailbox(EmailAddress("a@b.fr", name: "Dupont \"Sr\", Lyon")) == "\"Dupont \\\"Sr\\\", Lyon\" <a@b.fr>")
        #expect(MIMEEncoding.mailbox(EmailAddress("a@b.fr")) == "<a@b.fr>")
    }

    @Test("The Date header is RFC 5322, in UTC")
    func date() {
        #expect(MIMEEncoding.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MIMEEncoding.rfc5322Date(Date(timeIntervalSince1970: 1_772_528_700)) == "Tue, 03 Mar 2026 09:05:00 +0000")
        #expect(MIMEEncoding.rfc5322Date(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
    }

    @Test("Dot-stuffing doubles a leading dot and ends with a lone dot")
    func dotStuffing() {
        var buffer = SMTPClient.dotStuffed("a\r\n.b\r\n..\r\n")
        #expect(buffer.readString(length: buffer.readableBytes) == "a\r\n..b\r\n...\r\n.\r\n")
    }

    @Test("The Message-ID is the caller's, brackets optional")
    func messageID() throws {
        var message = SampleMail.invitation()
        message.messageID = "<invitation-1@clientele.test>"
        #expect(try message.render().messageID == "invitation-1@clientele.test")
        #expect(try message.render().content.contains("\r\nMessage-ID: <invitation-1@clientele.test>\r\n"))
    }
}
