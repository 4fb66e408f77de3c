/// Near-duplicate detection: two texts are near-duplicates when the Jaccard similarity of their
/// word shingles reaches a threshold.
///
/// Texts are normalised to their words (``FTSQuery/words(_:)``: lower case, punctuation dropped);
/// shingles are runs of ``shingleSize`` consecutive words (a text shorter than that is one
/// shingle). Jaccard = |A ∩ B| / |A ∪ B|: 1 for the same words in the same order, 0 for nothing in
/// common. With 3-word shingles and the default threshold 0.8, a changed word in a 20-word text
/// still matches, while a different sentence about the same subject does not.
public struct NearDuplicate: Sendable, Equatable {
    /// Words per shingle.
    public var shingleSize: Int
    /// The similarity at or above which two texts are near-duplicates (0 to 1).
    public var threshold: Double

    /// - Parameters:
    ///   - threshold: similarity at or above which texts are near-duplicates (default 0.8).
    ///   - shingleSize: words per shingle (default 3).
    public init(threshold: Double = 0.8, shingleSize: Int = 3) {
        self.threshold = threshold
        self.shingleSize = max(1, shingleSize)
    }

    /// The shingles of `text`.
    /// - Parameter text: any text.
    public func shingles(_ text: String) -> Set<String> {
        let words = FTSQuery.words(text)
        guard words.count > shingleSize else { return words.isEmpty ? [] : [words.joined(separator: " ")] }
        return Set((0...(words.count - shingleSize)).map { words[$0..<($0 + shingleSize)].joined(separator: " ") })
    }

    /// A text's shingles with the words of each, to tell cheaply that a text lacking some of
    /// those words cannot be a near-duplicate of it (``canMatch(lacking:)``).
    public struct Profile: Sendable {
        /// The text's shingles.
        public let shingles: Set<String>
        private let words: [[Substring]]
        private let threshold: Double

        init(shingles: Set<String>, threshold: Double) {
            self.shingles = shingles
            self.threshold = threshold
            words = shingles.map { $0.split(separator: " ") }
        }

        /// False when a text whose words do not include any word `missing` says it lacks
        /// cannot reach the threshold: every shingle holding such a word is outside the
        /// intersection, so the similarity is at most the share of the other shingles.
        public func canMatch(lacking missing: (Substring) -> Bool) -> Bool {
            guard !shingles.isEmpty else { return true }
            let excluded = words.reduce(0) { $0 + ($1.contains(where: missing) ? 1 : 0) }
            return Double(shingles.count - excluded) / Double(shingles.count) >= threshold
        }
    }

    /// The profile of `text`.
    /// - Parameter text: any text.
    public func profile(_ text: String) -> Profile { Profile(shingles: shingles(text), threshold: threshold) }

    /// Jaccard similarity of two shingle sets (1 when both are empty).
    /// - Parameters:
    ///   - a: one set.
    ///   - b: the other.
    public static func jaccard(_ a: Set<String>, _ b: Set<String>) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        let (small, large) = a.count <= b.count ? (a, b) : (b, a)
        var shared = 0
        for shingle in small where large.contains(shingle) { shared += 1 }
        return Double(shared) / Double(a.count + b.count - shared)
    }

    /// The similarity of two texts.
    /// - Parameters:
    ///   - a: one text.
    ///   - b: the other.
    public func similarity(_ a: String, _ b: String) -> Double { Self.jaccard(shingles(a), shingles(b)) }

    /// Whether two texts are near-duplicates.
    /// - Parameters:
    ///   - a: one text.
    ///   - b: the other.
    public func matches(_ a: String, _ b: String) -> Bool { similarity(a, b) >= threshold }

    /// The words a near-duplicate check looks its candidates up by: up to `count` of `known` (a
    /// text's words with the items holding each, words in no item left out), fewest items
    /// first, taken while their items add up to at most `budget`; when fewer than two fit, the
    /// `count` rarest whatever they cost.
    ///
    /// A near-duplicate shares most words, so it holds some of the rarest, and at least one of
    /// any two of them unless both were changed (which a text survives at similarity 0.8 only
    /// when both sit at its ends). A text with only common words is found only by matching more
    /// of them: then the `count` rarest are read.
    /// - Parameters:
    ///   - known: words with their item counts (each above 0).
    ///   - count: most words taken.
    ///   - budget: most items the taken words may hold together.
    public static func lookupWords(_ known: [(word: String, items: Int)], count: Int, budget: Int = .max) -> [String] {
        let rarest = known.sorted { ($0.items, $0.word) < ($1.items, $1.word) }.prefix(count)
        var chosen: [String] = []
        var items = 0
        for (word, n) in rarest {
            if items + n > budget { break }
            chosen.append(word)
            items += n
        }
        return chosen.count >= min(2, rarest.count) ? chosen : rarest.map(\.word)
    }
}
