import Synchronization

/// The per-plugin figures parsed from the kernel's exposition, kept for a short time: reading and
/// parsing the whole registry is the expensive part of `GET /v1/plugins`, and figures a second
/// old are as good as fresh ones to a dashboard. Thread-safe.
final class FiguresCache: Sendable {
    private let lifetime: Duration
    private let clock = ContinuousClock()
    private let cached = Mutex<Figures?>(nil)
    private let loads = Atomic<Int>(0)

    /// Parsed figures and which load produced them.
    struct Figures {
        /// Per plugin: metric name and value.
        let values: [String: [(String, Double)]]
        /// Changes with every load (so callers can tell whether derived output is stale).
        let stamp: Int
        let at: ContinuousClock.Instant
    }

    /// - Parameter lifetime: how long parsed figures are reused.
    init(lifetime: Duration = .seconds(1)) { self.lifetime = lifetime }

    /// The cached figures, or new ones from `load` when they are older than the lifetime.
    func current(_ load: () -> [String: [(String, Double)]]) -> Figures {
        let now = clock.now
        if let hit = cached.withLock({ $0 }), now - hit.at < lifetime { return hit }
        let figures = Figures(values: load(), stamp: loads.add(1, ordering: .relaxed).newValue, at: now)
        cached.withLock { $0 = figures }
        return figures
    }
}
