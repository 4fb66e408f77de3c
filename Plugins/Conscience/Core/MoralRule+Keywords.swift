extension MoralRule {
    /// The keywords as given, trimmed and lower-cased, each checked to be one content word.
    /// - Throws: ``ConscienceError`` `.invalid` for too many, empty, long, multi-word, stopword
    ///   or negator keywords, and for two keywords with the same stem.
    static func normalised(_ keywords: [String]) throws(ConscienceError) -> [String] {
        guard keywords.count <= maxKeywords else {
            throw ConscienceError(.invalid, "keywords: expected at most \(maxKeywords), found \(keywords.count)")
        }
        var result: [String] = []
        var stems: [String: String] = [:]
        for raw in keywords {
            let keyword = raw.trimmedWhitespace.lowercased()
            // Counted in code points, as the schemas' `maxLength` counts.
            guard !keyword.isEmpty, keyword.unicodeScalars.count <= maxKeywordLength else {
                throw ConscienceError(.invalid, "keywords: each keyword needs 1 to \(maxKeywordLength) characters")
            }
            let tokens = Tokenizer.tokens(keyword)
            guard tokens.count == 1, case .word(let word, let stem) = tokens[0] else {
                throw ConscienceError(
                    .invalid,
                    "keywords: '\(String(keyword.prefix(80)))' is not a single content word (stopwords such as 'the' and negators such as 'not' cannot be keywords)"
                )
            }
            if let other = stems[stem] {
                throw ConscienceError(.invalid, "keywords: '\(other)' and '\(word)' have the same stem '\(stem)'; keep one")
            }
            stems[stem] = word
            result.append(word)
        }
        return result
    }

    /// The content words of `description`, one per stem, in order of appearance.
    /// - Throws: ``ConscienceError`` `.invalid` when it has none, more than ``maxKeywords``, or
    ///   one longer than ``maxKeywordLength`` (a keyword the rule's schema would not allow).
    static func derivedKeywords(_ description: String) throws(ConscienceError) -> [String] {
        var seen: Set<String> = []
        var words: [String] = []
        for case .word(let word, let stem) in Tokenizer.tokens(description) where seen.insert(stem).inserted {
            words.append(word)
        }
        guard !words.isEmpty else {
            throw ConscienceError(.invalid, "keywords: none given and the description has no content words to use")
        }
        guard words.count <= maxKeywords else {
            throw ConscienceError(
                .invalid, "keywords: none given and the description has \(words.count) content words, more than \(maxKeywords)")
        }
        if let long = words.first(where: { $0.unicodeScalars.count > maxKeywordLength }) {
            throw ConscienceError(
                .invalid,
                "keywords: none given and the description's word '\(long.prefix(32))…' is longer than \(maxKeywordLength) characters; give the keywords"
            )
        }
        return words
    }
}
