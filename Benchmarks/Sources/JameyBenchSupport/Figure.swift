import Benchmark

/// One figure a benchmark reports: an ordo-one custom metric (what the committed baselines
/// store and `baseline check` compares) and its line in the summary `scripts/bench.sh` prints.
///
/// Figures are integers. Ratios are stored as percentages (`25000` is 250×); sub-nanosecond
/// times as picoseconds. Only ratios against an in-run baseline are gated (``tolerance``):
/// absolute figures move with the machine's load, ratios much less.
public struct Figure: Sendable {
    /// How the value is scaled and how the summary prints it.
    public enum Unit: String, Sendable {
        /// Events per second.
        case perSecond = "per s"
        /// Nanoseconds.
        case nanoseconds = "ns"
        /// Picoseconds (printed as ns).
        case picoseconds = "ps"
        /// Microseconds (printed as ms).
        case microseconds = "us"
        /// KiB (printed as MB, 10^6 bytes).
        case kibibytes = "KiB"
        /// A ratio × 100 (printed as ×N.NN).
        case percent = "%"
    }

    /// What a figure is supposed to reach.
    public enum Target: Sendable {
        /// At least this value (in the figure's unit).
        case atLeast(Int)
        /// Strictly below this value (in the figure's unit).
        case below(Int)
    }

    /// What the figure is (unique within a benchmark), for the summary.
    public let name: String
    /// The unit of the stored value.
    public let unit: Unit
    /// Whether larger is better.
    public let prefersLarger: Bool
    /// For gated figures: the regression, in percent of the committed baseline's p50, that makes
    /// `scripts/bench.sh` fail. `nil`: reported, never gated.
    public let tolerance: Double?
    /// The target for this figure, if it has one.
    public let target: Target?

    /// - Parameters:
    ///   - name: what the figure is, without its unit.
    ///   - unit: unit of the stored value.
    ///   - prefersLarger: whether larger is better.
    ///   - tolerance: allowed regression at p50 in percent, for gated ratios.
    ///   - target: the target.
    public init(_ name: String, _ unit: Unit, prefersLarger: Bool = false, tolerance: Double? = nil, target: Target? = nil) {
        self.name = name
        self.unit = unit
        self.prefersLarger = prefersLarger
        self.tolerance = tolerance
        self.target = target
    }

    /// The ordo-one metric, named `<name> (<stored unit>)`: what the baseline tables show.
    public var metric: BenchmarkMetric {
        .custom("\(name) (\(unit.rawValue))", polarity: prefersLarger ? .prefersLarger : .prefersSmaller, useScalingFactor: false)
    }

    /// The thresholds `baseline check` applies: the tolerance at p50 for gated figures, none
    /// otherwise (the framework's default would gate every metric at 5%).
    public var thresholds: BenchmarkThresholds {
        guard let tolerance else { return BenchmarkThresholds(relative: [:], absolute: [:]) }
        return BenchmarkThresholds(relative: [.p50: tolerance], absolute: [:])
    }

    /// Whether `value` meets ``target`` (nil without a target).
    public func meets(_ value: Int) -> Bool? {
        switch target {
        case .atLeast(let bound)?: value >= bound
        case .below(let bound)?: value < bound
        case nil: nil
        }
    }

    /// `value` for people: `2,131,000 /s`, `1.234 ns`, `12.30 ms`, `27.41 MB`, `×1.23`.
    public func format(_ value: Int) -> String {
        switch unit {
        case .perSecond: "\(grouped(value)) /s"
        case .nanoseconds: value >= 10_000 ? String(format2: Double(value) / 1000, "µs") : "\(value) ns"
        case .picoseconds: String(format3: Double(value) / 1000, "ns")
        case .microseconds: String(format2: Double(value) / 1000, "ms")
        case .kibibytes: String(format2: Double(value) * 1024 / 1_000_000, "MB")
        case .percent: "×" + String(format2: Double(value) / 100, "").trimmingCharacters(in: .whitespaces)
        }
    }

    /// The target as text, or "" when none.
    public var targetText: String {
        switch target {
        case .atLeast(let bound)?: "≥ " + format(bound)
        case .below(let bound)?: "< " + format(bound)
        case nil: ""
        }
    }

    private func grouped(_ value: Int) -> String {
        var digits = String(value)
        var out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return digits + out
    }
}

extension String {
    init(format2 value: Double, _ unit: String) {
        let hundredths = Int((value * 100).rounded())
        self = "\(hundredths / 100).\(String(hundredths % 100).leftPadded(2))" + (unit.isEmpty ? "" : " \(unit)")
    }

    init(format3 value: Double, _ unit: String) {
        let thousandths = Int((value * 1000).rounded())
        self = "\(thousandths / 1000).\(String(thousandths % 1000).leftPadded(3)) \(unit)"
    }

    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
