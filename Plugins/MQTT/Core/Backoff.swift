import Foundation

/// Exponential backoff with jitter between connection attempts.
///
/// The n-th delay (n from 0) is `min(max, initial × multiplierⁿ)`, of which the fraction `jitter`
/// is random: the delay drawn lies in `[(1 − jitter) × d, d]`. Spreading retries this way keeps
/// many nodes from reconnecting to a restarted broker in lockstep.
package struct Backoff: Sendable {
    /// Delay after the first failure.
    package let initial: Duration
    /// Upper bound of any delay.
    package let maximum: Duration
    /// Growth per failed attempt.
    package let multiplier: Double
    /// Randomised fraction, 0...1.
    package let jitter: Double

    /// Failed attempts since the last successful connection.
    package private(set) var failures = 0

    package init(initial: Duration, maximum: Duration, multiplier: Double, jitter: Double) {
        self.initial = initial
        self.maximum = max(maximum, initial)
        self.multiplier = max(1, multiplier)
        self.jitter = min(1, max(0, jitter))
    }

    package init(_ configuration: MQTTConfiguration.Reconnect) {
        self.init(
            initial: .milliseconds(configuration.initialDelayMs), maximum: .milliseconds(configuration.maxDelayMs),
            multiplier: configuration.multiplier, jitter: configuration.jitter)
    }

    /// The upper bound of the delay after `failures` failed attempts (before jitter), in whole
    /// milliseconds.
    package func ceiling(after failures: Int) -> Duration {
        let grown = Double(initial.milliseconds) * pow(multiplier, Double(min(failures, 64)))
        return .milliseconds(Int64(min(Double(maximum.milliseconds), grown.rounded())))
    }

    /// Counts a failed attempt and returns how long to wait before the next one.
    package mutating func next<G: RandomNumberGenerator>(using generator: inout G) -> Duration {
        let ceiling = Double(ceiling(after: failures).milliseconds)
        failures += 1
        let low = ceiling * (1 - jitter)
        let drawn = low == ceiling ? ceiling : Double.random(in: low...ceiling, using: &generator)
        return .microseconds(Int64((drawn * 1000).rounded()))
    }

    /// Counts a failed attempt and returns the delay, with the system random generator.
    package mutating func next() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return next(using: &generator)
    }

    /// Starts over after a successful connection.
    package mutating func reset() { failures = 0 }
}
