import ClientBase
import Foundation
import Postgres

/// The writable fields of a campaign, as a POST or PATCH body carries them. Strict like the
/// client base: an unknown or read-only field, a wrong type or an unknown value is a 422
/// naming the field.
public struct SurveyCampaignChanges: Sendable, Hashable, Decodable {
    public var name: FieldChange<String> = .unchanged
    public var measure: FieldChange<SurveyCampaign.Measure> = .unchanged
    public var questionFR: FieldChange<String> = .unchanged
    public var questionEN: FieldChange<String> = .unchanged
    public var extraQuestions: FieldChange<[SurveyCampaign.ExtraQuestion]> = .unchanged
    public var trigger: FieldChange<SurveyCampaign.Trigger> = .unchanged
    public var delayDays: FieldChange<Int> = .unchanged
    public var cron: FieldChange<String> = .unchanged
    public var audience: FieldChange<SurveyCampaign.Audience> = .unchanged
    public var ask: FieldChange<SurveyCampaign.Ask> = .unchanged
    public var active: FieldChange<Bool> = .unchanged
    public var reminderAfterDays: FieldChange<Int> = .unchanged
    public var lifetimeDays: FieldChange<Int> = .unchanged
    public var channel: FieldChange<SurveyCampaign.Channel> = .unchanged

    public init() {}

    public init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder,
            writable: ["name", "measure", "question_fr", "question_en", "extra_questions", "trigger", "delay_days", "cron",
                       "audience", "ask", "active", "reminder_after_days", "lifetime_days", "channel"],
            readOnly: ["id", "created_at", "updated_at"])
        name = try body.text("name")
        measure = try body.enumeration("measure")
        questionFR = try body.text("question_fr", maximumLength: 500)
        questionEN = try body.text("question_en", maximumLength: 500)
        extraQuestions = try body.nested("extra_questions", [ExtraQuestionInput].self).map { $0.map(\.question) }
        trigger = try body.enumeration("trigger")
        delayDays = try body.integer("delay_days")
        cron = try body.text("cron", maximumLength: 100)
        audience = try body.nested("audience", AudienceInput.self).map(\.audience)
        ask = try body.enumeration("ask")
        active = try body.nested("active", Bool.self)
        reminderAfterDays = try body.integer("reminder_after_days")
        lifetimeDays = try body.integer("lifetime_days")
        channel = try body.enumeration("channel")
    }

    func newCampaign(id: UUID, now: Date) throws -> SurveyCampaign {
        guard let name = name.value else {
            throw ClientBaseError(.invalid, "field 'name' is required", field: "name")
        }
        guard let measure = measure.value else {
            throw ClientBaseError(.invalid, "field 'measure' is required (nps, csat or ces)", field: "measure")
        }
        guard let question = questionFR.value else {
            throw ClientBaseError(.invalid, "field 'question_fr' is required (the question, in French)", field: "question_fr")
        }
        guard let trigger = trigger.value else {
            throw ClientBaseError(.invalid, "field 'trigger' is required (after_purchase, recurring, manual or exit)", field: "trigger")
        }
        var campaign = SurveyCampaign(id: id, name: name, measure: measure, questionFR: question, trigger: trigger, now: now)
        try apply(to: &campaign)
        return campaign
    }

    func apply(to campaign: inout SurveyCampaign) throws {
        try name.apply(to: &campaign.name, name: "name")
        try measure.apply(to: &campaign.measure, name: "measure")
        try questionFR.apply(to: &campaign.questionFR, name: "question_fr")
        questionEN.apply(to: &campaign.questionEN)
        if case .cleared = extraQuestions { campaign.extraQuestions = [] }
        if let questions = extraQuestions.value { campaign.extraQuestions = questions }
        if let trigger = trigger.value, trigger != campaign.trigger {
            // Another trigger starts without the old one's delay or cron, unless sent with it.
            campaign.trigger = trigger
            if delayDays.isUnchanged { campaign.delayDays = nil }
            if cron.isUnchanged { campaign.cron = nil }
        }
        if case .cleared = trigger { throw ClientBaseError(.invalid, "field 'trigger' cannot be null", field: "trigger") }
        delayDays.apply(to: &campaign.delayDays)
        cron.apply(to: &campaign.cron)
        if case .cleared = audience { campaign.audience = SurveyCampaign.Audience() }
        if let audience = audience.value { campaign.audience = audience }
        try ask.apply(to: &campaign.ask, name: "ask")
        try active.apply(to: &campaign.active, name: "active")
        reminderAfterDays.apply(to: &campaign.reminderAfterDays)
        try lifetimeDays.apply(to: &campaign.lifetimeDays, name: "lifetime_days")
        try channel.apply(to: &campaign.channel, name: "channel")
        try campaign.validate()
    }
}

