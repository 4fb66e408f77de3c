import Foundation

/// The global workspace's state: the current broadcast and a decaying count of recent
/// broadcasts (Jamey 3.0's `competition_level` only grew, so activity stuck at 1 after five).
///
/// ```
/// load     = Σ over broadcasts of 2^(−age / half_life)     kept incrementally
/// activity = min(load / scale, 1)
/// ```
struct GlobalWorkspace: Sendable {
    /// The text broadcast last.
    var current: Broadcast?
    var currentScalars: [Unicode.Scalar] = []
    /// Broadcasts since start.
    var broadcasts = 0
    private var load = 0.0
    private var loadAt = 0.0

    /// The decayed broadcast count at `now` (seconds).
    func load(at now: Double, halfLife: Double) -> Double {
        guard load > 0 else { return 0 }
        return load * Self.halving(max(0, now - loadAt), halfLife)
    }

    static func halving(_ age: Double, _ halfLife: Double) -> Double {
        halfLife > 0 ? pow(2, -age / halfLife) : 0
    }

    /// Sets the decayed count as it was at `now` (a restored snapshot).
    mutating func restoreLoad(_ value: Double, at now: Double) {
        load = max(0, value)
        loadAt = now
    }

    /// Adds a broadcast at `now`.
    mutating func broadcast(_ b: Broadcast, scalars: [Unicode.Scalar], at now: Double, halfLife: Double) {
        load = load(at: now, halfLife: halfLife) + 1
        loadAt = max(loadAt, now)
        current = b
        currentScalars = scalars
        broadcasts += 1
    }
}

/// A text that won the competition, as sent on `consciousness.workspace.broadcast`.
public struct Broadcast: Sendable, Equatable, Codable {
    /// Its sequence number since start (1, 2, ...).
    public let sequence: Int
    /// The text.
    public let content: String
    /// Its priority.
    public let priority: Double
    /// Its focus word.
    public let focus: String
    /// When it was broadcast (the caller's clock, seconds).
    public let at: Double
}
