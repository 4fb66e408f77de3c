#if canImport(Glibc)
    import Glibc
#endif

/// When an isolated plugin that crashed starts again, and when it is quarantined instead.
///
/// The delay follows systemd's `RestartSec`/`RestartSteps`/`RestartMaxDelaySec`: it grows
/// exponentially from `delay` to `maxDelay` over `steps` restarts, then stays there. Crashes are
/// counted within a sliding `window`; more than `maxRestarts` of them quarantine the plugin.
public struct RestartPolicy: Sendable, Equatable {
    /// The first delay (`restart.delay_ms`).
    public var delay: Duration = .milliseconds(100)
    /// The longest delay (`restart.max_delay_ms`).
    public var maxDelay: Duration = .seconds(5)
    /// Restarts over which the delay grows to `maxDelay` (`restart.steps`); 0 keeps `delay`.
    public var steps = 5
    /// The window crashes are counted in (`restart.window_s`).
    public var window: Duration = .seconds(60)
    /// More crashes than this within `window` quarantine the plugin (`restart.max_restarts`).
    public var maxRestarts = 5

    /// The defaults: 100 ms growing to 5 s over 5 restarts; quarantine after more than 5 crashes
    /// in 60 s.
    public init() {}

    /// - Parameters: see the properties.
    public init(delay: Duration, maxDelay: Duration, steps: Int, window: Duration, maxRestarts: Int) {
        self.delay = delay
        self.maxDelay = max(maxDelay, delay)
        self.steps = steps
        self.window = window
        self.maxRestarts = maxRestarts
    }

    /// The delay before restart number `restart` (0 for the first restart in the window):
    /// `delay × (maxDelay / delay) ^ (min(restart, steps) / steps)`.
    public func delay(beforeRestart restart: Int) -> Duration {
        guard steps > 0, delay < maxDelay else { return delay }
        let low = max(delay.inSeconds, 0.001)
        let ratio = maxDelay.inSeconds / low
        let step = Double(min(max(restart, 0), steps)) / Double(steps)
        if restart >= steps { return maxDelay }
        return .nanoseconds(Int64(low * pow(ratio, step) * 1e9))
    }

    /// What to do after a crash at `now`, given the earlier crash times (oldest first).
    /// - Returns: the restart's delay and its number in the window, or nil: quarantine.
    public func decide(crashes: inout [ContinuousClock.Instant], now: ContinuousClock.Instant) -> (Duration, Int)? {
        crashes.append(now)
        crashes.removeAll { now - $0 > window }
        guard crashes.count <= maxRestarts else { return nil }
        return (delay(beforeRestart: crashes.count - 1), crashes.count - 1)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
