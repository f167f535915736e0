import Foundation
import Testing
import Delivery

/// What a receiver checks: the signature over "<timestamp>.<body>" and the timestamp's age.
@Suite("Webhook signature")
struct WebhookSignatureTests {
    static let body = Array(#"{"event":"survey.invitation","id":"42"}"#.utf8)
    static let secret = "whsec_test"
    static let timestamp = 1_700_000_000
    static let at = Date(timeIntervalSince1970: TimeInterval(timestamp))

    @Test("The signature is HMAC-SHA256 in lowercase hex, as Python's hmac module computes it")
    func knownAnswer() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test",
        //   b"1700000000.{\"event\":\"survey.invitation\",\"id\":\"42\"}", hashlib.sha256).hexdigest())'
        #expect(WebhookSignature.sign(body: Self.body, timestamp: Self.timestamp, secret: Self.secret)
                == "v1=fccf534106067ef6ccbf3ac630b8d8ba7160cbc7e52b0179eefde9b9067ede19")
    }

    @Test("A fresh, matching signature verifies, also among several during a secret rotation")
    func verifies() throws {
        let signature = WebhookSignature.sign(body: Self.body, timestamp: Self.timestamp, secret: Self.secret)
        try WebhookSignature.verify(body: Self.body, timestamp: "\(Self.timestamp)", signature: signature,
                                    secret: Self.secret, now: Self.at.addingTimeInterval(299))
        let old = WebhookSignature.sign(body: Self.body, timestamp: Self.timestamp, secret: "whsec_old")
        try WebhookSignature.verify(body: Self.body, timestamp: "\(Self.timestamp)", signature: "\(old), \(signature)",
                                    secret: Self.secret, now: Self.at)
    }

    @Test("A replayed request older than the tolerance, or from too far ahead, is refused")
    func refusesStaleTimestamps() {
        let signature = WebhookSignature.sign(body: Self.body, timestamp: Self.timestamp, secret: Self.secret)
        for now in [Self.at.addingTimeInterval(301), Self.at.addingTimeInterval(-301)] {
            #expect(throws: WebhookSignature.VerificationError.staleTimestamp) {
                try WebhookSignature.verify(body: Self.body, timestamp: "\(Self.timestamp)", signature: signature,
                                            secret: Self.secret, now: now)
            }
        }
        #expect(throws: WebhookSignature.VerificationError.staleTimestamp) {
            try WebhookSignature.verify(body: Self.body, timestamp: "\(Self.timestamp)", signature: signature,
                                        secret: Self.secret, tolerance: 10, now: Self.at.addingTimeInterval(11))
        }
    }

    @Test("A changed body, timestamp or secret does not verify")
    func refusesTampering() {
        let signature = WebhookSignature.sign(body: Self.body, timestamp: Self.timestamp, secret: Self.secret)
        let cases: [(body: [UInt8], timestamp: Int, secret: String)] = [
            (Array(#"{"event":"survey.invitation","id":"43"}"#.utf8), Self.timestamp, Self.secret),
            (Self.body, Self.timestamp + 1, Self.secret),
            (Self.body, Self.timestamp, "whsec_other"),
        ]
        for change in cases {
            #expect(throws: WebhookSignature.VerificationError.mismatch) {
                try WebhookSignature.verify(body: change.body, timestamp: "\(change.timestamp)", signature: signature,
                                            secret: change.secret, now: Self.at)
            }
        }
    }

    @Test("Malformed headers are refused with their reason")
    func refusesMalformedHeaders() {
        let signature = WebhookSignature.sign(body: Self.body, timestamp: Self.timestamp, secret: Self.secret)
        #expect(throws: WebhookSignature.VerificationError.malformedTimestamp) {
            try WebhookSignature.verify(body: Self.body, timestamp: "yesterday", signature: signature, secret: Self.secret, now: Self.at)
        }
        for bad in ["", "v0=abcd", "v1=xyz", "v1=" + String(repeating: "g", count: 64), String(signature.dropFirst(3))] {
            #expect(throws: WebhookSignature.VerificationError.malformedSignature) {
                try WebhookSignature.verify(body: Self.body, timestamp: "\(Self.timestamp)", signature: bad, secret: Self.secret, now: Self.at)
            }
        }
    }
}
