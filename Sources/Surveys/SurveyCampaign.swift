import ClientBase
import Foundation
import Postgres

/// A satisfaction survey campaign (DOMAIN.md section 4): what it measures, what it asks, when
/// it asks (its trigger), whom (its audience, and for a purchase the buyer, the consumers or
/// both), one reminder at most, and how long an invitation stays open.
public struct SurveyCampaign: Sendable, Hashable {
    public enum Measure: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        /// Net Promoter Score, 0-10.
        case nps
        /// Customer satisfaction, 1-5.
        case csat
        /// Customer effort, 1-7.
        case ces

        public var scale: ClosedRange<Int> {
            switch self {
            case .nps: 0...10
            case .csat: 1...5
            case .ces: 1...7
            }
        }
    }

    public enum Trigger: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        /// `delay_days` after each purchase.
        case afterPurchase = "after_purchase"
        /// Waves on a cron expression, to the audience.
        case recurring
        /// Only when sent by hand.
        case manual
        /// When a client becomes a former client (why did you leave?).
        case exit
    }

    /// How invitations go: by email, or POSTed to the tenant's signed webhook (for a business
    /// that sends SMS through its own gateway).
    public enum Channel: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case email, webhook
    }

    /// Who a purchase's invitation goes to.
    public enum Ask: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
        case buyer, consumers, both
    }

    /// An extra question: free text, or a 1-5 scale.
    public struct ExtraQuestion: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Hashable, Codable, CaseIterable { case text, scale }
        public var type: Kind
        public var fr: String
        public var en: String?

        public init(type: Kind, fr: String, en: String? = nil) {
            self.type = type
            self.fr = fr
            self.en = en
        }

        public func text(_ language: SurveyLanguage) -> String { language == .en ? (en ?? fr) : fr }
    }

    /// Which clients a campaign reaches; every list left empty does not filter. Categories
    /// and kinds: any of those listed; tags: all of them; segment: the client's RFM segment
    /// over the last 12 months.
    public struct Audience: Sendable, Hashable {
        public var categories: [Client.Category] = []
        public var kinds: [Client.Kind] = []
        public var tags: [String] = []
        public var segment: Analytics.RFMSegment?

        public init(categories: [Client.Category] = [], kinds: [Client.Kind] = [], tags: [String] = [],
                    segment: Analytics.RFMSegment? = nil) {
            self.categories = categories
            self.kinds = kinds
            self.tags = tags
            self.segment = segment
        }
    }

    public static let maximumExtraQuestions = 5

    public var id: UUID
    public var name: String
    public var measure: Measure
    public var questionFR: String
    public var questionEN: String?
    public var extraQuestions: [ExtraQuestion] = []
    public var trigger: Trigger
    public var delayDays: Int?
    public var cron: String?
    public var audience = Audience()
    public var ask: Ask = .buyer
    public var active = true
    public var reminderAfterDays: Int?
    public var lifetimeDays = 30
    public var channel: Channel = .email
    public var createdAt: Date
    public var updatedAt: Date

    public func question(_ language: SurveyLanguage) -> String { language == .en ? (questionEN ?? questionFR) : questionFR }

    /// How many `columns` there are: what a query selects after them starts at this index.
    static let columnCount = 20

    static let columns: PostgresQuery = """
        sc.id, sc.name, sc.measure, sc.question_fr, sc.question_en, sc.extra_questions::text, sc.trigger, sc.delay_days,
        sc.cron, sc.audience_categories, sc.audience_kinds, sc.audience_tags, sc.audience_segment, sc.ask, sc.active,
        sc.reminder_after_days, sc.lifetime_days, sc.created_at, sc.updated_at, sc.channel
        """

    init(row: PostgresRow, offset o: Int = 0) throws {
        id = try row.decode(at: o + 0)
        name = try row.decode(at: o + 1)
        measure = try row.decode(at: o + 2)
        questionFR = try row.decode(at: o + 3)
        questionEN = try row.decode(at: o + 4)
        extraQuestions = (try? JSONDecoder().decode([ExtraQuestion].self, from: Data(try row.decode(String.self, at: o + 5).utf8))) ?? []
        trigger = try row.decode(at: o + 6)
        delayDays = try row.decode(at: o + 7)
        cron = try row.decode(at: o + 8)
        audience = Audience(
            categories: try row.decode([String].self, at: o + 9).compactMap(Client.Category.init(rawValue:)),
            kinds: try row.decode([String].self, at: o + 10).compactMap(Client.Kind.init(rawValue:)),
            tags: try row.decode(at: o + 11),
            segment: try row.decode(String?.self, at: o + 12).flatMap(Analytics.RFMSegment.init(rawValue:)))
        ask = try row.decode(at: o + 13)
        active = try row.decode(at: o + 14)
        reminderAfterDays = try row.decode(at: o + 15)
        lifetimeDays = try row.decode(at: o + 16)
        createdAt = try row.decode(at: o + 17)
        updatedAt = try row.decode(at: o + 18)
        channel = try row.decode(at: o + 19)
    }

    init(id: UUID, name: String, measure: Measure, questionFR: String, trigger: Trigger, now: Date) {
        self.id = id
        self.name = name
        self.measure = measure
        self.questionFR = questionFR
        self.trigger = trigger
        createdAt = now
        updatedAt = now
    }

    /// The columns a write sets, and their values in the same order.
    static let writtenColumns: PostgresQuery = """
        name, measure, question_fr, question_en, extra_questions, trigger, delay_days, cron, audience_categories,
        audience_kinds, audience_tags, audience_segment, ask, active, reminder_after_days, lifetime_days, channel
        """

    var writtenValues: PostgresQuery {
        """
        \(name), \(measure), \(questionFR), \(questionEN), \(PostgresJSON(extraQuestions)), \(trigger), \(delayDays), \(cron),
        \(audience.categories.map(\.rawValue)), \(audience.kinds.map(\.rawValue)), \(audience.tags),
        \(audience.segment?.rawValue), \(ask), \(active), \(reminderAfterDays), \(lifetimeDays), \(channel)
        """
    }

    func validate() throws {
        guard (1...200).contains(name.count) else {
            throw ClientBaseError(.invalid, "field 'name' must be 1 to 200 characters", field: "name")
        }
        if trigger == .afterPurchase {
            guard let delayDays else {
                throw ClientBaseError(.invalid, "an after_purchase campaign needs delay_days (0 to 365)", field: "delay_days")
            }
            guard (0...365).contains(delayDays) else {
                throw ClientBaseError(.invalid, "delay_days must be from 0 to 365", field: "delay_days")
            }
        } else if delayDays != nil {
            throw ClientBaseError(.invalid, "delay_days applies to an after_purchase campaign only", field: "delay_days")
        }
        if trigger == .recurring {
            guard let cron else {
                throw ClientBaseError(.invalid, "a recurring campaign needs cron, like \"0 9 1 * *\"", field: "cron")
            }
            try CronExpression.validate(cron)
        } else if cron != nil {
            throw ClientBaseError(.invalid, "cron applies to a recurring campaign only", field: "cron")
        }
        if let reminderAfterDays {
            guard (1...90).contains(reminderAfterDays) else {
                throw ClientBaseError(.invalid, "reminder_after_days must be from 1 to 90", field: "reminder_after_days")
            }
            guard reminderAfterDays < lifetimeDays else {
                throw ClientBaseError(.invalid, "reminder_after_days must be less than lifetime_days", field: "reminder_after_days")
            }
        }
        guard (1...365).contains(lifetimeDays) else {
            throw ClientBaseError(.invalid, "lifetime_days must be from 1 to 365", field: "lifetime_days")
        }
        guard extraQuestions.count <= Self.maximumExtraQuestions else {
            throw ClientBaseError(.invalid, "at most \(Self.maximumExtraQuestions) extra questions", field: "extra_questions")
        }
    }

    var auditSnapshot: AuditSnapshot {
        [
            "name": name.auditValue, "measure": measure.auditValue, "question_fr": questionFR.auditValue,
            "question_en": AuditValue(questionEN), "extra_questions": .list(extraQuestions.map { .text("\($0.type.rawValue): \($0.fr)") }),
            "trigger": trigger.auditValue, "delay_days": AuditValue(delayDays), "cron": AuditValue(cron),
            "audience.categories": audience.categories.map(\.rawValue).auditValue,
            "audience.kinds": audience.kinds.map(\.rawValue).auditValue, "audience.tags": audience.tags.auditValue,
            "audience.segment": AuditValue(audience.segment?.rawValue), "ask": ask.auditValue, "active": active.auditValue,
            "reminder_after_days": AuditValue(reminderAfterDays), "lifetime_days": lifetimeDays.auditValue,
            "channel": channel.auditValue,
        ]
    }
}

