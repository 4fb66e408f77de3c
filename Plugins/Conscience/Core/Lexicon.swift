/// The fixed word lists of the matcher: stopwords (never matched) and negators (which flip the
/// keyword matches that follow them within the negation window).
public enum Lexicon {
    /// Common English function words, dropped before matching. Lower case, apostrophes removed.
    public static let stopwords: Set<String> = [
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "anyone", "anything", "are", "as", "at", "be",
        "been", "before", "being", "both", "by", "can", "could", "did", "do", "does", "doing", "each", "for", "from",
        "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "im", "in", "into",
        "is", "it", "its", "ive", "just", "may", "me", "might", "mine", "more", "most", "must", "my", "of", "on", "or",
        "other", "our", "ours", "shall", "she", "should", "so", "some", "someone", "something", "such", "than", "that",
        "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "to", "too", "up", "us",
        "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
        "would", "you", "your", "yours",
    ]

    /// Words that negate what follows: "not", "never", "no", and contractions (written with or
    /// without the apostrophe; any other word ending in "n't" counts too).
    public static let negators: Set<String> = [
        "not", "no", "never", "nor", "neither", "nobody", "nothing", "none", "without", "cannot", "cant", "dont",
        "doesnt", "didnt", "wont", "wouldnt", "shouldnt", "couldnt", "isnt", "arent", "wasnt", "werent", "hasnt",
        "havent", "hadnt", "mustnt", "neednt", "shant", "aint",
    ]

    /// Words that end a clause for negation, like punctuation does: "I will not lie but I will
    /// harm" does not negate "harm".
    public static let clauseBreakers: Set<String> = ["but", "although", "though", "however", "yet", "except"]
}
