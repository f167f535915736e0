import Foundation
import Postgres

/// The controlled values of a client record (DOMAIN.md section 2). Their raw values are the
/// JSON and database spellings.
extension Client {
    /// Maslow's needs.
    public enum Need: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case physiological, safety, belonging, esteem
        case selfFulfilment = "self_fulfilment"
    }

    public enum Motivation: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case hedonistic, oblative
        case selfExpression = "self_expression"
    }

    public enum Brake: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case fear, inhibition, risk
    }

    public enum Objection: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case tooExpensive = "too_expensive", tooLong = "too_long"
        case tooComplicated = "too_complicated", notScalable = "not_scalable"
    }

    /// Where a prospect stands in the purchase process.
    public enum PurchaseStage: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case needRecognised = "need_recognised", informationSearch = "information_search"
        case evaluation, decision
        case postPurchase = "post_purchase"
    }

    public enum MaritalStatus: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case single, married
        case civilPartnership = "civil_partnership"  // PACS
        case cohabiting, divorced, widowed
    }

    public enum Housing: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case owner, tenant
        case housedFree = "housed_free"
        case other
    }

    /// Yearly household income, in euros.
    public enum IncomeBracket: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case under20k = "under_20k", from20kTo35k = "20k_35k", from35kTo50k = "35k_50k"
        case from50kTo80k = "50k_80k", over80k = "over_80k"
    }

    /// One consent (RGPD): granted or not, and when and how it was last given or withdrawn.
    public struct Consent: Sendable, Hashable {
        public var granted: Bool
        /// Server time of the last change; nil while never given nor withdrawn.
        public var at: Date?
        /// How the client said so: form, email, phone, in_store, import...
        public var source: String?

        public static let notGranted = Consent(granted: false, at: nil, source: nil)
    }
}
