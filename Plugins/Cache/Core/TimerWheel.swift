/// A hashed timer wheel of slot deadlines: scheduling and cancelling are O(1), and `advance`
/// reports every slot whose deadline has passed no later than one tick after it did.
///
/// A deadline `d` goes in the bucket of tick ⌈d / tick⌉; advancing to a time `now` visits every
/// bucket from the last visited tick up to ⌊now / tick⌋ and expires the entries whose deadline is
/// ≤ now (entries a whole turn of the wheel or more away stay). Times are nanoseconds on the
/// owner's clock. Not thread-safe: the owner serialises calls.
public struct TimerWheel: Sendable {
    /// The tick length in nanoseconds.
    public let tick: UInt64
    private var buckets: [Int32]
    private var prev: [Int32] = []
    private var next: [Int32] = []
    private var deadlines: [UInt64] = []
    private var homes: [Int32] = []
    private var lastTick: UInt64
    /// The first time of the tick after `lastTick`: `isDue` compares instead of dividing.
    private var nextTickStart: UInt64
    /// How many slots are scheduled.
    public private(set) var count = 0

    /// Creates a wheel.
    /// - Parameters:
    ///   - tick: the tick in nanoseconds (at least 1).
    ///   - buckets: the number of buckets, rounded up to a power of two.
    ///   - now: the current time.
    public init(tick: UInt64, buckets: Int = 512, now: UInt64) {
        self.tick = max(1, tick)
        do {
            var n = 1
            while n < max(2, buckets) { n <<= 1 }
            self.buckets = [Int32](repeating: -1, count: n)
        }
        lastTick = now / self.tick
        nextTickStart = (lastTick &+ 1) &* self.tick
    }

    private var mask: UInt64 { UInt64(buckets.count - 1) }

    /// The deadline of a scheduled slot, or nil.
    public func deadline(of slot: Int32) -> UInt64? {
        guard Int(slot) < deadlines.count, deadlines[Int(slot)] != 0 else { return nil }
        return deadlines[Int(slot)]
    }

    /// Schedules `slot` to expire at `deadline` (replacing an earlier schedule).
    public mutating func schedule(_ slot: Int32, at deadline: UInt64) {
        cancel(slot)
        let i = Int(slot)
        if i >= deadlines.count {
            let n = max(i + 1, deadlines.count * 2, 16) - deadlines.count
            deadlines.append(contentsOf: repeatElement(0, count: n))
            prev.append(contentsOf: repeatElement(-1, count: n))
            next.append(contentsOf: repeatElement(-1, count: n))
            homes.append(contentsOf: repeatElement(-1, count: n))
        }
        let d = max(1, deadline)
        deadlines[i] = d
        var t = (d + tick - 1) / tick
        if t <= lastTick { t = lastTick + 1 }  // already due: the next advance sees it
        let b = Int(t & mask)
        homes[i] = Int32(b)
        prev[i] = -1
        next[i] = buckets[b]
        if buckets[b] >= 0 { prev[Int(buckets[b])] = slot }
        buckets[b] = slot
        count += 1
    }

    /// Unschedules `slot` if it is scheduled.
    public mutating func cancel(_ slot: Int32) {
        let i = Int(slot)
        guard i < deadlines.count, deadlines[i] != 0 else { return }
        let p = prev[i]
        let n = next[i]
        if p >= 0 {
            next[Int(p)] = n
        } else {
            buckets[Int(homes[i])] = n
        }
        if n >= 0 { prev[Int(n)] = p }
        deadlines[i] = 0
        prev[i] = -1
        next[i] = -1
        count -= 1
    }

    /// Whether `now` reaches a tick `advance` has not visited yet.
    @inline(__always) public func isDue(_ now: UInt64) -> Bool { now >= nextTickStart }

    /// Moves time to `now` and calls `expire` for each slot whose deadline is ≤ now, unscheduling it.
    public mutating func advance(to now: UInt64, _ expire: (Int32) -> Void) {
        let nowTick = now / tick
        guard nowTick > lastTick else { return }
        let steps = min(nowTick - lastTick, UInt64(buckets.count))
        for s in 1...steps {
            let b = Int((lastTick + s) & mask)
            var cursor = buckets[b]
            while cursor >= 0 {
                let following = next[Int(cursor)]
                if deadlines[Int(cursor)] <= now {
                    cancel(cursor)
                    expire(cursor)
                }
                cursor = following
            }
        }
        lastTick = nowTick
        nextTickStart = (lastTick &+ 1) &* tick
    }
}
