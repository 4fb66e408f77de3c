import Synchronization

/// The per-plugin figures parsed from the kernel's exposition, kept for a short time: reading and
/// parsing the whole registry is the expensive part of `GET /v1/plugins`, and figures a second
/// old are as good as fresh ones to a dashboard. Thread-safe.
final class FiguresCache: Sendable {
    private let lifetime: Duration
    private let clock = ContinuousClock()
    private let cached = Mutex<(at: ContinuousClock.Instant, figures: [String: [(String, Double)]])?>(nil)

    /// - Parameter lifetime: how long parsed figures are reused.
    init(lifetime: Duration = .seconds(1)) { self.lifetime = lifetime }

    /// The cached figures, or new ones from `load` when they are older than the lifetime.
    func current(_ load: () -> [String: [(String, Double)]]) -> [String: [(String, Double)]] {
        let now = clock.now
        if let hit = cached.withLock({ $0 }), now - hit.at < lifetime { return hit.figures }
        let figures = load()
        cached.withLock { $0 = (now, figures) }
        return figures
    }
}
