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

    /// Jaccard similarity of two shingle sets (1 when both are empty).
    /// - Parameters:
    ///   - a: one set.
    ///   - b: the other.
    public static func jaccard(_ a: Set<String>, _ b: Set<String>) -> Double {
        if a.isEmpty && b.isEmpty { return 1 }
        let union = a.union(b).count
        return union == 0 ? 0 : Double(a.intersection(b).count) / Double(union)
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
}
