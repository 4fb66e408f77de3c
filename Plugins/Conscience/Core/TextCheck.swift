/// Checks of texts handed to the engine: not empty, not too long, no control characters.
public enum TextCheck {
    /// Jamey 3.0's limit on an evaluated text, in characters.
    public static let defaultMaxLength = 10_000

    /// Whether `scalar` is a control character other than tab, line feed and carriage return.
    public static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x00...0x1F, 0x7F...0x9F: return true
        default: return false
        }
    }

    /// Checks a text to evaluate.
    /// - Parameters:
    ///   - text: the text.
    ///   - maxLength: the most characters accepted.
    /// - Throws: ``ConscienceError`` `.invalid` for an empty (or blank), over-long or
    ///   control-character text, saying which.
    public static func check(_ text: String, maxLength: Int = defaultMaxLength) throws(ConscienceError) {
        // Blank and length by code point (White_Space; a JSON Schema's `maxLength`), as the
        // route schemas say.
        if text.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
            throw ConscienceError(.invalid, "text: expected some text, found an empty or blank string")
        }
        let length = text.unicodeScalars.count
        guard length <= maxLength else {
            throw ConscienceError(.invalid, "text: expected at most \(maxLength) characters, found \(length)")
        }
        if let bad = text.unicodeScalars.first(where: isForbidden) {
            let code = String(bad.value, radix: 16, uppercase: true)
            throw ConscienceError(
                .invalid,
                "text: control character U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code) is not allowed")
        }
    }
}
