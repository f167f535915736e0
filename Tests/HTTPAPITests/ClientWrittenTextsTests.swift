@testable import ClientBase
import Foundation
import Postgres
import Testing

/// The import writes `Client.writtenTexts` as arrays; the single-row INSERT and UPDATE bind
/// `Client.writtenValues`. Both must send the same text for every column.
@Suite("Client written texts")
struct ClientWrittenTextsTests {
    static func full() -> Client {
        var client = Client(id: UUIDv7.make(), kind: .individual, category: .relativeNonConsumer,
                            categorySince: Date(), createdAt: Date(), updatedAt: Date())
        client.firstName = #"Hélène "la" \ Lefèvre"#
        client.lastName = "Lefèvre"
        client.organisationName = "Optique, Lyon"
        client.email = "helene@example.fr"
        client.phone = "+33 6 12 34 56 78"
        client.city = "Saint-Étienne"
        client.postalCode = "42000"
        client.externalRef = "C-001"
        client.categoryReason = "too young"
        client.followUpOn = PostgresDate(year: 2027, month: 9, day: 1)
        client.addressLine1 = "1 rue de la Paix"
        client.addressLine2 = "bât. B"
        client.website = "www.example.fr"
        client.tradeName = "Trade"
        client.activity = "optique"
        client.siren = "732829320"
        client.sector = "retail"
        client.headcount = 12
        client.legalForm = "SARL"
        client.revenue = Decimal(string: "1250.50")
        client.establishmentsCount = 2
        client.birthDate = PostgresDate(year: 1980, month: 2, day: 29)
        client.maritalStatus = .civilPartnership
        client.childrenCount = 3
        client.housing = .housedFree
        client.occupation = "opticienne"
        client.incomeBracket = .from35kTo50k
        client.tags = ["vip", "fidèle", #"a"b\c"#]
        client.notes = "Note \"1\"; rappeler\nligne 2"
        client.customFields = ["taille": .number(Decimal(string: "1.5")!), "nom": .text("é\"x"), "ok": .bool(true)]
        client.needs = [.safety, .selfFulfilment]
        client.motivations = [.selfExpression]
        client.brakes = [.fear, .risk]
        client.objections = [.tooExpensive]
        client.purchaseStage = .evaluation
        client.acquisitionChannel = "referral"
        client.acquisitionCost = Decimal(string: "30")
        client.firstPurchaseOn = PostgresDate(year: 2020, month: 1, day: 31)
        client.assignedUserID = UUID()
        client.consentSurveys = Client.Consent(granted: true, at: Date(timeIntervalSince1970: 1_800_000_000.123), source: "import")
        client.consentMarketing = Client.Consent(granted: false, at: Date(timeIntervalSince1970: 1_700_000_000), source: "form")
        return client
    }

    @Test("every column, set or not, is the text the single-row statements bind")
    func sameAsWrittenValues() {
        let bare = Client(id: UUIDv7.make(), kind: .business, category: .prospect,
                          categorySince: Date(), createdAt: Date(), updatedAt: Date())
        for client in [Self.full(), bare] {
            let texts = client.writtenTexts
            let values = client.writtenValues.binds.values
            #expect(texts.count == values.count)
            #expect(texts.count == ClientColumnArrays.types.count)
            for (index, (text, value)) in zip(texts, values).enumerated() {
                #expect(text == value, "column \(index + 1) (\(ClientColumnArrays.names[index]))")
            }
        }
        // Set fields are not all NULL: the comparison above compares values, not absences.
        #expect(Self.full().writtenTexts.allSatisfy { $0 != nil })
    }

    @Test("UUIDv7: version 7, RFC variant, the time in the first 48 bits, and random bits that differ")
    func uuidv7() {
        let date = Date(timeIntervalSince1970: 1_800_000_000.5)
        let ids = (0..<1000).map { _ in UUIDv7.make(at: date) }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 7)
            #expect(bytes[8] >> 6 == 0b10)
            let milliseconds = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(milliseconds == 1_800_000_000_500)
        }
    }
}
