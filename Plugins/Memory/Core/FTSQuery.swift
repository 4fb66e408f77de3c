/// Builds the FTS5 `MATCH` expression for a user's query, never passing user text through raw
/// unless the caller asked for operator syntax.
///
/// Plain mode (the default): the text is split into words (letters and digits; everything else
/// separates), each word becomes a quoted FTS5 string (`"word"`), and the words are joined with
/// `AND` (every word must occur) or `OR` (any word). Nothing the user typed can act as an
/// operator, a column filter or a prefix.
///
/// Syntax mode (`syntax: true`): the text is FTS5 query syntax (`AND`, `OR`, `NOT`, `"phrases"`,
/// `prefix*`, `NEAR(...)`, parentheses) and passes through after checks that catch the common
/// mistakes with a clear message: unbalanced quotes or parentheses, column filters, a dangling
/// operator. SQLite still has the last word; the store reports its refusal as a bad query too.
public struct FTSQuery: Sendable, Equatable {
    /// How plain words combine.
    public enum Mode: String, Sendable {
        /// Every word must occur.
        case all
        /// Any word may occur.
        case any
    }

    /// The `MATCH` expression.
    public let expression: String
    /// The plain words (empty in syntax mode), lower-cased.
    public let words: [String]
    /// How the plain words combine.
    public let mode: Mode

    /// Most words in a plain query, and most terms (words, phrases, prefixes) in a query in
    /// operator syntax.
    public static let maxWords = 64
    /// Most prefix terms (`word*`) in a query in operator syntax: each reads every indexed word
    /// it starts, and 1 000 of them (`a* OR b* OR ...`) kept a core busy for minutes.
    public static let maxPrefixes = 8
    /// Fewest characters before a prefix's `*`.
    public static let minPrefixLength = 2
    /// Longest query in operator syntax, in UTF-8 bytes.
    public static let maxSyntaxBytes = 2048

    /// Builds the expression.
    /// - Parameters:
    ///   - text: what the user typed.
    ///   - syntax: true to accept FTS5 operator syntax.
    ///   - mode: how plain words combine.
    /// - Throws: ``MemoryQueryError`` for an empty query, too many words, or bad syntax.
    public init(_ text: String, syntax: Bool = false, mode: Mode = .all) throws(MemoryQueryError) {
        if syntax {
            try Self.check(syntax: text)
            expression = text
            words = []
            self.mode = mode
            return
        }
        let words = Self.words(text)
        guard !words.isEmpty else { throw MemoryQueryError("the query has no words to search for") }
        guard words.count <= Self.maxWords else {
            throw MemoryQueryError("the query has \(words.count) words; at most \(Self.maxWords) are allowed")
        }
        self.words = words
        self.mode = mode
        // Each word an FTS5 string, its quotes doubled: a word is split by grapheme, and a
        // cluster that starts with a letter may go on with any character (a Prepend letter
        // joins the next one: U+0D4E followed by `"` is one letter to Swift), which closed the
        // string early and let `*`, `:` or a bare word through as syntax.
        expression = words.map { "\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\"" }.joined(
            separator: mode == .all ? " AND " : " OR ")
    }

    /// An ASCII byte of a word, lower-cased (`[A-Za-z0-9]`, FTS5's split of ASCII text), or nil
    /// for a byte between words: the one rule of ``words(_:)``, ``TermCounts`` and
    /// ``NearDuplicate/Profile/canMatch(asciiText:)``.
    @inline(__always) public static func asciiWordByte(_ byte: UInt8) -> UInt8? {
        if byte >= 0x30 && byte <= 0x39 { return byte }
        let lower = byte | 0x20
        return lower >= 0x61 && lower <= 0x7A ? lower : nil
    }

