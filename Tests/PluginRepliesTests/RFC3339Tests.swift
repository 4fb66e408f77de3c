import Foundation
import PluginReplies
import Testing

/// `RFC3339.date` reads exactly the date-times JSON Schema's `date-time` format allows.
@Suite struct RFC3339Tests {
    @Test func validTimesNameTheirInstant() {
        let cases: [(String, Double)] = [
            ("1970-01-01T00:00:00Z", 0),
            ("2026-01-31T12:00:00Z", 1_769_860_800),
            ("2026-01-31t12:00:00z", 1_769_860_800),
            ("2026-01-31T14:00:00+02:00", 1_769_860_800),
            ("2026-01-31T06:30:00-05:30", 1_769_860_800),
            ("2026-01-31T12:00:00.250Z", 1_769_860_800.25),
            ("2024-02-29T00:00:00Z", 1_709_164_800),
            ("2000-02-29T00:00:00Z", 951_782_400),
            ("1969-12-31T23:59:59Z", -1),
            ("2016-12-31T23:59:60Z", 1_483_228_800),
        ]
        for (text, seconds) in cases {
            #expect(RFC3339.date(text)?.timeIntervalSince1970 == seconds, "\(text)")
        }
    }

    /// Foundation's ISO 8601 parsers read `12:99` as 13:39; these are all refused.
    @Test func fieldsOutOfRangeAndOtherShapesAreRefused() {
        let refused = [
            "2024-01-01T12:99:00Z", "2024-01-01T24:00:00Z", "2024-01-01T12:00:61Z", "2024-13-01T00:00:00Z",
            "2024-00-10T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
            "2024-01-00T00:00:00Z", "2024-01-01T00:00:00", "2024-01-01", "2024-01-01T00:00Z", "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+2:00", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00Z ", " 2024-01-01T00:00:00Z",
            "2024-1-01T00:00:00Z", "yesterday", "", "2024-01-01T00:00:00+02:60", "２０２４-01-01T00:00:00Z",
        ]
        for text in refused { #expect(RFC3339.date(text) == nil, "\(text)") }
    }

    /// Written as ``RFC3339/date(_:)`` reads: in the proleptic Gregorian calendar before 1582 too,
    /// where Foundation's formatters write the Julian date (1500-01-10 came out as 1500-01-01).
    @Test func writtenTimesReadBackAsTheSameInstant() {
        #expect(RFC3339.string(Date(timeIntervalSince1970: -14_830_974_400)) == "1500-01-10T04:53:20.000Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: 1_769_860_800.25)) == "2026-01-31T12:00:00.250Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: 1_709_164_800), fractionDigits: 0) == "2024-02-29T00:00:00Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z")
        #expect(RFC3339.string(Date(timeIntervalSince1970: 253_402_300_799.999)) == "9999-12-31T23:59:59.999Z")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // Whole milliseconds from year 1 to 9999, read back exactly.
            let milliseconds = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = RFC3339.string(date)
            #expect(RFC3339.date(text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == milliseconds, "\(text)")
        }
    }

    /// After the Gregorian reform, away from the edge of the last digit (where Foundation cuts
    /// the binary representation's error too), the text is Foundation's, to the character:
    /// replies keep their form.
    @Test func afterTheReformTheTextIsFoundations() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        var compared = 0
        while compared < 20_000 {
            // 1583 to 2199, in whole microseconds at least 10 from a millisecond's edge.
            let microseconds = Int64.random(in: -12_212_553_600_000_000...7_258_118_399_000_000, using: &generator)
            let intoMillisecond = ((microseconds % 1000) + 1000) % 1000
            guard (10...990).contains(intoMillisecond) else { continue }
            compared += 1
            let date = Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
            #expect(RFC3339.string(date) == date.formatted(style), "\(microseconds) µs")
        }
        let whole = ISO8601DateFormatter()
        for seconds in [0.0, 1_769_860_800.999, -1.5, 4_102_444_800] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(RFC3339.string(date, fractionDigits: 0) == whole.string(from: date), "\(seconds)")
        }
    }
}