/// The languages of surveys: French by default, English on request.
public enum SurveyLanguage: String, Sendable, CaseIterable, PostgresDecodable, PostgresEncodable {
    case fr, en
}

/// Five-field cron expressions (minute hour day-of-month month day-of-week), checked here
/// only: the scheduler that fires them is the job runner's.
enum CronExpression {
    static let fields: [(name: String, range: ClosedRange<Int>)] = [
        ("minute", 0...59), ("hour", 0...23), ("day of month", 1...31), ("month", 1...12), ("day of week", 0...7),
    ]

    static func validate(_ expression: String) throws {
        let parts = expression.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 5 else {
            throw ClientBaseError(.invalid,
                "cron must have 5 fields (minute hour day-of-month month day-of-week), like \"0 9 1 * *\"", field: "cron")
        }
        for (part, field) in zip(parts, fields) where !valid(String(part), field.range) {
            throw ClientBaseError(.invalid, "cron: '\(part.prefix(20))' is not a valid \(field.name) field", field: "cron")
        }
    }

    /// `*`, `n`, `a-b`, each optionally `/step`, in a comma-separated list.
    private static func valid(_ field: String, _ range: ClosedRange<Int>) -> Bool {
        field.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { item in
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(stepParts.count) else { return false }
            if stepParts.count == 2 {
                guard let step = Int(stepParts[1]), step >= 1, step <= range.upperBound else { return false }
            }
            let base = stepParts[0]
            if base == "*" { return true }
            let bounds = base.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), bounds.allSatisfy({ $0.map(range.contains) == true }) else { return false }
            return bounds.count == 1 || bounds[0]! <= bounds[1]!
        }
    }
}