extension FieldChange {
    func map<Other>(_ transform: (Value) -> Other) -> FieldChange<Other> {
        switch self {
        case .unchanged: .unchanged
        case .cleared: .cleared
        case .set(let value): .set(transform(value))
        }
    }
}

/// `{"type": "text" | "scale", "fr": "...", "en": "..."}`.
struct ExtraQuestionInput: Decodable, Sendable, Hashable {
    var question: SurveyCampaign.ExtraQuestion

    init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder, writable: ["type", "fr", "en"], readOnly: [])
        let kind = try Self.prefixed { try body.enumeration("type", SurveyCampaign.ExtraQuestion.Kind.self) }
        guard let type = kind.value else {
            throw ClientBaseError(.invalid, "extra_questions.type is required (text or scale)", field: "extra_questions.type")
        }
        let text = try Self.prefixed { try body.text("fr", maximumLength: 500) }
        guard let french = text.value else {
            throw ClientBaseError(.invalid, "extra_questions.fr is required (the question, in French)", field: "extra_questions.fr")
        }
        question = .init(type: type, fr: french, en: try Self.prefixed { try body.text("en", maximumLength: 500) }.value)
    }

    /// Names the field as `extra_questions.<name>` in the error.
    static func prefixed<T>(_ read: () throws -> T) throws -> T {
        do { return try read() } catch var error as ClientBaseError {
            error.field = error.field.map { "extra_questions.\($0)" }
            throw error
        }
    }
}

/// `{"categories": [...], "kinds": [...], "tags": [...], "segment": "..."}`, each optional.
struct AudienceInput: Decodable, Sendable, Hashable {
    var audience = SurveyCampaign.Audience()

    init(from decoder: any Decoder) throws {
        let body = try BodyReader(decoder, writable: ["categories", "kinds", "tags", "segment"], readOnly: [])
        audience.categories = try Self.values("categories", body)
        audience.kinds = try Self.values("kinds", body)
        let tags = try Self.named("tags") { try body.nested("tags", [String].self) }.value ?? []
        audience.tags = try tags.map { tag in
            let cleaned = tag.trimmingCharacters(in: .whitespaces).lowercased()
            guard (1...50).contains(cleaned.count), !cleaned.contains(",") else {
                throw ClientBaseError(.invalid, "audience.tags holds '\(tag.prefix(50))', not a tag (1 to 50 characters, no comma)",
                                      field: "audience.tags")
            }
            return cleaned
        }
        audience.segment = try Self.named("segment") { try body.enumeration("segment", Analytics.RFMSegment.self) }.value
    }

    static func values<E: RawRepresentable<String> & CaseIterable>(_ name: String, _ body: BodyReader) throws -> [E] {
        let texts = try named(name) { try body.nested(name, [String].self) }.value ?? []
        return try texts.map { text in
            guard let value = E(rawValue: text) else {
                let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
                throw ClientBaseError(.invalid, "audience.\(name) holds '\(text.prefix(50))'; use \(allowed)", field: "audience.\(name)")
            }
            return value
        }
    }

    static func named<T>(_ name: String, _ read: () throws -> T) throws -> T {
        do { return try read() } catch var error as ClientBaseError {
            error.field = "audience.\(name)"
            throw error
        }
    }
}
