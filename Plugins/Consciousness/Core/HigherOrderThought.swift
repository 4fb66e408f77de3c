/// Higher-order thought: how much a text talks about thinking (Jamey 3.0's §4.5, fixed).
///
/// ```
/// words = the text's whitespace-separated words, lower-cased, every character that is not a
///         letter or digit dropped ("plan." matches plan), empty ones skipped
/// hits  = words in {i, me, my, think, feel, aware, should, decide,
///                   plan, consider, reflect, remember, analyze}     ("decide" once, not twice)
/// score = min(1.5 · hits / words, 1)
/// level = level + rate · (score − level)     a recency-weighted average (rate 0.2), not a lifetime mean
/// ```
public struct HigherOrderThought: Sendable {
    /// Jamey 3.0's introspective and cognitive words, as one set.
    public static let words: Set<String> = [
        "i", "me", "my", "think", "feel", "aware", "should", "decide", "plan", "consider", "reflect", "remember", "analyze",
    ]

    /// The recency-weighted level (nil before the first text).
    public private(set) var level: Double?
    /// The weight of the newest score in ``level``.
    public let rate: Double

    /// - Parameter rate: the weight of the newest score in the level.
    public init(rate: Double = 0.2) { self.rate = rate }

    /// A restored state.
    init(rate: Double, level: Double?) {
        self.rate = rate
        // Restored data: a level lies in [0, 1].
        self.level = level.flatMap { $0.isFinite ? min(max($0, 0), 1) : nil }
    }

    /// One text's score and its inputs.
    public struct Score: Sendable, Equatable, Encodable {
        /// Words in the list.
        public let hits: Int
        /// Words with at least one letter or digit.
        public let words: Int
        /// `min(1.5 · hits / words, 1)`.
        public let score: Double
    }

    /// The listed words packed into integers (each is at most 8 ASCII letters).
    static let packed: Set<UInt64> = Set(words.compactMap { pack($0.unicodeScalars) })

    /// Up to 8 ASCII scalars as one integer (exact: distinct words give distinct numbers); nil otherwise.
    static func pack(_ scalars: some Sequence<Unicode.Scalar>) -> UInt64? {
        var value: UInt64 = 0
        var count = 0
        for scalar in scalars {
            guard scalar.value < 0x80, count < 8 else { return nil }
            value = value << 8 | UInt64(scalar.value)
            count += 1
        }
        return value
    }

    /// The score of a text's words.
    static func score(_ input: TextInput) -> Score {
        var hits = 0
        var count = 0
        let scalars = input.scalars
        for word in input.words {
            var kept: [Unicode.Scalar] = []
            kept.reserveCapacity(word.count)
            for i in word where scalars[i].isLetterOrDigit { kept.append(scalars[i].lowercased) }
            guard !kept.isEmpty else { continue }
            count += 1
            if let key = pack(kept), packed.contains(key) { hits += 1 }
        }
        return Score(hits: hits, words: count, score: min(1.5 * Double(hits) / Double(max(count, 1)), 1))
    }

    /// Folds a score into the level.
    mutating func add(_ score: Double) {
        level = level.map { $0 + rate * (score - $0) } ?? score
    }
}
