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
}
