/// Window TinyLFU (Einziger, Friedman & Manes, 2017) with Caffeine's adaptive window.
///
/// New entries enter a small LRU window; the window's overflow becomes candidates for the main
/// space, a segmented LRU (probation, then protected after a second read). A candidate replaces the
/// probation victim only when the frequency sketch says it was seen more often recently, so a scan
/// cannot flush the frequent entries. A hill climber resizes the window every sample period
/// towards the split that raised the hit ratio (recency-heavy workloads grow it, frequency-heavy
/// ones shrink it).
public final class TinyLFUPolicy: EvictionPolicy {
    public let capacity: Int
    private(set) var windowLimit: Int
    private var protectedLimit: Int
    private var sketch: FrequencySketch
    private var links = SlotLinks()
    private var window = ListEnds()
    private var probation = ListEnds()
    private var protected = ListEnds()
    private let adaptive: Bool
    private let victimSample: Int
    private var climber: HillClimber
    private var random: UInt64 = 0x2545_F491_4F6C_DD1D
    public private(set) var admissionsRefused = 0
    /// Where `replay`'s advance loads land, so they are not optimised away.
    private var touched: UInt64 = 0

    private enum Region: UInt8 { case window, probation, protected }

    /// Creates a policy.
    /// - Parameters:
    ///   - capacity: the weight kept resident at most.
    ///   - windowPercent: the window's initial share of capacity (Caffeine: 1).
    ///   - adaptive: whether the hill climber resizes the window.
    ///   - expectedEntries: the number of entries the sketch is sized for (default: `capacity`,
    ///     right when every entry weighs 1).
    ///   - sampleFactor: sketch increments between agings, as a multiple of `expectedEntries`
    ///     (Caffeine: 10; 100 here, measured better on the Zipf benchmark traces by 0.006–0.016 in
    ///     miss ratio, at the cost of slower forgetting when popularity shifts).
    ///   - doorkeeper: whether the sketch puts first sightings in a Bloom filter.
    ///   - victimSample: how many of probation's oldest entries are looked at for the least
    ///     frequent victim (1: the oldest, as Caffeine does; 16 here: a nearer approximation of
    ///     evicting the least frequent, 0.0005–0.001 better on the benchmark traces).
    public init(
        capacity: Int, windowPercent: Double = 1, adaptive: Bool = true, expectedEntries: Int? = nil,
        sampleFactor: Int = 100, doorkeeper: Bool = false, victimSample: Int = 16
    ) {
        self.victimSample = max(1, victimSample)
        self.capacity = max(1, capacity)
        windowLimit = max(1, Int(Double(self.capacity) * windowPercent / 100))
        protectedLimit = (self.capacity - windowLimit) * 8 / 10
        let entries = max(1, expectedEntries ?? self.capacity)
        sketch = FrequencySketch(capacity: entries, sampleFactor: sampleFactor, doorkeeper: doorkeeper)
        self.adaptive = adaptive
        climber = HillClimber(capacity: self.capacity, sampleSize: sketch.sampleSize)
    }

    public var weight: Int { window.weight + probation.weight + protected.weight }
    public var bytesPerEntry: Int { MemoryLayout<SlotLinks.Node>.stride }
    public var sharedBytes: Int { sketch.bytes }

    @inline(__always) private func region(_ slot: Int32) -> Region { Region(rawValue: links.tag(slot)) ?? .window }
    @inline(__always) private func setRegion(_ slot: Int32, _ r: Region) { links.setTag(slot, r.rawValue) }

    /// The estimated recent frequency of a hash (for tests and warming).
    public func frequency(_ hash: UInt64) -> Int { sketch.frequency(hash) }

    public func hit(_ slot: Int32) {
        sketch.increment(links.hash(slot))
        reorder(slot)
    }

    /// The reads in order, the sketch's counts first: counting and reordering do not interact, so
    /// the work runs in passes whose memory accesses are independent of each other and overlap —
    /// first a load of each read's sketch block and list record, then the counts, then a load of
    /// each record's neighbours, then the moves, which find what they touch in the cache.
    public func replay(_ reads: UnsafeBufferPointer<PolicyRead>) {
        var loaded: UInt64 = 0
        for read in reads where read.slot >= 0 {
            loaded &+= sketch.touch(read.hash) &+ UInt64(truncatingIfNeeded: links.before(read.slot))
        }
        for read in reads where read.slot >= 0 { sketch.increment(read.hash) }
        for read in reads where read.slot >= 0 { loaded &+= links.touchNeighbours(read.slot) }
        touched = loaded
        for read in reads {
            if read.slot >= 0 {
                reorder(read.slot)
            } else if adaptive {
                record(hit: false)
            }
        }
    }

    /// A hit's move in the lists (and its count for the window's hill climber).
    @inline(__always) private func reorder(_ slot: Int32) {
        switch region(slot) {
        case .window:
            links.moveToFront(slot, &window)
        case .protected:
            links.moveToFront(slot, &protected)
        case .probation:
            move(slot, from: &probation, to: &protected, .protected)
            demoteProtectedOverflow()
        }
        if adaptive { record(hit: true) }
    }

    public func recordAccesses(hash: UInt64, count: Int) {
        for _ in 0..<min(max(0, count), 15) { sketch.increment(hash) }
    }