    /// The words of `text`: runs of letters and digits, lower-cased.
    /// - Parameter text: any text.
    public static func words(_ text: String) -> [String] {
        var result: [String] = []
        // ASCII (most texts): letters and digits are [A-Za-z0-9], split on the bytes.
        var bytes = Array(text.utf8)
        if bytes.allSatisfy({ $0 < 0x80 }) {
            var start = -1
            for i in 0...bytes.count {
                if i < bytes.count, let byte = asciiWordByte(bytes[i]) {
                    bytes[i] = byte
                    if start < 0 { start = i }
                } else if start >= 0 {
                    result.append(String(decoding: bytes[start..<i], as: UTF8.self))
                    start = -1
                }
            }
            return result
        }
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                result.append(current)
                current = ""
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    private static let operators: Set<String> = ["AND", "OR", "NOT"]

    /// Checks FTS5 syntax for the mistakes SQLite reports least clearly.
    private static func check(syntax text: String) throws(MemoryQueryError) {
        guard !text.allSatisfy(\.isWhitespace) else { throw MemoryQueryError("the query is empty") }
        guard text.utf8.count <= maxSyntaxBytes else {
            throw MemoryQueryError("the query is \(text.utf8.count) bytes long; at most \(maxSyntaxBytes) are allowed")
        }
        var depth = 0
        var inQuote = false
        var tokens: [String] = []
        var current = ""
        func flush() {
            if !current.isEmpty { tokens.append(current) }
            current = ""
        }
        for character in text {
            if inQuote {
                if character == "\"" { inQuote = false }
                continue
            }
            switch character {
            case "\"":
                flush()
                inQuote = true
                tokens.append("\"…\"")
            case "(":
                flush()
                depth += 1
                tokens.append("(")
            case ")":
                flush()
                depth -= 1
                guard depth >= 0 else { throw MemoryQueryError("the query closes a parenthesis it never opened") }
                tokens.append(")")
            case ":", "^", "{", "}":
                throw MemoryQueryError(
                    "the query uses '\(character)' (column filters are not allowed); quote it to search for it")
            case _ where character.isWhitespace:
                flush()
            default:
                current.append(character)
            }
        }
        flush()
        guard !inQuote else { throw MemoryQueryError("the query has an unterminated quoted phrase") }
        guard depth == 0 else { throw MemoryQueryError("the query has \(depth) unclosed parenthesis(es)") }
        if let first = tokens.first, operators.contains(first) {
            throw MemoryQueryError("the query starts with the operator \(first)")
        }
        if let last = tokens.last, operators.contains(last) {
            throw MemoryQueryError("the query ends with the operator \(last)")
        }
        for (a, b) in zip(tokens, tokens.dropFirst()) where operators.contains(a) && operators.contains(b) {
            throw MemoryQueryError("the query has two operators in a row: \(a) \(b)")
        }
        // FTS5 reads `*` as a token of its own: `a*b*c*` is three prefix terms, not one.
        let barewords = tokens.filter { !operators.contains($0) && $0 != "(" && $0 != ")" && $0 != "NEAR" }
        var terms = 0
        var prefixes = 0
        for token in barewords {
            let parts = token.split(separator: "*", omittingEmptySubsequences: false)
            terms += max(1, parts.filter { !$0.isEmpty }.count)
            // Every part but the last stands before a `*`.
            for part in parts.dropLast() {
                prefixes += 1
                guard part.count >= minPrefixLength else {
                    throw MemoryQueryError(
                        "the prefix '\(part.prefix(32))*' is too short: at least \(minPrefixLength) characters before the *")
                }
            }
        }
        guard terms <= maxWords else { throw MemoryQueryError("the query has \(terms) terms; at most \(maxWords) are allowed") }
        guard prefixes <= maxPrefixes else {
            throw MemoryQueryError("the query has \(prefixes) prefix terms (word*); at most \(maxPrefixes) are allowed")
        }
    }
}

/// A query the memory cannot run: the message says why, for a 400.
public struct MemoryQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// One sentence for the caller.
    public let description: String

    /// - Parameter description: one sentence for the caller.
    public init(_ description: String) { self.description = description }
}
