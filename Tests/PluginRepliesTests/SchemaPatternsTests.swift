import Foundation
import PluginReplies
import Testing

/// The schema patterns say what the plugins' checks say: White_Space for blank, general category
/// Cc for a control character, U+0000 for SQLite's end of text. Each pattern is compiled as the
/// OpenAPI document carries it (JSON string text) and run over every code point up to U+3100 and
/// a few beyond, alone and after a letter.
@Suite struct SchemaPatternsTests {
    static let codePoints: [Unicode.Scalar] =
        (0...0x3100).compactMap(Unicode.Scalar.init) + [0xFEFF, 0xE000, 0x1F600, 0x10FFFF].compactMap(Unicode.Scalar.init)

    /// The pattern as a regex reads it: the JSON string decoded.
    static func regex(_ pattern: String) throws -> NSRegularExpression {
        let array = try JSONSerialization.jsonObject(with: Data("[\"\(pattern)\"]".utf8)) as? [String]
        let decoded = try #require(array?.first)
        return try NSRegularExpression(pattern: decoded)
    }

    static func matches(_ regex: NSRegularExpression, _ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool { s.properties.generalCategory == .control }

    /// What each pattern refuses: (pattern, whether it refuses a blank text, the code points it refuses).
    static func rule(_ name: String) -> (String, Bool, (Unicode.Scalar) -> Bool) {
        switch name {
        case "noNUL": (SchemaPatterns.noNUL, false, { $0.value == 0 })
        case "notBlank": (SchemaPatterns.notBlank, true, { $0.value == 0 })
        case "label": (SchemaPatterns.label, true, isControl)
        default: (SchemaPatterns.text, true, { isControl($0) && ![9, 10, 13].contains($0.value) })
        }
    }

    @Test(arguments: ["noNUL", "notBlank", "label", "text"])
    func aPatternAcceptsWhatTheChecksAccept(name: String) throws {
        let (pattern, refusesBlank, forbidden) = Self.rule(name)
        let regex = try Self.regex(pattern)
        var disagreements: [String] = []
        for scalar in Self.codePoints {
            let alone = String(Character(scalar))
            let expectAlone = !forbidden(scalar) && !(refusesBlank && SchemaPatterns.isBlank(alone))
            if Self.matches(regex, alone) != expectAlone { disagreements.append("U+\(String(scalar.value, radix: 16)) alone") }
            let after = "a" + String(Character(scalar)) + "b"
            if Self.matches(regex, after) != !forbidden(scalar) {
                disagreements.append("U+\(String(scalar.value, radix: 16)) inside")
            }
        }
        #expect(disagreements.isEmpty, "\(name): \(disagreements.prefix(20))")
        #expect(Self.matches(regex, "") == !refusesBlank)
    }

    @Test func blankIsEveryCodePointWhiteSpace() {
        #expect(SchemaPatterns.isBlank(""))
        #expect(SchemaPatterns.isBlank(" \t\n\u{85}\u{A0}\u{3000}"))
        #expect(!SchemaPatterns.isBlank(" \u{301}"), "a combining mark after a space is not blank")
        #expect(!SchemaPatterns.isBlank("\u{FEFF}"), "U+FEFF is not White_Space (ECMA's \\s would say it is)")
    }
}
