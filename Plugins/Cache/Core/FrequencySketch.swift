/// A count-min sketch of 4-bit counters that estimates how often a key was seen recently.
///
/// Sixteen counters share one 64-bit word and there is one word per entry, 8 bytes (Caffeine's
/// sizing, without its rounding up to a power of two: blocks of eight words, as many as
/// `capacity / 8`, picked by multiplying the hash instead of masking it). A key touches four
/// counters of one block chosen from its hash, and its estimate is the smallest of them. Keys are
/// told apart by their hash folded to 32 bits (`SlotLinks.fold`), which is what a policy's
/// per-entry record keeps. After `sampleSize` increments every counter is halved (aging),
/// so the sketch follows a workload that changes. An optional doorkeeper (a one-bit-per-slot Bloom
/// filter) absorbs keys seen once, so one-hit wonders do not occupy counters.
///
/// Not thread-safe: the owner serialises access (the L1 holds it under its stripe's lock).
public struct FrequencySketch: Sendable {
    private var table: [UInt64]
    private var doorkeeper: [UInt64]
    /// The number of 64-byte blocks (eight words each).
    private let blocks: UInt64
    private let doorkeeperMask: UInt64
    private let usesDoorkeeper: Bool
    /// Increments between two halvings.
    public let sampleSize: Int
    /// The memory the counters (and the doorkeeper) take, in bytes.
    public var bytes: Int { (table.count + doorkeeper.count) * MemoryLayout<UInt64>.stride }
    private var additions = 0

    /// Creates a sketch sized for `capacity` distinct entries.
    /// - Parameters:
    ///   - capacity: the number of entries the cache holds (at least 1); sets the table size.
    ///   - sampleFactor: increments between agings, as a multiple of `capacity` (Caffeine uses 10).
    ///   - doorkeeper: whether first sightings go to a Bloom filter instead of the counters.
    public init(capacity: Int, sampleFactor: Int = 10, doorkeeper usesDoorkeeper: Bool = false) {
        let blocks = max(1, capacity / 8)
        table = [UInt64](repeating: 0, count: blocks * 8)
        self.blocks = UInt64(blocks)
        let bits = Self.powerOfTwo(atLeast: max(64, capacity * 4))
        doorkeeper = usesDoorkeeper ? [UInt64](repeating: 0, count: bits / 64) : []
        doorkeeperMask = UInt64(bits - 1)
        self.usesDoorkeeper = usesDoorkeeper
        sampleSize = max(16, capacity * max(1, sampleFactor))
    }

    /// The estimated number of recent sightings of `hash` (0...15, plus one with a doorkeeper).
    public func frequency(_ hash: UInt64) -> Int {
        let h = Self.spread(SlotLinks.fold(hash))
        var lowest = 15
        for i in 0..<4 { lowest = min(lowest, Int(counter(index(h, i)))) }
        if usesDoorkeeper, doorkeeperContains(hash) { lowest += 1 }
        return lowest
    }

    /// Loads the block of `hash`'s counters and returns a word of it (so an `increment` that
    /// follows finds the block in the cache).
    @inline(__always) public func touch(_ hash: UInt64) -> UInt64 {
        table[index(Self.spread(SlotLinks.fold(hash)), 0) >> 4]
    }

    /// Records one sighting of `hash`, halving all counters when the sample is full.
    public mutating func increment(_ hash: UInt64) {
        if usesDoorkeeper, !doorkeeperInsert(hash) { return countAddition() }
        let h = Self.spread(SlotLinks.fold(hash))
        let i0 = index(h, 0)
        let i1 = index(h, 1)
        let i2 = index(h, 2)
        let i3 = index(h, 3)
        let lowest = min(min(counter(i0), counter(i1)), min(counter(i2), counter(i3)))
        guard lowest < 15 else { return countAddition() }
        // Conservative update: raise only the counters at the minimum.
        raise(i0, from: lowest)
        raise(i1, from: lowest)
        raise(i2, from: lowest)
        raise(i3, from: lowest)
        countAddition()
    }

    /// The `i`-th (0...3) counter of a spread hash: all four lie in one 64-byte block of eight
    /// words (one cache line), chosen by the hash's low 32 bits (scaled to the block count); the
    /// high bits pick word and nibble.
    @inline(__always) private func index(_ h: UInt64, _ i: Int) -> Int {
        let block = Int(truncatingIfNeeded: ((h & 0xFFFF_FFFF) &* blocks) >> 32) << 3
        let bits = h >> UInt64(32 + i * 7)
        return ((block + Int(bits & 7)) << 4) | Int((bits >> 3) & 15)
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
        let h = Self.spread(SlotLinks.fold(hash) ^ 0x9E37_79B9_7F4A_7C15)
        return (Int(h & doorkeeperMask), Int((h >> 32) & doorkeeperMask))
    }

    /// The SplitMix64 finaliser: a well-mixed 64-bit hash of `x`.
    @inline(__always) static func spread(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The counters as bytes, for ``restore(_:)``: `JFS2` (`JFS1` sketches hashed keys unfolded), the word count (u32) and the
    /// additions since the last halving (u64), then every word, all little-endian. The doorkeeper
    /// is not included (halving clears it anyway).
    public func serialized() -> [UInt8] {
        var out = Array("JFS2".utf8)
        out.reserveCapacity(16 + table.count * 8)
        Self.append(UInt64(table.count), bytes: 4, to: &out)
        Self.append(UInt64(additions), bytes: 8, to: &out)
        for word in table { Self.append(word, bytes: 8, to: &out) }
        return out
    }

    /// Replaces the counters with those `serialized()` wrote.
    /// - Returns: false (and changes nothing) when the bytes are not a sketch of this size.
    @discardableResult
    public mutating func restore(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 16, bytes.prefix(4).elementsEqual("JFS2".utf8),
            Self.read(bytes, at: 4, bytes: 4) == UInt64(table.count), bytes.count == 16 + table.count * 8
        else { return false }
        additions = Int(min(Self.read(bytes, at: 8, bytes: 8), UInt64(sampleSize - 1)))
        for i in table.indices { table[i] = Self.read(bytes, at: 16 + i * 8, bytes: 8) }
        return true
    }

    private static func append(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> UInt64(8 * i))) }
    }

    private static func read(_ data: [UInt8], at offset: Int, bytes: Int) -> UInt64 {
        (0..<bytes).reduce(UInt64(0)) { $0 | UInt64(data[offset + $1]) << UInt64(8 * $1) }
    }

    static func powerOfTwo(atLeast n: Int) -> Int {
        var p = 1
        while p < n { p <<= 1 }
        return p
    }
}
