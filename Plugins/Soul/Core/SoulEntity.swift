import Foundation

/// Someone or something the soul knows: trust, how fast it decays, the emotions felt about it
/// and the memory items linked to it. A value type; the plugin stores it and mutates copies.
///
/// The formulas (Jamey 3.0's, with its defects fixed):
/// - ``empathy`` = `Σ weight(e)·count(e) / Σ count(e)`, 0.5 with no emotions; in [0.1, 1].
/// - ``recordEmotion(_:at:)`` adds one to the emotion's count, then ``boostTrust()``.
/// - ``boostTrust()``: with empathy e, `e > 0.7` adds `(e − 0.7)·0.5` (at most +0.15);
///   `e < 0.3` subtracts `(0.3 − e)·0.3` (reachable now: Sadness 0.2, Anger 0.1); the decay rate
///   becomes 0.005, 0.02 or 0.01 per day by the same thresholds.
/// - ``decay(at:)``: `trust −= rate · days`, days prorated to the second since the later of the
///   last interaction and the last decay, so applying it twice in a row changes nothing the
///   second time (Jamey 3.0 re-applied whole days since the last interaction on every run).
public struct SoulEntity: Sendable, Equatable {
    /// Trust and decay rate of a new entity (Jamey 3.0's `SOUL_DEFAULT_TRUST`, `SOUL_BASE_DECAY_RATE`).
    public static let defaultTrust = 0.5
    /// Decay rate of a new entity, per day.
    public static let defaultDecayRate = 0.01
    /// Seconds in a day, the unit of the decay rate.
    public static let secondsPerDay = 86_400.0

    /// The unique name (1 to 128 characters, no control characters).
    public let name: String
    /// Trust in [0, 1].
    public private(set) var trust: Double
    /// Trust lost per day without interaction, in [0, 1].
    public private(set) var decayRate: Double
    /// How often each emotion was recorded (every count ≥ 1).
    public private(set) var emotions: [Emotion: Int]
    /// Linked memory item ids, each once, in the order linked.
    public private(set) var linkedMemories: [String]
    /// When the entity was created.
    public let createdAt: Date
    /// The last emotion recorded or trust set.
    public private(set) var lastInteraction: Date
    /// The last time ``decay(at:)`` ran.
    public private(set) var lastDecayedAt: Date

    /// A new entity with default trust and decay rate.
    /// - Throws: ``SoulError`` `.invalid` for a bad name.
    public init(name: String, at now: Date) throws(SoulError) {
        try self.init(
            name: name, trust: Self.defaultTrust, decayRate: Self.defaultDecayRate, emotions: [:], linkedMemories: [],
            createdAt: now, lastInteraction: now, lastDecayedAt: now)
    }

    /// An entity with every field given, validated.
    /// - Parameter stored: the entity was loaded from storage: its name passed the checks of its
    ///   day and is not checked again (names counted Characters before they counted code points,
    ///   so one stored then could fail today's check, and every list and decay with it).
    /// - Throws: ``SoulError`` `.invalid` naming the field that is out of range.
    public init(
        name: String, trust: Double, decayRate: Double, emotions: [Emotion: Int], linkedMemories: [String],
        createdAt: Date, lastInteraction: Date, lastDecayedAt: Date, stored: Bool = false
    ) throws(SoulError) {
        if !stored { try Self.check(name: name) }
        try Self.check(trust: trust)
        try Self.check(decayRate: decayRate)
        if let bad = emotions.first(where: { $0.value < 1 }) {
            throw SoulError(.invalid, "emotions: count of \(bad.key) must be at least 1, found \(bad.value)")
        }
        self.name = name
        self.trust = trust
        self.decayRate = decayRate
        self.emotions = emotions
        var seen = Set<String>()
        self.linkedMemories = linkedMemories.filter { seen.insert($0).inserted }
        self.createdAt = createdAt
        self.lastInteraction = lastInteraction
        self.lastDecayedAt = lastDecayedAt
    }

    /// `Σ weight·count / Σ count`; 0.5 with no emotions. In [0.1, 1].
    ///
    /// Summed in whole tenths and divided once, so the result is the double nearest the exact
    /// quotient whatever order the counts are in: love, pride and focus give 0.7 itself, not
    /// 0.7000000000000001 or 0.6999999999999998 by the dictionary's order, which changes from one
    /// process to the next, and the thresholds at 0.7 and 0.3 hold exactly.
    /// Counts too large for an exact sum (a file may hold any count) are summed as doubles in the
    /// tie-break order instead.
    public var empathy: Double {
        var total = 0
        var tenths = 0
        for (emotion, count) in emotions {
            let (t, o1) = total.addingReportingOverflow(count)
            let (w, o2) = emotion.tenths.multipliedReportingOverflow(by: count)
            let (s, o3) = tenths.addingReportingOverflow(w)
            guard !(o1 || o2 || o3) else {
                let ordered = emotions.sorted { $0.key < $1.key }
                let n = ordered.reduce(0.0) { $0 + Double($1.value) }
                return ordered.reduce(0.0) { $0 + Double($1.key.tenths) * Double($1.value) } / (10 * n)
            }
            (total, tenths) = (t, s)
        }
        guard total > 0 else { return 0.5 }
        return Double(tenths) / (10 * Double(total))
    }

    /// The most often recorded emotion; ties go to the higher weight (then the label). Nil with none.
    public var dominantEmotion: Emotion? {
        emotions.min { ($1.value, $0.key) < ($0.value, $1.key) }?.key
    }

