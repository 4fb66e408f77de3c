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
    /// The predicted next focus, the context it follows and how often it followed it.
    public private(set) var predicted: (focus: String, context: [String], count: Int)?
    /// Predictions made and how many came true.
    public private(set) var predictions = 0
    /// Predictions that came true.
    public private(set) var hits = 0
    /// Foci by number (each focus is numbered once, so contexts are small values).
    private var ids: [String: Int32] = [:]
    private var names: [String] = []
    private var recent: [Int32] = []
    private var followers: [Context: [Int32: Follower]] = [:]
    private var order = 0

    /// Up to ``longestContext`` focus numbers.
    struct Context: Hashable, Sendable {
        var ids: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
        var count: Int8 = 0

        init(_ slice: ArraySlice<Int32>) {
            for id in slice { append(id) }
        }

        mutating func append(_ id: Int32) {
            switch count {
            case 0: ids.0 = id
            case 1: ids.1 = id
            case 2: ids.2 = id
            default: ids.3 = id
            }
            count += 1
        }

        var list: [Int32] { Array([ids.0, ids.1, ids.2, ids.3].prefix(Int(count))) }

        static func == (a: Context, b: Context) -> Bool {
            a.count == b.count && a.ids.0 == b.ids.0 && a.ids.1 == b.ids.1 && a.ids.2 == b.ids.2 && a.ids.3 == b.ids.3
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(count)
            hasher.combine(ids.0)
            hasher.combine(ids.1)
            hasher.combine(ids.2)
            hasher.combine(ids.3)
        }
    }

    /// How often a focus followed a context, and when it first did (ties go to the earliest).
    struct Follower: Sendable {
        var count: Int
        let order: Int
    }

    /// Attention with no focus and no patterns yet.
    public init() {}

    /// Attention's state in a snapshot: the foci by number, the recent ones, and each context's
    /// followers as `[focus, count, order]`.
    struct Saved: Codable {
        var focus: String?
        var shifts: Int
        var predictions: Int
        var hits: Int
        var names: [String]
        var recent: [Int32]
        var contexts: [[Int32]]
        var followers: [[[Int]]]
        var order: Int
    }

    var saved: Saved {
        let entries = Array(followers)
        return Saved(
            focus: focus, shifts: shifts, predictions: predictions, hits: hits, names: names, recent: recent,
            contexts: entries.map { $0.key.list },
            followers: entries.map { $0.value.map { [Int($0.key), $0.value.count, $0.value.order] } }, order: order)
    }

    /// A restored state; entries naming unknown foci are dropped.
    init(saved: Saved) {
        focus = saved.focus
        // Counters from the file, bounded so counting on cannot overflow (Int.max stopped the
        // process at the next text).
        shifts = Self.restoredCount(saved.shifts)
        predictions = Self.restoredCount(saved.predictions)
        hits = min(Self.restoredCount(saved.hits), predictions)
        names = saved.names
        for (i, name) in names.enumerated() { ids[name] = Int32(i) }
        let known = 0..<Int32(names.count)
        recent = saved.recent.filter { known.contains($0) }.suffix(Self.shortTerm)
        for (context, next) in zip(saved.contexts, saved.followers)
        where (1...Self.longestContext).contains(context.count) && context.allSatisfy({ known.contains($0) }) {
            var table: [Int32: Follower] = [:]
            for entry in next where entry.count == 3 && known.contains(Int32(clamping: entry[0])) && entry[1] > 0 {
                table[Int32(entry[0])] = Follower(count: Self.restoredCount(entry[1]), order: Self.restoredCount(entry[2]))
            }
            if !table.isEmpty { followers[Context(context[...])] = table }
        }
        order = Self.restoredCount(saved.order)
        predicted = predict()
    }

    /// A count read from a snapshot, within 0...2^53 (beyond it a JSON number is not exact anyway).
    static func restoredCount(_ n: Int) -> Int { min(max(n, 0), 1 << 53) }

    /// Letters a focus keeps (the first ones of a longer word).
    static let maxFocusScalars = 64

    /// The focus of a text (nil when no word is left): the first longest word, letters only,
    /// lower-cased, that is not a stopword; its first ``maxFocusScalars`` letters.
    static func focus(of input: TextInput) -> String? {
        var best: String?
        var bestLength = 0
        let scalars = input.scalars
        for word in input.words {
            var letters = 0
            for i in word where scalars[i].isLetter { letters += 1 }
            guard letters > bestLength else { continue }
            var kept = String.UnicodeScalarView()
            var keptCount = 0
            for i in word where scalars[i].isLetter {
                // At most ``maxFocusScalars``: a focus is remembered in the patterns (up to
                // 40 000 names) and every snapshot, and texts each one new word of max_text_length
                // letters held gigabytes.
                guard keptCount < maxFocusScalars else { break }
                kept.append(input.isASCII ? scalars[i].lowercased : scalars[i])
                keptCount += 1
            }
            let candidate = input.isASCII ? String(kept) : String(kept).lowercased()
            guard !stopwords.contains(candidate) else { continue }
            best = candidate
            bestLength = letters
        }
        return best
    }

    /// What one text did to attention.
    public struct Step: Sendable, Equatable, Encodable {
        /// This text's focus (`none` when no word is left).
        public let focus: String
        /// Whether the focus differs from the previous text's.
        public let shifted: Bool
        /// The focus predicted before this text, and whether it came true.
        public let expected: String?
        /// Whether the focus predicted for this text came (nil with no prediction).
        public let expectationMet: Bool?
        /// The focus predicted to follow.
        public let predictedNext: String?
        /// The recent foci the prediction follows.
        public let predictionContext: [String]

        enum CodingKeys: String, CodingKey {
            case focus, shifted, expected
            case expectationMet = "expectation_met"
            case predictedNext = "predicted_next"
            case predictionContext = "prediction_context"
        }
    }

    /// Attends to a text.
    mutating func attend(_ input: TextInput) -> Step {
        let now = Self.focus(of: input) ?? "none"
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

    /// The number of `focus`, numbering it when new.
    private mutating func id(_ focus: String) -> Int32 {
        if let id = ids[focus] { return id }
        let id = Int32(names.count)
        ids[focus] = id
        names.append(focus)
        return id
    }

    /// Counts the windows ending with `focus`, then appends it to the recent foci.
    private mutating func learn(_ focus: String) {
        let now = id(focus)
        for length in 1...Self.longestContext where recent.count >= length {
            let context = Context(recent.suffix(length))
            order += 1
            followers[context, default: [:]][now, default: Follower(count: 0, order: order)].count += 1
        }
        recent.append(now)
        if recent.count > Self.shortTerm { recent.removeFirst(recent.count - Self.shortTerm) }
        if followers.count > Self.contextCapacity || names.count > Self.contextCapacity * 2 { age() }
    }

    /// The follower of the longest recent context seen before.
    private func predict() -> (focus: String, context: [String], count: Int)? {
        for length in stride(from: min(Self.longestContext, recent.count), through: 1, by: -1) {
            let context = Context(recent.suffix(length))
            guard let next = followers[context], !next.isEmpty else { continue }
            let best = next.min { ($1.value.count, $0.value.order) < ($0.value.count, $1.value.order) }
            if let best { return (names[Int(best.key)], context.list.map { names[Int($0)] }, best.value.count) }
        }
        return nil
    }

    /// Halves every count, drops the contexts left empty, and numbers again only the foci still
    /// in use (the recent ones, the contexts and their followers): every focus ever seen kept its
    /// number and name, so a stream of new words (the longest word of each text) grew them for
    /// good, and with them every snapshot.
    private mutating func age() {
        var kept: [Context: [Int32: Follower]] = [:]
        for (context, next) in followers {
            let halved = next.compactMapValues { $0.count / 2 > 0 ? Follower(count: $0.count / 2, order: $0.order) : nil }
            if !halved.isEmpty { kept[context] = halved }
        }
        var renumbered: [Int32: Int32] = [:]
        var newNames: [String] = []
        func number(_ id: Int32) -> Int32 {
            if let n = renumbered[id] { return n }
            let n = Int32(newNames.count)
            renumbered[id] = n
            newNames.append(names[Int(id)])
            return n
        }
        recent = recent.map(number)
        var remapped: [Context: [Int32: Follower]] = [:]
        for (context, next) in kept {
            remapped[Context(context.list.map(number)[...])] = Dictionary(
                uniqueKeysWithValues: next.map { (number($0.key), $0.value) })
        }
        followers = remapped
        names = newNames
        ids = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int32($0)) })
    }

    /// Foci numbered now (the bound ``age()`` keeps).
    var numbered: Int { names.count }
}
