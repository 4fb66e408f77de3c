/// Attention: the focus word of each text, the shifts between foci, and a prediction of the next
/// focus from the sequences seen (Jamey 3.0's temporal-context design, its §4.7, working).
///
/// - Focus: the text's words with only their letters kept, lower-cased, stopwords (a, an, the,
///   in, on, of, for, to) dropped; the **first** longest one wins (Jamey 3.0's Rust took the last);
///   `none` when no word is left.
/// - A shift is counted when the focus differs from the previous one.
/// - Temporal context: the last ``shortTerm`` foci. After each focus, every window of 2 to 5 foci
///   ending with it counts once: its first 1–4 foci are a context, its last the focus that
///   followed. The predicted next focus follows the longest recent context seen before, the most
///   frequent follower winning (ties: the one seen first).
public struct Attention: Sendable {
    /// Jamey 3.0's stopwords for the focus.
    public static let stopwords: Set<String> = ["a", "an", "the", "in", "on", "of", "for", "to"]
    /// How many recent foci form the temporal context (Jamey 3.0: 20).
    public static let shortTerm = 20
    /// The longest context used (Jamey 3.0's patterns of 2 to 5 foci).
    public static let longestContext = 4
    /// At most this many contexts are remembered; past it, every count is halved and the zeros dropped.
    public static let contextCapacity = 20_000

    /// The current focus.
    public private(set) var focus: String?
    /// Shifts counted.
    public private(set) var shifts = 0
    /// The predicted next focus and the context it follows.
    public private(set) var predicted: (focus: String, context: [String], count: Int)?
    /// Predictions made and how many came true.
    public private(set) var predictions = 0
    public private(set) var hits = 0
    private var recent: [String] = []
    private var followers: [[String]: [String: (count: Int, order: Int)]] = [:]
    private var order = 0

    public init() {}

    /// The focus of a text's words (nil when none is left).
    static func focus(of words: [Substring]) -> String? {
        var best: String?
        var bestLength = 0
        for word in words {
            var letters = String.UnicodeScalarView()
            for scalar in word.unicodeScalars where scalar.properties.isAlphabetic { letters.append(scalar) }
            guard letters.count > bestLength else { continue }
            let candidate = String(letters).lowercased()
            guard !stopwords.contains(candidate) else { continue }
            best = candidate
            bestLength = letters.count
        }
        return best
    }

    /// What one text did to attention.
    public struct Step: Sendable, Equatable, Encodable {
        public let focus: String
        public let shifted: Bool
        /// The focus predicted before this text, and whether it came true.
        public let expected: String?
        public let expectationMet: Bool?
        /// The focus predicted to follow.
        public let predictedNext: String?
        public let predictionContext: [String]

        enum CodingKeys: String, CodingKey {
            case focus, shifted, expected
            case expectationMet = "expectation_met"
            case predictedNext = "predicted_next"
            case predictionContext = "prediction_context"
        }
    }

    /// Attends to a text's words.
    mutating func attend(_ words: [Substring]) -> Step {
        let now = Self.focus(of: words) ?? "none"
        let shifted = focus != nil && focus != now
        if shifted { shifts += 1 }
        focus = now
        let expected = predicted?.focus
        if let expected {
            predictions += 1
            if expected == now { hits += 1 }
        }
        learn(now)
        predicted = predict()
        return Step(
            focus: now, shifted: shifted, expected: expected, expectationMet: expected.map { $0 == now },
            predictedNext: predicted?.focus, predictionContext: predicted?.context ?? [])
    }

    /// Counts the windows ending with `focus`, then appends it to the recent foci.
    private mutating func learn(_ focus: String) {
        for length in 1...Self.longestContext where recent.count >= length {
            let context = Array(recent.suffix(length))
            order += 1
            let old = followers[context]?[focus]
            followers[context, default: [:]][focus] = ((old?.count ?? 0) + 1, old?.order ?? order)
        }
        recent.append(focus)
        if recent.count > Self.shortTerm { recent.removeFirst(recent.count - Self.shortTerm) }
        if followers.count > Self.contextCapacity { age() }
    }

    /// The follower of the longest recent context seen before.
    private func predict() -> (focus: String, context: [String], count: Int)? {
        for length in stride(from: min(Self.longestContext, recent.count), through: 1, by: -1) {
            let context = Array(recent.suffix(length))
            guard let next = followers[context], !next.isEmpty else { continue }
            let best = next.min { ($1.value.count, $0.value.order) < ($0.value.count, $1.value.order) }
            if let best { return (best.key, context, best.value.count) }
        }
        return nil
    }

    /// Halves every count and drops the contexts left empty.
    private mutating func age() {
        var kept: [[String]: [String: (count: Int, order: Int)]] = [:]
        for (context, next) in followers {
            let halved = next.compactMapValues { $0.count / 2 > 0 ? ($0.count / 2, $0.order) : nil }
            if !halved.isEmpty { kept[context] = halved }
        }
        followers = kept
    }
}
