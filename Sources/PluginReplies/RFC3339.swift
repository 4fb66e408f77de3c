import Foundation

/// RFC 3339 date-times, read strictly: what JSON Schema's `date-time` format (the request schemas'
/// `since`, `until`, `at`) allows, and nothing else.
///
/// Foundation's `Date.ISO8601FormatStyle`, which memory used, rolls a field out of range over into
/// the next (`12:99` became 13:39), so a time no schema allows named some other instant
/// (schemathesis found it); `ISO8601DateFormatter`, which the soul and the API keys used, refused
/// that one. All three read times here now.
public enum RFC3339 {
    /// The instant `text` names, or nil when it is not an RFC 3339 date-time: `2026-01-31T12:00:00Z`,
    /// with an optional fraction of a second (`.250`) and `Z` or an offset (`+02:00`); `T` and `Z`
    /// in either case. Every field must be in its range, the day within its month (leap years
    /// counted); a second of 60 (a leap second) is read as the first second of the next minute.
    public static func date(_ text: String) -> Date? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= b.count else { return nil }
            var value = 0
            for byte in b[i..<(i + width)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            i += width
            return value
        }
        func expect(_ allowed: String) -> Bool {
            guard i < b.count, allowed.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt"), let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour <= 23, minute <= 59,
            second <= 60
        else { return nil }
        var fraction = 0.0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) {
                fraction += Double(b[i] - UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        if expect("Zz") {
            offset = 0
        } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), hours <= 23, minutes <= 59 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let seconds = daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// `date` as RFC 3339 in UTC, `2026-01-31T12:00:00.250Z`, with `fractionDigits` (0 to 9)
    /// digits of the second, cut (not rounded) as Foundation's formatters cut them, but after the
    /// error of the binary representation (a few units in the last place) is taken back, so a time
    /// of whole milliseconds reads back as itself (Foundation wrote `.148` as `.147` when the
    /// double fell just below it); and in the proleptic Gregorian calendar that ``date(_:)`` reads: Foundation writes a date before 15
    /// October 1582 in the Julian calendar (1500-01-10 came out as 1500-01-01), so a time read
    /// back from a reply named another instant. Years outside 0001-9999, which RFC 3339 cannot
    /// write, get Foundation's text.
    public static func string(_ date: Date, fractionDigits: Int = 3) -> String {
        let digits = min(max(fractionDigits, 0), 9)
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        // A Date holds seconds since 2001: the error is that of the larger of the two counts.
        let seconds = date.timeIntervalSince1970
        let slack = max(abs(seconds), abs(date.timeIntervalSinceReferenceDate)).ulp * 4
        let scaled = ((seconds + slack) * Double(scale)).rounded(.down)
        guard scaled.isFinite, abs(scaled) < 9.0e18 else { return fallback(date, digits) }
        let units = Int64(scaled)
        let (wholeSeconds, fraction) = units.floorDivided(by: scale)
        let (days, secondOfDay) = wholeSeconds.floorDivided(by: 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: Int(days))
        guard (1...9999).contains(year) else { return fallback(date, digits) }
        // Written in place: building it from small arrays made it twice as slow as Foundation.
        let length = 20 + (digits > 0 ? digits + 1 : 0)
        return String(unsafeUninitializedCapacity: length) { text in
            var at = 0
            func put(_ value: Int64, width: Int) {
                var rest = value
                for k in stride(from: width - 1, through: 0, by: -1) {
                    text[at + k] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                at += width
            }
            func put(_ character: Unicode.Scalar) {
                text[at] = UInt8(ascii: character)
                at += 1
            }
            put(Int64(year), width: 4)
            put("-")
            put(Int64(month), width: 2)
            put("-")
            put(Int64(day), width: 2)
            put("T")
            put(secondOfDay / 3600, width: 2)
            put(":")
            put(secondOfDay / 60 % 60, width: 2)
            put(":")
            put(secondOfDay % 60, width: 2)
            if digits > 0 {
                put(".")
                put(fraction, width: digits)
            }
            put("Z")
            return at
        }
    }

    private static func fallback(_ date: Date, _ digits: Int) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: digits > 0))
    }

    /// The proleptic Gregorian date `days` after 1970-01-01 (``daysSinceEpoch(year:month:day:)``
    /// turned around).
    static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        // Counted in 400-year eras from 0000-03-01, so the leap day ends its year.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The days of `month` (1-12) in `year` of the proleptic Gregorian calendar.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the date (negative before it), in the proleptic Gregorian calendar.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        // Counted from 1 March, so the leap day ends its year.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension Int64 {
    /// The quotient rounded toward negative infinity, and the remainder (never negative).
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let q = self / divisor
        let r = self % divisor
        return r < 0 ? (q - 1, r + divisor) : (q, r)
    }
}
