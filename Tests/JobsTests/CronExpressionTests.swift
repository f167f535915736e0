import Foundation
import Jobs
import Testing

/// Firing times are written as local ISO 8601 times with their offset, so each expectation
/// reads as what a clock in that zone shows.
@Suite("Cron expressions")
struct CronExpressionTests {
    /// The next `count` firing times after `start`, as local times in `zone`.
    func firings(_ cron: String, after start: String, count: Int = 1, in zone: String = "UTC") throws -> [String] {
        let expression = try CronExpression(cron)
        let timeZone = try #require(TimeZone(identifier: zone))
        var date = try Date(start, strategy: .iso8601)
        var result: [String] = []
        for _ in 0..<count {
            guard let next = expression.next(after: date, in: timeZone) else { break }
            result.append(next.formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: timeZone)))
            date = next
        }
        return result
    }

    @Test("fields: values, lists, ranges, steps, names, 7 as Sunday", arguments: [
        ("*/15 * * * *", "2026-01-09T10:07:00Z", ["2026-01-09T10:15:00Z", "2026-01-09T10:30:00Z", "2026-01-09T10:45:00Z"]),
        ("5-10/2 * * * *", "2026-01-09T10:07:00Z", ["2026-01-09T10:09:00Z", "2026-01-09T11:05:00Z", "2026-01-09T11:07:00Z"]),
        ("30/10 8 * * *", "2026-01-09T08:45:00Z", ["2026-01-09T08:50:00Z", "2026-01-10T08:30:00Z"]),
        ("0 9,17 * * *", "2026-01-09T09:00:00Z", ["2026-01-09T17:00:00Z", "2026-01-10T09:00:00Z"]),
        // 2026-01-09 is a Friday.
        ("0 9 * * MON-FRI", "2026-01-09T10:00:00Z", ["2026-01-12T09:00:00Z", "2026-01-13T09:00:00Z"]),
        ("0 9 * * mon-fri", "2026-01-09T08:00:00Z", ["2026-01-09T09:00:00Z", "2026-01-12T09:00:00Z"]),
        ("0 0 * * 7", "2026-01-01T00:00:00Z", ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]),
        ("0 0 * * 0", "2026-01-01T00:00:00Z", ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]),
        ("0 0 * * SAT,SUN", "2026-01-01T00:00:00Z", ["2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-10T00:00:00Z"]),
        ("0 0 1 jan,Jul *", "2026-01-02T00:00:00Z", ["2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"]),
        ("0 6 1-7 * *", "2026-01-07T06:00:00Z", ["2026-02-01T06:00:00Z"]),
        ("* * * * *", "2026-01-09T10:07:30Z", ["2026-01-09T10:08:00Z", "2026-01-09T10:09:00Z"]),
    ])
    func fields(cron: String, start: String, expected: [String]) throws {
        #expect(try firings(cron, after: start, count: expected.count) == expected)
    }

    @Test("macros stand for their usual fields", arguments: [
        ("@hourly", ["2026-01-09T11:00:00Z", "2026-01-09T12:00:00Z"]),
        ("@daily", ["2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z"]),
        ("@midnight", ["2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z"]),
        ("@weekly", ["2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z"]),
        ("@monthly", ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]),
        ("@yearly", ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]),
        ("@ANNUALLY", ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]),
    ])
    func macros(cron: String, expected: [String]) throws {
        #expect(try firings(cron, after: "2026-01-09T10:15:00Z", count: 2) == expected)
    }

    @Test("day of month and day of week: either matches when both are restricted, both when one starts with *")
    func dayRule() throws {
        // The 13th, or any Friday (2026-01-02 and 01-09 are Fridays, the 13th a Tuesday).
        #expect(try firings("0 0 13 * FRI", after: "2026-01-01T00:00:00Z", count: 4)
                == ["2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"])
        // `*/2` starts with `*`: odd days that are also Mondays (Mondays: 5, 12, 19, 26).
        #expect(try firings("0 0 */2 * MON", after: "2026-01-01T00:00:00Z", count: 2)
                == ["2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z"])
        // A restricted day of month with `*` for the week: only the date counts.
        #expect(try firings("0 0 13 * *", after: "2026-01-01T00:00:00Z", count: 2)
                == ["2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"])
    }

    @Test("month ends, leap days and the turn of the year")
    func calendar() throws {
        // Only months with a 31st.
        #expect(try firings("0 12 31 * *", after: "2026-01-31T12:00:00Z", count: 3)
                == ["2026-03-31T12:00:00Z", "2026-05-31T12:00:00Z", "2026-07-31T12:00:00Z"])
        #expect(try firings("0 0 30 * *", after: "2026-01-30T00:00:00Z", count: 2)
                == ["2026-03-30T00:00:00Z", "2026-04-30T00:00:00Z"])
        // 29 February: leap years only, and 2100 is not one.
        #expect(try firings("0 0 29 2 *", after: "2026-01-01T00:00:00Z", count: 2)
                == ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"])
        #expect(try firings("0 0 29 2 *", after: "2096-03-01T00:00:00Z") == ["2104-02-29T00:00:00Z"])
        // 29 February that is also a Sunday (`*/7` starts with `*`: both must match).
        #expect(try firings("0 0 29 2 */7", after: "2026-01-01T00:00:00Z") == ["2032-02-29T00:00:00Z"])
        #expect(try firings("59 23 31 12 *", after: "2026-12-31T23:59:00Z") == ["2027-12-31T23:59:00Z"])
        #expect(try firings("0 0 1 1 *", after: "2026-12-31T23:59:59Z") == ["2027-01-01T00:00:00Z"])
    }

    @Test("next is strictly after the given instant")
    func strictlyAfter() throws {
        #expect(try firings("0 10 * * *", after: "2026-01-09T10:00:00Z") == ["2026-01-10T10:00:00Z"])
        #expect(try firings("0 10 * * *", after: "2026-01-09T09:59:59Z") == ["2026-01-09T10:00:00Z"])
        let justBefore = try Date("2026-01-09T10:00:00Z", strategy: .iso8601).addingTimeInterval(-0.25)
        #expect(try CronExpression("0 10 * * *").next(after: justBefore, in: .gmt) == justBefore.addingTimeInterval(0.25))
    }

    @Test("fields are read in the given zone")
    func timeZones() throws {
        #expect(try firings("0 9 * * *", after: "2026-01-09T10:00:00Z", in: "Europe/Paris") == ["2026-01-10T09:00:00+01:00"])
        #expect(try firings("0 9 * * *", after: "2026-07-09T10:00:00Z", in: "Europe/Paris") == ["2026-07-10T09:00:00+02:00"])
        #expect(try firings("0 9 * * *", after: "2026-01-09T10:00:00Z", in: "America/New_York") == ["2026-01-09T09:00:00-05:00"])
    }

    // MARK: Daylight saving time in Europe/Paris: 2026-03-29 02:00 CET → 03:00 CEST,
    // 2026-10-25 03:00 CEST → 02:00 CET.

    @Test("spring forward: a local time that does not exist fires once, at the first instant after the gap")
    func springForward() throws {
        #expect(try firings("30 2 * * *", after: "2026-03-28T12:00:00+01:00", count: 3, in: "Europe/Paris")
                == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"])
        #expect(try firings("0 2 * * *", after: "2026-03-28T12:00:00+01:00", count: 2, in: "Europe/Paris")
                == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"])
        // Every quarter of the missing hour lands on 03:00: once, not four times.
        #expect(try firings("*/15 2 * * *", after: "2026-03-29T01:50:00+01:00", count: 2, in: "Europe/Paris")
                == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"])
        // 02:30 and 03:00 are both due at 03:00 CEST: one firing.
        #expect(try firings("0,30 2-3 * * *", after: "2026-03-29T01:00:00+01:00", count: 3, in: "Europe/Paris")
                == ["2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:00:00+02:00"])
        #expect(try firings("30 2 * * *", after: "2026-03-07T12:00:00-05:00", in: "America/New_York")
                == ["2026-03-08T03:00:00-04:00"])
    }

    @Test("fall back: a local time that happens twice fires once, at its first occurrence")
    func fallBack() throws {
        #expect(try firings("30 2 * * *", after: "2026-10-24T12:00:00+02:00", count: 3, in: "Europe/Paris")
                == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"])
        // From inside the second pass of the repeated hour: nothing more that day.
        #expect(try firings("30 2 * * *", after: "2026-10-25T02:10:00+01:00", in: "Europe/Paris")
                == ["2026-10-26T02:30:00+01:00"])
        #expect(try firings("15 1-3 * * *", after: "2026-10-25T00:00:00+02:00", count: 3, in: "Europe/Paris")
                == ["2026-10-25T01:15:00+02:00", "2026-10-25T02:15:00+02:00", "2026-10-25T03:15:00+01:00"])
    }

    @Test("hourly schedules fire every real hour across both changes: none skipped, none doubled")
    func hourlyAcrossChanges() throws {
        let spring = try firings("0 * * * *", after: "2026-03-29T00:30:00+01:00", count: 4, in: "Europe/Paris")
        #expect(spring == ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00",
                           "2026-03-29T04:00:00+02:00", "2026-03-29T05:00:00+02:00"])
        try expectHourApart(spring)
        #expect(try firings("@hourly", after: "2026-03-29T00:30:00+01:00", count: 4, in: "Europe/Paris") == spring)
        let springHalf = try firings("30 * * * *", after: "2026-03-29T01:00:00+01:00", count: 3, in: "Europe/Paris")
        #expect(springHalf == ["2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-29T04:30:00+02:00"])
        try expectHourApart(springHalf)

        let fall = try firings("0 * * * *", after: "2026-10-25T00:30:00+02:00", count: 5, in: "Europe/Paris")
        #expect(fall == ["2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00",
                         "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00"])
        try expectHourApart(fall)
        // From inside the first pass, the second pass's 02:00 comes next.
        #expect(try firings("0 * * * *", after: "2026-10-25T02:10:00+02:00", in: "Europe/Paris") == ["2026-10-25T02:00:00+01:00"])
        #expect(try firings("*/30 * * * *", after: "2026-10-25T02:10:00+02:00", count: 4, in: "Europe/Paris")
                == ["2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00", "2026-10-25T03:00:00+01:00"])
        // Every minute: 60 firings in each real hour, the repeated one included.
        let minutes = try firings("* * * * *", after: "2026-10-25T01:59:30+02:00", count: 181, in: "Europe/Paris")
        #expect(minutes.first == "2026-10-25T02:00:00+02:00")
        #expect(minutes.last == "2026-10-25T04:00:00+01:00")
        #expect(try firings("* * * * *", after: "2026-03-29T01:59:00+01:00", in: "Europe/Paris") == ["2026-03-29T03:00:00+02:00"])
    }

    func expectHourApart(_ times: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dates = try times.map { try Date($0, strategy: .iso8601) }
        for (earlier, later) in zip(dates, dates.dropFirst()) {
            #expect(later.timeIntervalSince(earlier) == 3600, "\(earlier) → \(later)", sourceLocation: sourceLocation)
        }
    }

    @Test("bad expressions are refused with a message naming the field", arguments: [
        ("", nil, "the expression is empty"),
        ("* * * *", nil, "expected 5 fields (minute hour day-of-month month day-of-week), found 4"),
        ("* * * * * *", nil, "found 6"),
        ("60 * * * *", "minute", "the minute field '60': 60 is outside 0-59"),
        ("* 24 * * *", "hour", "the hour field '24': 24 is outside 0-23"),
        ("* * 0 * *", "day-of-month", "0 is outside 1-31"),
        ("* * 32 * *", "day-of-month", "32 is outside 1-31"),
        ("* * * 13 *", "month", "13 is outside 1-12"),
        ("* * * * 8", "day-of-week", "8 is outside 0-7"),
        ("*/0 * * * *", "minute", "the step '0' is not a positive whole number"),
        ("*/+5 * * * *", "minute", "the step '+5'"),
        ("5-2 * * * *", "minute", "the range '5-2' runs backwards"),
        ("* * * FOO *", "month", "'FOO' is not a number or a name like JAN"),
        ("* * * * FRIDAY", "day-of-week", "'FRIDAY' is not a number or a name like MON"),
        ("1,,2 * * * *", "minute", "an element of the list is empty"),
        ("a * * * *", "minute", "'a' is not a number"),
        ("1/2/3 * * * *", "minute", "more than one '/'"),
        ("0 0 30 2 *", "day-of-month", "names no day that exists"),
        ("0 0 31 4,6 *", "day-of-month", "names no day that exists"),
        ("@fortnightly", nil, "unknown macro '@fortnightly'"),
    ] as [(String, String?, String)])
    func badInput(cron: String, field: String?, message: String) {
        #expect {
            _ = try CronExpression(cron)
        } throws: { error in
            guard let error = error as? CronExpressionError else { return false }
            return error.field == field && error.message.contains(message)
        }
    }

    @Test("an expression that can only fire on 30 February in a leap year is refused, but the 29th is fine")
    func possibleDays() throws {
        _ = try CronExpression("0 0 29 2 *")
        _ = try CronExpression("0 0 30 2 MON")  // Mondays of February: it fires
        #expect(try firings("0 0 30 2 MON", after: "2026-01-01T00:00:00Z") == ["2026-02-02T00:00:00Z"])
    }
}
