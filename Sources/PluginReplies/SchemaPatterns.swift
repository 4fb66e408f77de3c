/// JSON Schema `pattern`s for the string checks the plugins make, so a route's schema says what
/// its handler refuses. Each is ECMA-262 text as it appears inside a JSON string (backslashes
/// doubled), anchored at both ends, and names code points: "blank" means every code point has
/// Unicode's White_Space property (U+0009-U+000D, U+0020, U+0085, U+00A0, U+1680,
/// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), and a control character is one of
/// general category Cc (U+0000-U+001F, U+007F-U+009F). Lengths in the schemas (`maxLength`) count
/// code points too, so the checks count `unicodeScalars`, not `Character`s.
public enum SchemaPatterns {
    /// No U+0000 (SQLite's C API would end the text there).
    public static let noNUL = #"^[^\\u0000]*$"#

    /// Not blank, and no U+0000.
    public static let notBlank =
        #"^[^\\u0000]*[^\\u0000\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000]*$"#

    /// A name or label: not blank, and no control character.
    public static let label =
        #"^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u001F\\u007F-\\u009F]*$"#

    /// A text: not blank, and no control character other than tab, line feed and carriage return.
    public static let text =
        #"^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*[^\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000][^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"#

    /// Whether every code point of `text` is White_Space (true for an empty text): the "blank"
    /// the patterns above refuse.
    public static func isBlank(_ text: some StringProtocol) -> Bool {
        text.unicodeScalars.allSatisfy(\.properties.isWhitespace)
    }
}
