import Foundation

/// Text in Unicode's canonical composition (NFC), the one form of each canonically equivalent
/// text. Swift compares strings by canonical equivalence, SQLite, FTS5 and Redis by bytes or code
/// points: text a plugin stores and looks up in this form means the same thing to both ("é" sent
/// precomposed and as "e" with a combining accent is one tag, one word, one name).
public enum ComposedText {
    /// `text` in NFC; ASCII text (the common case) is returned as it is, without the conversion.
    public static func of(_ text: String) -> String {
        text.utf8.allSatisfy { $0 < 0x80 } ? text : text.precomposedStringWithCanonicalMapping
    }
}
