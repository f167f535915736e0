@testable import ClientBase
import Testing

/// The plausibility rules for emails and phones, read on bytes and ASCII digits.
@Suite("Client rules")
struct ClientRulesTests {
    @Test("an email needs one @, a local part, and a domain holding a dot that neither starts nor ends it; no spaces; at most 254 characters")
    func emails() {
        for good in ["lea@example.fr", "a.b+c@sub.example.co.uk", "hélène@exemple.fr", String(repeating: "é", count: 240) + "@example.fr"] {
            #expect(ClientRules.isPlausibleEmail(good), "\(good)")
        }
        for bad in ["not-an-email", "@example.fr", "lea@example", "lea@.example.fr", "lea@example.fr.", "lea@@example.fr",
                    "le a@example.fr", "lea@exa\u{00A0}mple.fr", "lea@example.fr\n", String(repeating: "a", count: 250) + "@example.fr"] {
            #expect(!ClientRules.isPlausibleEmail(bad), "\(bad)")
        }
    }

    @Test("a phone is 6 to 20 ASCII digits with spaces, +, dots, dashes or brackets; other digits are not digits")
    func phones() {
        #expect(ClientRules.isPlausiblePhone("+33 (0)6 12.34-56-78"))
        #expect(!ClientRules.isPlausiblePhone("06 12"))
        #expect(!ClientRules.isPlausiblePhone("٠٦١٢٣٤٥٦٧٨"))  // Arabic-Indic digits
        #expect(!ClientRules.isPlausiblePhone("06 12 34 56 78 ext"))
        #expect(Character("7").isASCIIDigit && !Character("٧").isASCIIDigit && !Character("x").isASCIIDigit)
    }
}
