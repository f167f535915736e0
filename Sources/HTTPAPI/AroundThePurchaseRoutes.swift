import ClientBase
import Hummingbird
import Postgres

/// `/v1/relationships`, `/v1/purchases`, `/v1/interactions`, `/v1/complaints`, `/v1/payments`:
/// the records around the purchase, each with its list filters.
enum AroundThePurchaseRoutes {
    static func register(on v1: RouterGroup<AppRequestContext>, database: PostgresClient) {
        let idempotency = IdempotentRequests(database: database)
        RecordRoutes(
            repository: RelationshipRepository(database: database), path: "relationships", filterNames: ["type"],
            makeFilter: { records, parameters in
                RelationshipRepository.Filter(records: records, type: try QueryParameters.enumeration(parameters, "type"))
            },
            json: RecordJSON.relationship, id: \.id, idempotency: idempotency
        ).register(on: v1.group("relationships"))

        RecordRoutes(
            repository: PurchaseRepository(database: database), path: "purchases", filterNames: ["external_ref"],
            makeFilter: { records, parameters in
                PurchaseRepository.Filter(records: records, externalRef: parameters.get("external_ref").map { String($0) })
            },
            json: RecordJSON.purchase, id: \.id, idempotency: idempotency
        ).register(on: v1.group("purchases"))

        RecordRoutes(
            repository: InteractionRepository(database: database), path: "interactions", filterNames: ["channel"],
            makeFilter: { records, parameters in
                InteractionRepository.Filter(records: records, channel: try QueryParameters.enumeration(parameters, "channel"))
            },
            json: RecordJSON.interaction, id: \.id, idempotency: idempotency
        ).register(on: v1.group("interactions"))

        RecordRoutes(
            repository: ComplaintRepository(database: database), path: "complaints", filterNames: ["status"],
            makeFilter: { records, parameters in
                ComplaintRepository.Filter(records: records, status: try QueryParameters.enumeration(parameters, "status"))
            },
            json: RecordJSON.complaint, id: \.id, idempotency: idempotency
        ).register(on: v1.group("complaints"))

        RecordRoutes(
            repository: PaymentRepository(database: database), path: "payments", filterNames: ["incident", "paid"],
            makeFilter: { records, parameters in
                PaymentRepository.Filter(records: records, incident: try QueryParameters.enumeration(parameters, "incident"),
                                         paid: try QueryParameters.bool(parameters, "paid"))
            },
            json: RecordJSON.payment, id: \.id, idempotency: idempotency
        ).register(on: v1.group("payments"))
    }
}
