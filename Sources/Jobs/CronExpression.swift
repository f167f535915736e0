import Foundation

/// A standard five-field cron expression: `minute hour day-of-month month day-of-week`.
///
/// Each field takes `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the
/// field's end), and comma-separated lists of these. Months take `JAN`…`DEC` and days of the week
/// `SUN`…`SAT` (any case); day of week 0 and 7 are both Sunday. The macros `@hourly`, `@daily`
/// (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`) stand for their usual fields.
///
/// Day of month and day of week follow the usual (Vixie cron) rule: when both are restricted
/// (neither starts with `*`), a day matches if EITHER matches (`0 9 1 * MON`: the 1st and every
/// Monday); otherwise both must match.
///
/// Times are wall-clock times in a time zone, and daylight-saving changes follow these rules:
/// - A local time that does not exist (spring forward: 02:30 on 2026-03-29 in Europe/Paris)
///   fires once, at the first instant after the gap (03:00 CEST).
/// - A local time that happens twice (fall back: 02:30 on 2026-10-25 in Europe/Paris) fires
///   once, at its first occurrence (02:30 CEST).
/// - Except when the hour field is `*` (every hour): such a schedule is read against each real
///   hour, so it is neither skipped nor doubled by a shift. A local time inside a spring-forward
///   gap does not fire (that real hour fires at its new local time: `0 * * * *` fires at 01:00
///   CET then 03:00 CEST, one hour apart), and a repeated local time fires in both passes (02:00
///   CEST, 02:00 CET, 03:00 CET, one hour apart).
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let source: String
    // One bit per allowed value.
    let minutes: UInt64       // 0-59
    let hours: UInt64         // 0-23
    let daysOfMonth: UInt64   // 1-31
    let months: UInt64        // 1-12
    let daysOfWeek: UInt64    // 0-6, Sunday is 0
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public var description: String { source }

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    /// Parses the expression; a `CronExpressionError` names the field at fault.
    public init(_ text: String) throws(CronExpressionError) {
        source = text.trimmingCharacters(in: .whitespaces)
        var fieldsText = source
        if source.hasPrefix("@") {
            guard let expansion = Self.macros[source.lowercased()] else {
                throw CronExpressionError(field: nil, message:
                    "unknown macro '\(source)': use @hourly, @daily, @weekly, @monthly or @yearly")
            }
            fieldsText = expansion
        }
        let fields = fieldsText.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !fields.isEmpty else {
            throw CronExpressionError(field: nil, message: "the expression is empty")
        }
        guard fields.count == 5 else {
            throw CronExpressionError(field: nil, message:
                "expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        minutes = try CronField.minute.parse(fields[0])
        hours = try CronField.hour.parse(fields[1])
        daysOfMonth = try CronField.dayOfMonth.parse(fields[2])
        months = try CronField.month.parse(fields[3])
        var weekdays = try CronField.dayOfWeek.parse(fields[4])
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays & ~(1 << 7)) | 1 }  // 7 is Sunday
        daysOfWeek = weekdays
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")

        // `0 0 30 2 *` would never fire: say so now rather than schedule nothing.
        if dayOfMonthRestricted, !dayOfWeekRestricted {
            let firstDay = daysOfMonth.trailingZeroBitCount
            let possible = (1...12).contains { months & (1 << $0) != 0 && firstDay <= Self.longestMonth[$0] }
            if !possible {
                throw CronExpressionError(field: CronField.dayOfMonth.name, message:
                    "the day-of-month field '\(fields[2])' names no day that exists in the months of the month field")
            }
        }
    }

    /// Whether the hour field allows every hour: such schedules follow real hours across DST.
    var everyHour: Bool { hours == (1 << 24) - 1 }

    static let longestMonth = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    // MARK: Next firing time

    /// The first firing time strictly after `date`, reading the fields as wall-clock times in
    /// `timeZone` (see the type's rules for daylight-saving changes); nil if it never fires again
    /// (within 400 years, the Gregorian calendar's cycle).
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        let after = date.timeIntervalSince1970
        let offset = timeZone.secondsFromGMT(for: date)
        // A fall-back ahead (the offset drops within a day): wall times a little before `date`'s
        // come again after it, and an every-hour schedule fires on that second pass too.
        let lookback = max(0, offset - timeZone.secondsFromGMT(for: date.addingTimeInterval(86_400)))
        var wall = Self.floorDiv(Int(after.rounded(.down)) + offset - lookback, 60)
        var best: Double?
        func consider(_ instant: Double) {
            if instant > after, instant < (best ?? .infinity) { best = instant }
        }
        // Candidates come in wall-time order, and their first instants never go backwards: once one
        // lies after `date`, nothing later can beat the best found so far.
        for _ in 0..<10_000 {
            guard let candidate = nextMatch(atOrAfter: wall) else { break }
            let first: Double
            switch Self.resolve(wallMinute: candidate, in: timeZone) {
            case .single(let instant):
                consider(instant)
                first = instant
            case .gap(let endOfGap):
                if !everyHour { consider(endOfGap) }
                first = endOfGap
            case .repeated(let firstPass, let secondPass):
                consider(firstPass)
                if everyHour { consider(secondPass) }
                first = firstPass
            }
            if first > after, let best, best <= first { return Date(timeIntervalSince1970: best) }
            wall = candidate + 1
        }
        return best.map(Date.init(timeIntervalSince1970:))
    }

    /// The first wall-clock minute at or after `wall` (minutes since 1970-01-01 00:00, zone-free)
    /// that the fields allow.
    func nextMatch(atOrAfter wall: Int) -> Int? {
        let days = Self.floorDiv(wall, 1440)
        var (year, month, day) = Self.civil(fromDays: days)
        var hour = (wall - days * 1440) / 60
        var minute = (wall - days * 1440) % 60
        let lastYear = year + 400

        func nextMonth() {
            month += 1
            day = 1; hour = 0; minute = 0
            if month > 12 { month = 1; year += 1 }
        }
        func nextDay() {
            day += 1
            hour = 0; minute = 0
            if day > Self.daysIn(year: year, month: month) { nextMonth() }
        }
        while year <= lastYear {
            if months & (1 << month) == 0 { nextMonth(); continue }
            if !dayMatches(year: year, month: month, day: day) { nextDay(); continue }
            guard let matchingHour = Self.firstBit(of: hours, from: hour, through: 23) else { nextDay(); continue }
            if matchingHour != hour { hour = matchingHour; minute = 0 }
            guard let matchingMinute = Self.firstBit(of: minutes, from: minute, through: 59) else {
                hour += 1
                minute = 0
                if hour > 23 { nextDay() }
                continue
            }
            return (Self.days(year: year, month: month, day: day) * 24 + hour) * 60 + matchingMinute
        }
        return nil
    }

    func dayMatches(year: Int, month: Int, day: Int) -> Bool {
        let byDate = daysOfMonth & (1 << day) != 0
        let weekday = Self.floorMod(Self.days(year: year, month: month, day: day) + 4, 7)  // 1970-01-01 was a Thursday
        let byWeekday = daysOfWeek & (1 << weekday) != 0
        return dayOfMonthRestricted && dayOfWeekRestricted ? byDate || byWeekday : byDate && byWeekday
    }

    // MARK: Wall time to instants

    enum Resolution: Equatable {
        /// The wall time happens once.
        case single(Double)
        /// The wall time falls in a spring-forward gap; the payload is the first instant after it.
        case gap(Double)
        /// The wall time happens twice (fall back).
        case repeated(Double, Double)
    }

    /// The instants (seconds since 1970) at which the zone's clocks show this wall-clock minute.
    /// Assumes at most one offset change within a day of it, as in every zone today.
    static func resolve(wallMinute: Int, in zone: TimeZone) -> Resolution {
        let wall = Double(wallMinute) * 60
        let offsetBefore = zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall - 86_400))
        let offsetAfter = zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall + 86_400))
        let instants = Set([offsetBefore, offsetAfter]).compactMap { offset -> Double? in
            let instant = wall - Double(offset)
            return zone.secondsFromGMT(for: Date(timeIntervalSince1970: instant)) == offset ? instant : nil
        }.sorted()
        switch instants.count {
        case 2: return .repeated(instants[0], instants[1])
        case 1: return .single(instants[0])
        default:
            guard offsetAfter > offsetBefore else { return .single(wall - Double(offsetBefore)) }
            // In the gap: the clocks jumped from before `wall` to after it. Find the jump's instant.
            var low = Int(wall) - offsetAfter    // still on the old offset
            var high = Int(wall) - offsetBefore  // already on the new one
            while high - low > 1 {
                let middle = (low + high) / 2
                if zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(middle))) == offsetAfter {
                    high = middle
                } else {
                    low = middle
                }
            }
            return .gap(Double(high))
        }
    }

    // MARK: Calendar arithmetic (proleptic Gregorian, no time zone)

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(year: Int, month: Int) -> Int {
        month == 2 ? (isLeap(year) ? 29 : 28) : longestMonth[month]
    }

    /// Days since 1970-01-01 (H. Hinnant's days_from_civil).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day number (H. Hinnant's civil_from_days).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func floorMod(_ a: Int, _ b: Int) -> Int { a - floorDiv(a, b) * b }

    /// The lowest set bit at or above `from`, up to `through`.
    static func firstBit(of mask: UInt64, from: Int, through: Int) -> Int? {
        guard from <= through else { return nil }
        let bit = (mask >> UInt64(from)).trailingZeroBitCount + from
        return bit <= through ? bit : nil
    }
}

