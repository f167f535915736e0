import ClientBase
import Foundation
import Postgres

/// Writes the records around the purchase by hand, like `ClientJSON`: keys sorted, every field
/// present (null if unknown), money as strings with two decimals ("149.90").
enum RecordJSON {
    @Sendable static func relationship(_ relationship: Relationship) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"buying_role\":"); writer.string(relationship.buyingRole?.rawValue)
        writer.raw(",\"created_at\":"); writer.date(relationship.createdAt)
        writer.raw(",\"from_client_id\":"); writer.id(relationship.fromClientID)
        writer.raw(",\"function\":"); writer.string(relationship.function)
        writer.raw(",\"id\":"); writer.id(relationship.id)
        writer.raw(",\"note\":"); writer.string(relationship.note)
        writer.raw(",\"since\":"); writer.day(relationship.since)
        writer.raw(",\"to_client_id\":"); writer.id(relationship.toClientID)
        writer.raw(",\"type\":"); writer.string(relationship.type.rawValue)
        writer.raw(",\"until\":"); writer.day(relationship.until)
        writer.raw(",\"updated_at\":"); writer.date(relationship.updatedAt)
        writer.raw("}")
        return writer.bytes
    }

    @Sendable static func purchase(_ purchase: Purchase) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"amount\":"); writer.money(purchase.amount)
        writer.raw(",\"buyer_id\":"); writer.id(purchase.buyerID)
        writer.raw(",\"channel\":"); writer.string(purchase.channel?.rawValue)
        writer.raw(",\"consumer_ids\":[")
        for (index, consumer) in purchase.consumerIDs.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.id(consumer)
        }
        writer.raw("],\"created_at\":"); writer.date(purchase.createdAt)
        writer.raw(",\"external_ref\":"); writer.string(purchase.externalRef)
        writer.raw(",\"id\":"); writer.id(purchase.id)
        writer.raw(",\"lines\":")
        if let lines = purchase.lines {
            writer.raw("[")
            for (index, line) in lines.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"amount\":"); writer.money(line.amount)
                writer.raw(",\"description\":"); writer.string(line.description)
                writer.raw(",\"quantity\":"); writer.bytes += Array(Money.plainNumber(line.quantity).utf8)
                writer.raw(",\"unit_cost\":"); writer.money(line.unitCost)
                writer.raw(",\"unit_price\":"); writer.money(line.unitPrice)
                writer.raw("}")
            }
            writer.raw("]")
        } else {
            writer.raw("null")
        }
        writer.raw(",\"margin\":"); writer.money(purchase.margin)
        writer.raw(",\"market_zone\":"); writer.string(purchase.marketZone)
        writer.raw(",\"note\":"); writer.string(purchase.note)
        writer.raw(",\"payer_id\":"); writer.id(purchase.payerID)
        writer.raw(",\"product_line\":"); writer.string(purchase.productLine)
        writer.raw(",\"purchase_type\":"); writer.string(purchase.purchaseType?.rawValue)
        writer.raw(",\"purchased_on\":"); writer.day(purchase.purchasedOn)
        writer.raw(",\"updated_at\":"); writer.date(purchase.updatedAt)
        writer.raw("}")
        return writer.bytes
    }

    @Sendable static func interaction(_ interaction: Interaction) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"author\":"); writer.string(interaction.author)
        writer.raw(",\"channel\":"); writer.string(interaction.channel.rawValue)
        writer.raw(",\"client_id\":"); writer.id(interaction.clientID)
        writer.raw(",\"created_at\":"); writer.date(interaction.createdAt)
        writer.raw(",\"direction\":"); writer.string(interaction.direction?.rawValue)
        writer.raw(",\"id\":"); writer.id(interaction.id)
        writer.raw(",\"next_step\":"); writer.string(interaction.nextStep)
        writer.raw(",\"next_step_on\":"); writer.day(interaction.nextStepOn)
        writer.raw(",\"occurred_at\":"); writer.date(interaction.occurredAt)
        writer.raw(",\"outcome\":"); writer.string(interaction.outcome)
        writer.raw(",\"subject\":"); writer.string(interaction.subject)
        writer.raw(",\"updated_at\":"); writer.date(interaction.updatedAt)
        writer.raw("}")
        return writer.bytes
    }

    @Sendable static func complaint(_ complaint: Complaint) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"category\":"); writer.string(complaint.category.rawValue)
        writer.raw(",\"client_id\":"); writer.id(complaint.clientID)
        writer.raw(",\"created_at\":"); writer.date(complaint.createdAt)
        writer.raw(",\"description\":"); writer.string(complaint.description)
        writer.raw(",\"handling_minutes\":"); writer.bytes += Array(String(complaint.handlingMinutes).utf8)
        writer.raw(",\"id\":"); writer.id(complaint.id)
        writer.raw(",\"opened_on\":"); writer.day(complaint.openedOn)
        writer.raw(",\"purchase_id\":"); writer.id(complaint.purchaseID)
        writer.raw(",\"resolved_on\":"); writer.day(complaint.resolvedOn)
        writer.raw(",\"status\":"); writer.string(complaint.status.rawValue)
        writer.raw(",\"updated_at\":"); writer.date(complaint.updatedAt)
        writer.raw("}")
        return writer.bytes
    }

    @Sendable static func payment(_ payment: Payment) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"amount\":"); writer.money(payment.amount)
        writer.raw(",\"client_id\":"); writer.id(payment.clientID)
        writer.raw(",\"created_at\":"); writer.date(payment.createdAt)
        writer.raw(",\"due_on\":"); writer.day(payment.dueOn)
        writer.raw(",\"id\":"); writer.id(payment.id)
        writer.raw(",\"incident\":"); writer.string(payment.incident.rawValue)
        writer.raw(",\"incident_note\":"); writer.string(payment.incidentNote)
        writer.raw(",\"incident_on\":"); writer.day(payment.incidentOn)
        writer.raw(",\"means\":"); writer.string(payment.means?.rawValue)
        writer.raw(",\"paid_on\":"); writer.day(payment.paidOn)
        writer.raw(",\"purchase_id\":"); writer.id(payment.purchaseID)
        writer.raw(",\"updated_at\":"); writer.date(payment.updatedAt)
        writer.raw("}")
        return writer.bytes
    }

    /// `{"items": [{"at", "data", "id", "summary", "type"}...], "next_cursor"}`.
    static func timeline(_ page: TimelinePage) -> [UInt8] {
        var writer = JSONWriter()
        writer.page(page.items, nextCursor: page.nextCursor) { writer, item in
            writer.raw("{\"at\":"); writer.date(item.at)
            // Written by PostgreSQL as a JSON object: copied as it is.
            writer.raw(",\"data\":"); writer.json(item.dataJSON)
            writer.raw(",\"id\":"); writer.string(item.id)
            writer.raw(",\"summary\":"); writer.string(item.summary)
            writer.raw(",\"type\":"); writer.string(item.type.rawValue)
            writer.raw("}")
        }
        return writer.bytes
    }
}

extension JSONWriter {
    mutating func id(_ id: UUID?) {
        string(id.map { $0.lowercaseText })
    }

    /// A date as "YYYY-MM-DD", or null.
    mutating func day(_ date: PostgresDate?) {
        string(date?.description)
    }

    /// Euros as a string with two decimals, or null.
    mutating func money(_ amount: Decimal?) {
        string(amount.map(Money.text))
    }
}
