import Foundation

/// Why a client may leave (DOMAIN.md section 4): each reason present adds its weight (points)
/// to the client's score. Stored with the score as `{"code", "points", ...facts}`.
public enum ChurnReason {
    public enum Code: String, Sendable, CaseIterable, Hashable {
        /// The client's latest NPS answer is a detractor's, or their latest CSAT answer is low.
        case detractorAnswer = "detractor_answer"
        /// A complaint still open long after it was opened.
        case openComplaint = "open_complaint"
        /// A late or rejected payment, or a litigation, recently.
        case paymentIncident = "payment_incident"
        /// A repeat buyer past their own usual interval between purchases.
        case overdueRepeatBuyer = "overdue_repeat_buyer"
        /// Spend of the last 12 months well below the 12 months before.
        case fallingSpend = "falling_spend"
        /// No interaction with the client for long.
        case noContact = "no_contact"

        /// The settings field holding its weight.
        public var weightField: String {
            switch self {
            case .detractorAnswer: "weight_detractor"
            case .openComplaint: "weight_open_complaint"
            case .paymentIncident: "weight_payment_incident"
            case .overdueRepeatBuyer: "weight_overdue_buyer"
            case .fallingSpend: "weight_falling_spend"
            case .noContact: "weight_no_contact"
            }
        }
    }

    /// The codes of a stored reasons list, in its order.
    public static func codes(in reasonsJSON: String) -> [Code] {
        struct Reason: Decodable { var code: String }
        let reasons = (try? JSONDecoder().decode([Reason].self, from: Data(reasonsJSON.utf8))) ?? []
        return reasons.compactMap { Code(rawValue: $0.code) }
    }
}
