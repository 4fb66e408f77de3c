/// Integration: Jamey 3.0's "Φ" heuristic (its §4.4), ported exactly and named for what it is —
/// a measure of how evenly four nodes driven by five text features are active, not integrated
/// information. Its real range is about 0 to 0.15 (0.146 at most over valid activations, about
/// 0.10 over real texts), so every threshold is set on that scale: Jamey 3.0's 0.85 threshold
/// and its alerts below 0.3 and 0.5 could never be reached or ever clear.
///
/// ```
/// features  f = [min(n,100)/100, distinct/n, min(words,50)/50, ASCII capitals/n, ".,!?;:"/n]   n characters
/// nodes     a = clamp(W·f, 0, 1)   W: workspace [.25 .25 .25 .15 .10], memory [.5 .1 .4 0 0],
///                                     emotional [0 0 .2 .3 .5], predictive [.3 .5 .2 0 0]
/// validator a = 0 when Σa ∉ [0.1, 3] or two nodes differ by more than 0.5 (Jamey 3.0's)
/// value       = mean over the 6 node pairs of min(a_i, a_j) · clamp(variance(a)/0.25, 0, 1)
/// ```
public struct Integration: Sendable, Equatable, Encodable {
    /// The node weights over the features (rows: workspace, memory, emotional, predictive).
    public static let nodeWeights: [[Double]] = [
        [0.25, 0.25, 0.25, 0.15, 0.10], [0.50, 0.10, 0.40, 0.00, 0.00], [0.00, 0.00, 0.20, 0.30, 0.50],
        [0.30, 0.50, 0.20, 0.00, 0.00],
    ]
    /// The largest value the heuristic reaches with the validator (activations 0.5, 1, 0.5, 1).
    public static let maximum = 0.146

    /// Length, diversity, words, capitals and punctuation, each in [0, 1].
    public let features: [Double]
    /// The four node activations before the validator.
    public let activations: [Double]
    /// Why the validator zeroed the activations, or nil when it passed them.
    public let validator: String?
    /// Population variance of the activations the value used.
    public let variance: Double
    /// The heuristic, in [0, ~0.15].
    public let value: Double
    /// `value / maximum`, in [0, 1].
    public let normalized: Double

    /// The five features of a text (also the inputs ``Prediction`` predicts).
    static func features(of input: TextInput) -> [Double] {
        let n = Double(input.scalars.count)
        guard n > 0 else { return [0, 0, 0, 0, 0] }
        var low: UInt64 = 0
        var high: UInt64 = 0
        var others = Set<UInt32>()
        var capitals = 0
        var punctuation = 0
        for scalar in input.scalars {
            let v = scalar.value
            if v < 64 {
                low |= 1 << UInt64(v)
            } else if v < 128 {
                high |= 1 << UInt64(v - 64)
            } else {
                others.insert(v)
            }
            if (0x41...0x5A).contains(v) { capitals += 1 }
            switch v {
            case 0x2E, 0x2C, 0x21, 0x3F, 0x3B, 0x3A: punctuation += 1
            default: break
            }
        }
        let distinct = low.nonzeroBitCount + high.nonzeroBitCount + others.count
        return [
            min(n, 100) / 100, Double(distinct) / n, min(Double(input.words.count), 50) / 50,
            Double(capitals) / n, Double(punctuation) / n,
        ].map { min(max($0, 0), 1) }
    }

    /// Computes the heuristic from the features.
    init(features f: [Double]) {
        features = f
        let a = Self.nodeWeights.map { row in
            let sum = zip(row, f).reduce(0) { $0 + $1.0 * $1.1 }
            return sum.isFinite ? min(max(sum, 0), 1) : 0
        }
        activations = a
        let total = a.reduce(0, +)
        let spread = (a.max() ?? 0) - (a.min() ?? 0)
        if !(0.1...3.0).contains(total) {
            validator = "sum of activations \(Self.format(total)) is outside [0.1, 3]"
        } else if spread > 0.5 {
            validator = "activations differ by \(Self.format(spread)) > 0.5"
        } else {
            validator = nil
        }
        let used = validator == nil ? a : [0, 0, 0, 0]
        let mean = used.reduce(0, +) / 4
        variance = used.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 4
        var pairs = 0.0
        for i in 0..<4 { for j in (i + 1)..<4 { pairs += min(used[i], used[j]) } }
        let raw = pairs / 6 * min(max(variance / 0.25, 0), 1)
        value = raw.isFinite ? min(max(raw, 0), 1) : 0
        normalized = min(value / Self.maximum, 1)
    }

    static func format(_ x: Double) -> String {
        let scaled = (x * 1000).rounded() / 1000
        return "\(scaled)"
    }
}
