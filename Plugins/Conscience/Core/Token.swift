/// One unit of normalised text, as the matcher sees it.
public enum Token: Sendable, Equatable {
    /// A content word (not a stopword, not a negator): the lower-case word and its stem.
    case word(String, stem: String)
    /// A negating word ("not", "never", "don't", ...).
    case negator(String)
    /// The end of a clause: punctuation (`.`, `,`, `;`, `:`, `!`, `?`, brackets, dashes between
    /// words, line breaks) or a contrasting conjunction ("but").
    case clauseBreak
}

/// Splits text into ``Token``s: lower case, letters and digits form words, apostrophes inside a
/// word are dropped ("don't" → "dont"), everything else separates words, stopwords are dropped.
public enum Tokenizer {
    /// The tokens of `text`, in order.
    public static func tokens(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var word = ""
        var length = 0  // word.count, kept as it grows
        // Where in `word` the last apostrophe was: "n't" puts it before the last letter.
        var apostropheAt: Int?
        func flush() {
            guard !word.isEmpty else { return }
            defer {
                word = ""
                length = 0
            }
            let contracted = apostropheAt == length - 1 && length > 3 && word.hasSuffix("nt")
            if Lexicon.negators.contains(word) || contracted {
                tokens.append(.negator(word))
            } else if Lexicon.clauseBreakers.contains(word) {
                if tokens.last != .clauseBreak, !tokens.isEmpty { tokens.append(.clauseBreak) }
            } else if !Lexicon.stopwords.contains(word) {
                tokens.append(.word(word, stem: Stemmer.stem(word)))
            }
            apostropheAt = nil
        }
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                word.append(character)
                length += 1
            } else if character == "'" || character == "\u{2019}" {
                if !word.isEmpty { apostropheAt = length }
            } else {
                flush()
                apostropheAt = nil
                if breaks.contains(character) || character.isNewline, tokens.last != .clauseBreak, !tokens.isEmpty {
                    tokens.append(.clauseBreak)
                }
            }
        }
        flush()
        return tokens
    }

    /// Punctuation that ends a clause.
    static let breaks: Set<Character> = [".", ",", ";", ":", "!", "?", "(", ")", "[", "]", "\u{2014}", "\u{2013}"]
}
