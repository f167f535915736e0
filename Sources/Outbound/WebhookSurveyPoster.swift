import Delivery
import Foundation
import Surveys

/// Webhook invitations leave through the Delivery layer's signed webhooks (the same headers
/// and signature as churn alerts). The sender's `beforeWrite` hook is the surveys' commit
/// point. A receiver's 408, 429 or 5xx is transient and took nothing (`deliveredNothing`); a
/// timeout or a connection lost without an answer is transient with an unknown outcome; any
/// other answer but 2xx is permanent.
public struct WebhookSurveyPoster: SurveyWebhookPoster {
    public let sender: WebhookSender

    public init(sender: WebhookSender) {
        self.sender = sender
    }

    public func post(
        _ invitation: SurveyWebhookInvitation, to url: String, secret: String, deliveryID: String,
        beforeCommit: @escaping @Sendable () async throws -> Void
    ) async throws {
        let request = WebhookRequest(url: url, body: try invitation.json(), deliveryID: deliveryID, secret: secret)
        do {
            _ = try await sender.send(request, beforeWrite: beforeCommit)
        } catch let error as WebhookError {
            throw SurveyMailRefusal(transient: error.isTransient, deliveredNothing: error.statusCode != nil, error.description)
        }
    }
}
