/// A budget of log lines a second for one kind of line: the first `linesPerSecond` of each second
/// are admitted, the rest counted, and the next admitted line learns how many were left out.
public struct LogBudget: Sendable {
    /// Lines admitted in each second.
    public let linesPerSecond: Int
    private var windowStart: ContinuousClock.Instant?
    private var admitted = 0
    private var skipped = 0

    public init(linesPerSecond: Int) { self.linesPerSecond = max(1, linesPerSecond) }

    /// Whether a line may be written at `now`.
    /// - Returns: nil when it may not (it is counted); else how many lines were left out since
    ///   the last one admitted.
    public mutating func admit(now: ContinuousClock.Instant) -> Int? {
        if windowStart.map({ now - $0 >= .seconds(1) }) ?? true {
            windowStart = now
            admitted = 0
        }
        guard admitted < linesPerSecond else {
            skipped += 1
            return nil
        }
        admitted += 1
        defer { skipped = 0 }
        return skipped
    }
}