    public func miss(hash: UInt64) {
        if adaptive { record(hit: false) }
    }

    public func insert(_ slot: Int32, hash: UInt64, weight: Int, evicted: inout [Int32]) {
        links.reset(slot, weight: weight, hash: hash)
        setRegion(slot, .window)
        sketch.increment(hash)
        links.pushFront(slot, &window)
        window.weight += weight
        evict(&evicted)
    }

    public func remove(_ slot: Int32) {
        let w = links.weight(slot)
        switch region(slot) {
        case .window:
            links.unlink(slot, &window)
            window.weight -= w
        case .probation:
            links.unlink(slot, &probation)
            probation.weight -= w
        case .protected:
            links.unlink(slot, &protected)
            protected.weight -= w
        }
    }

    /// Moves the window's overflow to probation as candidates, then evicts the loser of each
    /// candidate-against-victim duel until the total fits.
    private func evict(_ evicted: inout [Int32]) {
        var candidates = 0
        var firstCandidate: Int32 = -1
        while window.weight > windowLimit, window.count > 1 {
            let t = window.tail
            move(t, from: &window, to: &probation, .probation)
            if candidates == 0 { firstCandidate = t }
            candidates += 1
        }
        var candidate = firstCandidate
        while weight > capacity {
            let victim = pickVictim(candidates: candidates)
            if candidates == 0 || victim < 0 || victim == candidate {
                // No duel left: evict the oldest entry of main (or of the window).
                let loser = victim >= 0 ? victim : (protected.tail >= 0 ? protected.tail : window.tail)
                guard loser >= 0 else { return }
                if loser == candidate {
                    candidate = links.before(candidate)
                    candidates -= 1
                }
                remove(loser)
                evicted.append(loser)
                continue
            }
            if admit(candidate: links.hash(candidate), victim: links.hash(victim)) {
                remove(victim)
                evicted.append(victim)
            } else {
                let loser = candidate
                candidate = links.before(candidate)
                candidates -= 1
                remove(loser)
                evicted.append(loser)
                admissionsRefused += 1
            }
        }
    }

    /// The probation entry the candidate duels: the least frequent of the `victimSample` oldest
    /// (1 = Caffeine's choice, the oldest), never one of the candidates.
    private func pickVictim(candidates: Int) -> Int32 {
        var victim = probation.tail
        let span = min(victimSample, probation.count - candidates)
        guard span > 1 else { return victim }
        var lowest = sketch.frequency(links.hash(victim))
        var cursor = links.before(victim)
        for _ in 1..<span where cursor >= 0 {
            let f = sketch.frequency(links.hash(cursor))
            if f < lowest {
                lowest = f
                victim = cursor
            }
            cursor = links.before(cursor)
        }
        return victim
    }

    private func admit(candidate: UInt64, victim: UInt64) -> Bool {
        let c = sketch.frequency(candidate)
        let v = sketch.frequency(victim)
        if c > v { return true }
        if c <= 5 { return false }
        // A hot candidate that ties now and then wins, so an attacker cannot pin a victim by
        // flooding its counters (Caffeine's hash-flooding defence).
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random & 127 == 0
    }

    private func demoteProtectedOverflow() {
        while protected.weight > protectedLimit, protected.count > 1 {
            move(protected.tail, from: &protected, to: &probation, .probation)
        }
    }

    /// Moves `slot` from one list to the head of another, with its weight and region.
    @inline(__always) private func move(_ slot: Int32, from: inout ListEnds, to: inout ListEnds, _ region: Region) {
        let w = links.weight(slot)
        links.unlink(slot, &from)
        from.weight -= w
        setRegion(slot, region)
        links.pushFront(slot, &to)
        to.weight += w
    }

    private func record(hit: Bool) {
        guard let change = climber.record(hit: hit) else { return }
        let lowest = max(1, capacity / 200)
        let highest = max(lowest, capacity * 8 / 10)
        windowLimit = min(highest, max(lowest, windowLimit + change))
        protectedLimit = (capacity - windowLimit) * 8 / 10
        demoteProtectedOverflow()
    }
}

/// Caffeine's hill climber: after each sample, step the window the same way again if the hit
/// ratio rose, the other way if it fell; the step decays, and restarts large on a big change.
struct HillClimber {
    private let capacity: Int
    private let sampleSize: Int
    private var hits = 0
    private var misses = 0
    private var previousHitRatio = 0.0
    private var step: Double

    init(capacity: Int, sampleSize: Int) {
        self.capacity = capacity
        self.sampleSize = sampleSize
        step = 0.0625 * Double(capacity)
    }

    /// Counts a request; at the end of a sample returns how much to grow (or, negative, shrink) the window.
    mutating func record(hit: Bool) -> Int? {
        if hit { hits += 1 } else { misses += 1 }
        let requests = hits + misses
        guard requests >= sampleSize else { return nil }
        let ratio = Double(hits) / Double(requests)
        let delta = ratio - previousHitRatio
        let amount = delta >= 0 ? step : -step
        step = abs(delta) >= 0.05 ? 0.0625 * Double(capacity) * (amount >= 0 ? 1 : -1) : 0.98 * amount
        previousHitRatio = ratio
        hits = 0
        misses = 0
        return Int(amount.rounded())
    }
}
