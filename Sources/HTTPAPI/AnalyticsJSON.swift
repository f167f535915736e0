import ClientBase
import Foundation

/// Writes market estimates and analytics settings by hand, like `RecordJSON`: keys sorted,
/// every field present, money as strings with two decimals, shares as plain numbers.
enum AnalyticsJSON {
    static func estimate(_ estimate: MarketEstimate) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"created_at\":"); writer.date(estimate.createdAt)
        writer.raw(",\"effective_consumers\":"); writer.integer(estimate.effectiveConsumers)
        writer.raw(",\"effective_demand\":"); writer.money(estimate.effectiveDemand)
        writer.raw(",\"id\":"); writer.id(estimate.id)
        writer.raw(",\"market_zone\":"); writer.string(estimate.marketZone)
        writer.raw(",\"note\":"); writer.string(estimate.note)
        writer.raw(",\"period_end\":"); writer.day(estimate.periodEnd)
        writer.raw(",\"period_start\":"); writer.day(estimate.periodStart)
        writer.raw(",\"potential_consumers\":"); writer.integer(estimate.potentialConsumers)
        writer.raw(",\"potential_demand\":"); writer.money(estimate.potentialDemand)
        writer.raw(",\"product_line\":"); writer.string(estimate.productLine)
        writer.raw(",\"source\":"); writer.string(estimate.source)
        writer.raw(",\"updated_at\":"); writer.date(estimate.updatedAt)
        writer.raw("}")
        return writer.bytes
    }

    static func settings(_ settings: AnalyticsSettings) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"cost_per_complaint\":"); writer.money(settings.costPerComplaint)
        writer.raw(",\"cost_per_contact\":"); writer.money(settings.costPerContact)
        writer.raw(",\"cost_per_dispute\":"); writer.money(settings.costPerDispute)
        writer.raw(",\"cost_per_failed_payment\":"); writer.money(settings.costPerFailedPayment)
        writer.raw(",\"cost_per_handling_hour\":"); writer.money(settings.costPerHandlingHour)
        writer.raw(",\"cost_per_late_payment\":"); writer.money(settings.costPerLatePayment)
        writer.raw(",\"loyalty_years\":"); writer.integer(settings.loyaltyYears)
        writer.raw(",\"margin_rate_when_unknown\":"); writer.ascii(Money.plainNumber(settings.marginRateWhenUnknown, maximumDecimals: 4))
        writer.raw(",\"pareto_warning_share\":"); writer.ascii(Money.plainNumber(settings.paretoWarningShare, maximumDecimals: 4))
        writer.raw(",\"updated_at\":"); writer.date(settings.updatedAt)
        writer.raw("}")
        return writer.bytes
    }
}
