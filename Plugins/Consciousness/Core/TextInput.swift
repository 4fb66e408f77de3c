/// A text accepted by ``Consciousness/process(_:at:emotion:)``: checked and split once, in one
/// pass, into the pieces every stage reads. Lengths count Unicode scalars (Jamey 3.0's Rust
/// `chars()`), never bytes: "é" is one, not two. Words are split on whitespace scalars, as Rust's
/// `split_whitespace` does.
public struct TextInput: Sendable {
    /// Jamey 3.0's limit, in characters.
    public static let maxLength = 10_000

    /// The text.
    public let text: String
    /// Its Unicode scalars.
    let scalars: [Unicode.Scalar]
    /// Its whitespace-separated words, as ranges of ``scalars``.
    let words: [Range<Int>]
    /// Whether every scalar is ASCII (the stages then take their fast paths).
    let isASCII: Bool

    /// Checks and splits `text`.
    /// - Throws: ``ConsciousnessError`` `.invalid` naming `text` for an empty or blank text, one
    ///   longer than `maxLength` characters, or one with a control character other than tab,
    ///   line feed and carriage return.
    public init(_ text: String, maxLength: Int = maxLength) throws(ConsciousnessError) {
        // A text whose UTF-8 is longer than the limit may be too long: count before copying.
        if text.utf8.count > maxLength, case let count = text.unicodeScalars.count, count > maxLength {
            throw ConsciousnessError(.invalid, "text: expected at most \(maxLength) characters, found \(count)")
        }
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.utf8.count)
        var words: [Range<Int>] = []
        var start = -1
        var ascii = true
        for scalar in text.unicodeScalars {
            if Self.isForbidden(scalar) {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                throw ConsciousnessError(
                    .invalid,
                    "text: control character U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex) is not allowed")
            }
            if scalar.value >= 0x80 { ascii = false }
            if scalar.isSpace {
                if start >= 0 { words.append(start..<scalars.count) }
                start = -1
            } else if start < 0 {
                start = scalars.count
            }
            scalars.append(scalar)
        }
        if start >= 0 { words.append(start..<scalars.count) }
        guard !words.isEmpty else {
            throw ConsciousnessError(.invalid, "text: expected some text, found an empty or blank string")
        }
        self.text = text
        self.scalars = scalars
        self.words = words
        isASCII = ascii
    }

    /// Whether `scalar` is a control character other than tab, line feed and carriage return.
    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false
        case 0x00...0x1F, 0x7F...0x9F: true
        default: false
        }
    }
}

extension Unicode.Scalar {
    /// White space (Unicode's property; ASCII answered without a table lookup).
    var isSpace: Bool { value < 0x80 ? value == 0x20 || (0x09...0x0D).contains(value) : properties.isWhitespace }

    /// A letter (Unicode's Alphabetic property; ASCII answered without a table lookup).
    var isLetter: Bool {
        value < 0x80 ? (0x61...0x7A).contains(value | 0x20) : properties.isAlphabetic
    }

    /// A letter or a digit (Alphabetic or numeric; ASCII answered without a table lookup).
    var isLetterOrDigit: Bool {
        value < 0x80
            ? (0x61...0x7A).contains(value | 0x20) || (0x30...0x39).contains(value)
            : properties.isAlphabetic || properties.numericType != nil
    }

    /// The scalar in lower case when that is one scalar, else itself (ASCII by arithmetic).
    var lowercased: Unicode.Scalar {
        if value < 0x80 { return (0x41...0x5A).contains(value) ? Unicode.Scalar(UInt8(value | 0x20)) : self }
        let mapping = properties.lowercaseMapping.unicodeScalars
        return mapping.count == 1 ? mapping[mapping.startIndex] : self
    }
}