/// Why a cron expression was refused; `field` names the field at fault when there is one.
public struct CronExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// "minute", "hour", "day-of-month", "month" or "day-of-week"; nil for the whole expression.
    public var field: String?
    public var message: String
    public var description: String { message }
}

/// One field's grammar: its range and names.
struct CronField {
    let name: String
    let range: ClosedRange<Int>
    let names: [String: Int]

    static let minute = CronField(name: "minute", range: 0...59, names: [:])
    static let hour = CronField(name: "hour", range: 0...23, names: [:])
    static let dayOfMonth = CronField(name: "day-of-month", range: 1...31, names: [:])
    static let month = CronField(name: "month", range: 1...12, names: Dictionary(uniqueKeysWithValues:
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].enumerated().map { ($1, $0 + 1) }))
    static let dayOfWeek = CronField(name: "day-of-week", range: 0...7, names: Dictionary(uniqueKeysWithValues:
        ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"].enumerated().map { ($1, $0) }))

    /// The allowed values as bits.
    func parse(_ text: String) throws(CronExpressionError) -> UInt64 {
        var mask: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw error(text, "an element of the list is empty") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw error(text, "'\(item)' has more than one '/'") }
            var step = 1
            if parts.count == 2 {
                guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(parts[1]), value >= 1 else {
                    throw error(text, "the step '\(parts[1])' is not a positive whole number")
                }
                step = value
            }
            let bounds: ClosedRange<Int>
            if parts[0] == "*" {
                bounds = range
            } else if let dash = parts[0].firstIndex(of: "-") {
                let low = try value(parts[0][..<dash], in: text)
                let high = try value(parts[0][parts[0].index(after: dash)...], in: text)
                guard low <= high else { throw error(text, "the range '\(parts[0])' runs backwards") }
                bounds = low...high
            } else {
                let start = try value(parts[0], in: text)
                bounds = parts.count == 2 ? start...range.upperBound : start...start
            }
            for value in stride(from: bounds.lowerBound, through: bounds.upperBound, by: step) {
                mask |= 1 << UInt64(value)
            }
        }
        return mask
    }

    private func value(_ text: Substring, in field: String) throws(CronExpressionError) -> Int {
        if let name = names[text.uppercased()] { return name }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(text) else {
            let hint = names.isEmpty ? "a number" : "a number or a name like \(name == "month" ? "JAN" : "MON")"
            throw error(field, "'\(text)' is not \(hint)")
        }
        guard range.contains(number) else {
            throw error(field, "\(number) is outside \(range.lowerBound)-\(range.upperBound)")
        }
        return number
    }

    private func error(_ field: String, _ problem: String) -> CronExpressionError {
        CronExpressionError(field: name, message: "the \(name) field '\(field)': \(problem)")
    }
}