    /// Jamey 3.0's words for an empathy: > 0.8 Very High, > 0.6 High, > 0.4 Moderate, > 0.2 Low, else Very Low.
    public var empathyDescription: String {
        switch empathy {
        case let e where e > 0.8: "Very High"
        case let e where e > 0.6: "High"
        case let e where e > 0.4: "Moderate"
        case let e where e > 0.2: "Low"
        default: "Very Low"
        }
    }

    /// The trust change ``boostTrust()`` would make at empathy `e`: `(e − 0.7)·0.5` above 0.7,
    /// `−(0.3 − e)·0.3` below 0.3, else 0.
    public static func boost(empathy e: Double) -> Double {
        if e > 0.7 { return (e - 0.7) * 0.5 }
        if e < 0.3 { return -(0.3 - e) * 0.3 }
        return 0
    }

    /// The decay rate for empathy `e`: 0.005 above 0.7, 0.02 below 0.3, else 0.01 per day.
    public static func decayRate(empathy e: Double) -> Double {
        e > 0.7 ? 0.005 : e < 0.3 ? 0.02 : 0.01
    }

    /// Moves trust by the empathy rule and sets the decay rate from the empathy.
    /// - Returns: the trust change applied (after clamping to [0, 1]).
    @discardableResult
    public mutating func boostTrust() -> Double {
        let e = empathy
        let before = trust
        trust = min(1, max(0, trust + Self.boost(empathy: e)))
        decayRate = Self.decayRate(empathy: e)
        return trust - before
    }

    /// Counts one more `emotion`, marks the interaction and applies ``boostTrust()``.
    /// - Returns: the trust change.
    @discardableResult
    public mutating func recordEmotion(_ emotion: Emotion, at now: Date) -> Double {
        // Saturating: a count is read from the file, and Int.max + 1 would stop the process.
        let count = emotions[emotion, default: 0]
        emotions[emotion] = count == .max ? count : count + 1
        lastInteraction = max(lastInteraction, now)
        return boostTrust()
    }

    /// Sets trust (an interaction).
    /// - Throws: ``SoulError`` `.invalid` when `value` is outside [0, 1].
    public mutating func setTrust(_ value: Double, at now: Date) throws(SoulError) {
        try Self.check(trust: value)
        trust = value
        lastInteraction = max(lastInteraction, now)
    }

    /// Sets the decay rate per day.
    /// - Throws: ``SoulError`` `.invalid` when `value` is outside [0, 1].
    /// The decay owed so far is settled at the old rate first: a new rate applied to all the
    /// days since the last decay (100 days at 0.01 set to 0.5 took trust to 0 at the next decay).
    public mutating func setDecayRate(_ value: Double, at now: Date) throws(SoulError) {
        try Self.check(decayRate: value)
        _ = decay(at: now)
        decayRate = value
    }

    /// Adds `change` to trust, clamped to [0, 1] (an interaction).
    /// - Returns: the change applied.
    @discardableResult
    public mutating func adjustTrust(by change: Double, at now: Date) -> Double {
        let before = trust
        trust = min(1, max(0, trust + change))
        lastInteraction = max(lastInteraction, now)
        return trust - before
    }

    /// Links a memory item (once: linking it again changes nothing).
    /// - Returns: whether the link is new.
    /// - Throws: ``SoulError`` `.invalid` for an empty or over-long (> 128 characters) id, or one
    ///   holding control characters (SQLite would keep it only up to a NUL).
    @discardableResult
    public mutating func link(memory id: String) throws(SoulError) -> Bool {
        guard !id.trimmingSpaces.isEmpty, id.codePoints <= 128 else {
            throw SoulError(.invalid, "memory_id: expected 1 to 128 characters, found \(id.codePoints)")
        }
        try Self.refuseControlCharacters(id, "memory_id")
        guard !linkedMemories.contains(id) else { return false }
        linkedMemories.append(id)
        return true
    }

    /// Lowers trust by `rate · days` since the later of the last interaction and the last decay
    /// (prorated to the second; never below 0), and records `now` as the last decay.
    /// - Returns: the trust change (≤ 0).
    @discardableResult
    public mutating func decay(at now: Date) -> Double {
        let since = max(lastInteraction, lastDecayedAt)
        let days = max(0, now.timeIntervalSince(since)) / Self.secondsPerDay
        let before = trust
        trust = max(0, trust - decayRate * days)
        lastDecayedAt = max(lastDecayedAt, now)
        return trust - before
    }

    /// Checks an entity name: 1 to 128 characters, not blank, no control characters.
    public static func check(name: String) throws(SoulError) {
        guard !name.trimmingSpaces.isEmpty else { throw SoulError(.invalid, "name: expected 1 to 128 characters, found none") }
        guard name.codePoints <= 128 else {
            throw SoulError(.invalid, "name: expected at most 128 characters, found \(name.codePoints)")
        }
        try refuseControlCharacters(name, "name")
    }

    private static func refuseControlCharacters(_ text: String, _ field: String) throws(SoulError) {
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw SoulError(.invalid, "\(field): control characters are not allowed")
        }
    }

    static func check(trust: Double) throws(SoulError) {
        guard trust.isFinite, (0...1).contains(trust) else {
            throw SoulError(.invalid, "trust: expected a number from 0 to 1, found \(trust)")
        }
    }

    static func check(decayRate: Double) throws(SoulError) {
        guard decayRate.isFinite, (0...1).contains(decayRate) else {
            throw SoulError(.invalid, "decay_rate: expected a number from 0 to 1 (per day), found \(decayRate)")
        }
    }
}
