/// Prediction: the next text's features (``Integration/features(of:)``) predicted from the recent
/// ones, and the error when it arrives (Jamey 3.0 had no prediction at all: a constant confidence
/// and a sentence).
///
/// ```
/// predicted  = exponentially weighted mean of the features seen (weight 0.3 on the newest)
/// surprise   = mean |predicted − actual| over the five features, in [0, 1]
/// error      = error + 0.3 · (surprise − error)          starts at 0.5
/// confidence = 1 − error
/// ```
public struct Prediction: Sendable {
    /// The weight of the newest text in the prediction and the error.
    public let rate: Double
    /// The features predicted for the next text (nil before the first).
    public private(set) var expected: [Double]?
    /// The smoothed error.
    public private(set) var error = 0.5

    /// - Parameter rate: the weight of the newest text.
    public init(rate: Double = 0.3) { self.rate = rate }

    /// A restored state.
    init(rate: Double, expected: [Double]?, error: Double) {
        self.rate = rate
        // Restored data is not trusted: features lie in [0, 1], and 1e308 made the next text's
        // surprise infinite and the error NaN for good (every reply, backup and hand-over failed).
        self.expected = expected.flatMap { values in
            values.count == 5 && values.allSatisfy(\.isFinite) ? values.map { min(max($0, 0), 1) } : nil
        }
        self.error = error.isFinite ? min(max(error, 0), 1) : 0.5
    }

    /// The confidence, `1 − error`.
    public var confidence: Double { 1 - error }

    /// What one text did to prediction.
    public struct Step: Sendable, Equatable, Encodable {
        /// The features predicted for this text (nil for the first).
        public let expected: [Double]?
        /// This text's features.
        public let actual: [Double]
        /// Mean absolute error (nil for the first text).
        public let surprise: Double?
        /// The confidence after it.
        public let confidence: Double
    }

    /// Compares `actual` with the prediction, then updates it.
    mutating func observe(_ actual: [Double]) -> Step {
        let before = expected
        var surprise: Double?
        if let before {
            let s = zip(before, actual).reduce(0) { $0 + abs($1.0 - $1.1) } / Double(actual.count)
            surprise = s
            error += rate * (s - error)
        }
        expected = before.map { zip($0, actual).map { $0 + rate * ($1 - $0) } } ?? actual
        return Step(expected: before, actual: actual, surprise: surprise, confidence: confidence)
    }
}
