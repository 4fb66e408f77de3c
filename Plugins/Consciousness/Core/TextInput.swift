/// A text accepted by ``Consciousness/process(_:at:emotion:)``: checked, split once into the
/// pieces every stage reads. Lengths count Unicode scalars (Jamey 3.0's Rust `chars()`), never
/// bytes: "é" is one, not two.
public struct TextInput: Sendable {
    /// Jamey 3.0's limit, in characters.
    public static let maxLength = 10_000

    /// The text.
    public let text: String
    /// Its Unicode scalars.
    let scalars: [Unicode.Scalar]
    /// Its whitespace-separated words, as written.
    let words: [Substring]

    /// Checks and splits `text`.
    /// - Throws: ``ConsciousnessError`` `.invalid` naming `text` for an empty or blank text, one
    ///   longer than ``maxLength`` characters, or one with a control character other than tab,
    ///   line feed and carriage return.
    public init(_ text: String, maxLength: Int = maxLength) throws(ConsciousnessError) {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count <= maxLength else {
            throw ConsciousnessError(.invalid, "text: expected at most \(maxLength) characters, found \(scalars.count)")
        }
        if let bad = scalars.first(where: Self.isForbidden) {
            let hex = String(bad.value, radix: 16, uppercase: true)
            throw ConsciousnessError(
                .invalid,
                "text: control character U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex) is not allowed")
        }
        guard scalars.contains(where: { !$0.properties.isWhitespace }) else {
            throw ConsciousnessError(.invalid, "text: expected some text, found an empty or blank string")
        }
        self.text = text
        self.scalars = scalars
        words = text.split(whereSeparator: { $0.isWhitespace })
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
