import Foundation
import Postgres

/// One event in a client's history: a purchase, a contact, a complaint opened or closed, a
/// payment due, paid or in trouble, a relationship recorded, a change of category, a survey answer.
public struct TimelineItem: Sendable, Hashable {
    /// The event types, in the order events of the same instant are listed (first first).
    public enum Kind: String, Sendable, CaseIterable {
        case purchase
        case paymentPaid = "payment_paid"
        case paymentIncident = "payment_incident"
        case paymentDue = "payment_due"
        case interaction
        case complaintResolved = "complaint_resolved"
        case complaintOpened = "complaint_opened"
        case relationship
        case categoryChange = "category_change"
        case surveyAnswer = "survey_answer"

        /// Higher ranks come first among events of one instant (ORDER BY rank DESC).
        var rank: Int { Self.allCases.count - Self.allCases.firstIndex(of: self)! }

        /// What `types=` accepts: an event type, or a record's name for all its events.
        public static func named(_ name: String) -> [Kind]? {
            switch name {
            case "complaint": [.complaintOpened, .complaintResolved]
            case "payment": [.paymentDue, .paymentPaid, .paymentIncident]
            default: Kind(rawValue: name).map { [$0] }
            }
        }
    }

    public var type: Kind
    /// Midnight UTC for events that have a date only (a purchase, a due date).
    public var at: Date
    /// The record's id: a UUID, or a number for a category change.
    public var id: String
    public var summary: String
    /// The event's fields as a JSON object, written by PostgreSQL.
    public var dataJSON: String
    /// `at` exactly, in microseconds since 1970: the cursor's position.
    var microseconds: Int64
}

public struct TimelinePage: Sendable {
    public var items: [TimelineItem]
    public var nextCursor: String?
}

/// A position in a timeline: the last item's instant, type and id. Items are ordered by
/// (at, type rank, id), all descending, so the position is exact whatever is added meanwhile.
struct TimelineCursor: Hashable {
    var microseconds: Int64
    var type: TimelineItem.Kind
    var id: String

    init(microseconds: Int64, type: TimelineItem.Kind, id: String) {
        self.microseconds = microseconds
        self.type = type
        self.id = id
    }

    init(_ item: TimelineItem) {
        self.init(microseconds: item.microseconds, type: item.type, id: item.id)
    }

    var encoded: String {
        CursorText.encode("\(microseconds)|\(type.rawValue)|\(id)")
    }

    init?(encoded cursor: String) {
        guard let text = CursorText.decode(cursor, maximumLength: 200) else { return nil }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3, let microseconds = Int64(parts[0]), let type = TimelineItem.Kind(rawValue: String(parts[1]))
        else { return nil }
        let id = String(parts[2])
        if type == .categoryChange {
            guard Int64(id) != nil else { return nil }
        } else {
            guard UUID(uuidString: id) != nil else { return nil }
        }
        self.init(microseconds: microseconds, type: type, id: id)
    }

    static let microsecondsPerDay: Int64 = 86_400_000_000

    var isMidnight: Bool { microseconds % Self.microsecondsPerDay == 0 }

    /// The UTC date of the instant.
    var day: PostgresDate { CivilDate.date(daysSince1970: floorDivide(microseconds, Self.microsecondsPerDay)) }

    /// The first date whose midnight is at or after the instant.
    var dayRoundedUp: PostgresDate {
        CivilDate.date(daysSince1970: floorDivide(microseconds, Self.microsecondsPerDay) + (isMidnight ? 0 : 1))
    }

    /// The instant as exact text PostgreSQL reads as a timestamptz.
    var timestampText: String {
        let days = floorDivide(microseconds, Self.microsecondsPerDay)
        let rest = microseconds - days * Self.microsecondsPerDay
        let date = CivilDate.date(daysSince1970: days)
        let seconds = rest / 1_000_000, fraction = rest % 1_000_000
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", date.year, date.month, date.day,
                      Int(seconds / 3600), Int(seconds / 60 % 60), Int(seconds % 60), Int(fraction))
    }

    private func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : (a - b + 1) / b
    }
}

/// Gregorian dates from days since 1970-01-01 (H. Hinnant's civil_from_days).
enum CivilDate {
    static func date(daysSince1970 days: Int64) -> PostgresDate {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return PostgresDate(year: Int(year), month: Int(month), day: Int(day))
    }
}

/// What to read of a timeline.
public struct TimelineQuery: Sendable {
    public static let maximumLimit = 200
    public var types: Set<TimelineItem.Kind> = Set(TimelineItem.Kind.allCases)
    public var limit: Int = 50
    var cursor: TimelineCursor?

    public init(types: Set<TimelineItem.Kind> = Set(TimelineItem.Kind.allCases), limit: Int = 50) {
        self.types = types
        self.limit = limit
    }

    /// Sets the position from a `next_cursor`; false when it is not one this API gave out.
    public mutating func resume(after cursor: String) -> Bool {
        guard let decoded = TimelineCursor(encoded: cursor) else { return false }
        self.cursor = decoded
        return true
    }
}
