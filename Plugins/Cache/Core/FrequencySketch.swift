/// A count-min sketch of 4-bit counters that estimates how often a key was seen recently.
///
/// Sixteen counters share one 64-bit word and there is one word per entry (Caffeine's sizing); a key touches four counters chosen from its hash, and its
/// estimate is the smallest of them. After `sampleSize` increments every counter is halved (aging),
/// so the sketch follows a workload that changes. An optional doorkeeper (a one-bit-per-slot Bloom
/// filter) absorbs keys seen once, so one-hit wonders do not occupy counters.
///
/// Not thread-safe: the owner serialises access (the L1 holds it under its stripe's lock).
public struct FrequencySketch: Sendable {
    private var table: [UInt64]
    private var doorkeeper: [UInt64]
    private let counterMask: UInt64
    private let doorkeeperMask: UInt64
    private let usesDoorkeeper: Bool
    /// Increments between two halvings.
    public let sampleSize: Int
    private var additions = 0

    /// Creates a sketch sized for `capacity` distinct entries.
    /// - Parameters:
    ///   - capacity: the number of entries the cache holds (at least 1); sets the table size.
    ///   - sampleFactor: increments between agings, as a multiple of `capacity` (Caffeine uses 10).
    ///   - doorkeeper: whether first sightings go to a Bloom filter instead of the counters.
    public init(capacity: Int, sampleFactor: Int = 10, doorkeeper usesDoorkeeper: Bool = false) {
        let words = max(8, Self.powerOfTwo(atLeast: max(1, capacity)))
        table = [UInt64](repeating: 0, count: words)
        counterMask = UInt64(words * 16 - 1)
        let bits = Self.powerOfTwo(atLeast: max(64, capacity * 4))
        doorkeeper = usesDoorkeeper ? [UInt64](repeating: 0, count: bits / 64) : []
        doorkeeperMask = UInt64(bits - 1)
        self.usesDoorkeeper = usesDoorkeeper
        sampleSize = max(16, capacity * max(1, sampleFactor))
    }

    /// The estimated number of recent sightings of `hash` (0...15, plus one with a doorkeeper).
    public func frequency(_ hash: UInt64) -> Int {
        var lowest = 15
        var h = Self.spread(hash)
        for _ in 0..<4 {
            lowest = min(lowest, Int(counter(Int(h & counterMask))))
            h = Self.rehash(h)
        }
        if usesDoorkeeper, doorkeeperContains(hash) { lowest += 1 }
        return lowest
    }

    /// Records one sighting of `hash`, halving all counters when the sample is full.
    public mutating func increment(_ hash: UInt64) {
        if usesDoorkeeper, !doorkeeperInsert(hash) { return countAddition() }
        var h = Self.spread(hash)
        let i0 = Int(h & counterMask)
        h = Self.rehash(h)
        let i1 = Int(h & counterMask)
        h = Self.rehash(h)
        let i2 = Int(h & counterMask)
        h = Self.rehash(h)
        let i3 = Int(h & counterMask)
        let lowest = min(min(counter(i0), counter(i1)), min(counter(i2), counter(i3)))
        guard lowest < 15 else { return countAddition() }
        // Conservative update: raise only the counters at the minimum.
        raise(i0, from: lowest)
        raise(i1, from: lowest)
        raise(i2, from: lowest)
        raise(i3, from: lowest)
        countAddition()
    }

    @inline(__always) private func counter(_ index: Int) -> UInt64 {
        (table[index >> 4] >> UInt64((index & 15) << 2)) & 0xF
    }

    @inline(__always) private mutating func raise(_ index: Int, from value: UInt64) {
        if counter(index) == value { table[index >> 4] += 1 << UInt64((index & 15) << 2) }
    }

    private mutating func countAddition() {
        additions += 1
        if additions >= sampleSize { age() }
    }

    /// Halves every counter and clears the doorkeeper.
    public mutating func age() {
        for i in table.indices { table[i] = (table[i] >> 1) & 0x7777_7777_7777_7777 }
        for i in doorkeeper.indices { doorkeeper[i] = 0 }
        additions /= 2
    }

    private func doorkeeperContains(_ hash: UInt64) -> Bool {
        let (a, b) = doorkeeperBits(hash)
        return doorkeeper[a >> 6] & (1 << UInt64(a & 63)) != 0 && doorkeeper[b >> 6] & (1 << UInt64(b & 63)) != 0
    }

    /// Sets the key's bits; returns whether they were all set already.
    private mutating func doorkeeperInsert(_ hash: UInt64) -> Bool {
        let seen = doorkeeperContains(hash)
        let (a, b) = doorkeeperBits(hash)
        doorkeeper[a >> 6] |= 1 << UInt64(a & 63)
        doorkeeper[b >> 6] |= 1 << UInt64(b & 63)
        return seen
    }

    private func doorkeeperBits(_ hash: UInt64) -> (Int, Int) {
        let h = Self.spread(hash ^ 0x9E37_79B9_7F4A_7C15)
        return (Int(h & doorkeeperMask), Int((h >> 32) & doorkeeperMask))
    }

    /// The SplitMix64 finaliser: a well-mixed 64-bit hash of `x`.
    @inline(__always) static func spread(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) static func rehash(_ h: UInt64) -> UInt64 {
        (h >> 17 | h << 47) &* 0xC2B2_AE3D_27D4_EB4F
    }

    static func powerOfTwo(atLeast n: Int) -> Int {
        var p = 1
        while p < n { p <<= 1 }
        return p
    }
}
