import ClientBase
import Foundation
import Jobs
import Postgres

extension SurveyJobs {
    /// The survey job handlers, for the server's and the worker's runner. Each is safe to run
    /// twice: invitations are unique per (campaign, client, occasion), and delivery follows the
    /// at-most-once rule of `SurveyDelivery`.
    public static func jobHandlers(
        database: PostgresClient, mailer: any SurveyMailer, links: SurveyLinks, webhooks: (any SurveyWebhookPoster)? = nil
    ) -> [String: JobHandler] {
        let delivery = SurveyDelivery(database: database, mailer: mailer, links: links, webhooks: webhooks)
        return [
            purchase: { context in
                let payload = try decode(PurchasePayload.self, context)
                let scope = try await context.tenantScope()
                _ = try await context.completeInTenantTransaction { session in
                    try await SurveyTriggers.purchaseRecorded(payload.purchase_id, scope: scope, in: session)
                }
            },
            exit: { context in
                let payload = try decode(ClientPayload.self, context)
                let scope = try await context.tenantScope()
                _ = try await context.completeInTenantTransaction { session in
                    try await SurveyTriggers.clientLeft(payload.client_id, scope: scope, in: session)
                }
            },
            wave: { context in
                let payload = try decode(CampaignPayload.self, context)
                let scope = try await context.tenantScope()
                _ = try await context.completeInTenantTransaction { session in
                    try await SurveyTriggers.wave(payload.campaign_id, scope: scope, in: session)
                }
            },
            deliver: { context in
                let payload = try decode(InvitationPayload.self, context)
                _ = try await delivery.deliver(payload.invitation_id, scope: try await context.tenantScope(), finish: { body in
                    try await context.completeInTenantTransaction { session in try await body(session) }
                })
            },
            remind: { context in
                let payload = try decode(InvitationPayload.self, context)
                _ = try await delivery.remind(payload.invitation_id, scope: try await context.tenantScope(), finish: { body in
                    try await context.completeInTenantTransaction { session in try await body(session) }
                })
            },
        ]
    }

    /// A payload that does not decode will never decode: discarded at once.
    static func decode<T: Decodable>(_ type: T.Type, _ context: JobContext) throws -> T {
        do {
            return try context.job.payload(as: T.self)
        } catch {
            throw JobDiscard("\(context.job.kind): the payload is not \(T.self): \(error)")
        }
    }
}
