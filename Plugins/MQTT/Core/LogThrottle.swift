import Synchronization

/// Lets one warning of a kind through per interval, so a misbehaving stream (every message
/// rejected, say) writes a line every few seconds, with a count, instead of one per message.
/// Thread-safe.
package final class LogThrottle: Sendable {
    private let interval: Duration
    private let state = Mutex<[String: (last: ContinuousClock.Instant, suppressed: Int)]>([:])

    /// - Parameter interval: the shortest time between two lines of one kind.
    package init(interval: Duration = .seconds(10)) { self.interval = interval }

    /// Whether a line of `kind` may be written now, and how many were held back since the last.
    /// - Returns: nil when the line should be skipped (it is counted).
    package func allow(_ kind: String, now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { kinds in
            if let entry = kinds[kind], now - entry.last < interval {
                kinds[kind] = (entry.last, entry.suppressed + 1)
                return nil
            }
            let suppressed = kinds[kind]?.suppressed ?? 0
            kinds[kind] = (now, 0)
            return suppressed
        }
    }
}
