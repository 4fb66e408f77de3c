/// S3-FIFO (Yang et al., SOSP 2023): a small FIFO (10 % of capacity) that filters one-hit
/// wonders, a main FIFO with reinsertion for entries read again, and a ghost FIFO of recently
/// evicted hashes that sends returning keys straight to main.
public final class S3FIFOPolicy: EvictionPolicy {
    public let capacity: Int
    private let smallTarget: Int
    private var links = SlotLinks()
    private var small = ListEnds()
    private var main = ListEnds()
    private var ghost: GhostQueue

    /// - Parameters:
    ///   - capacity: the weight kept resident at most.
    ///   - expectedEntries: how many entries fit (default `capacity`, right when every entry
    ///     weighs 1). The ghost remembers as many hashes as main holds entries, 90 % of these:
    ///     sized by weight instead, a byte-bounded cache's ghost would be sized in bytes
    ///     (a 64 MiB namespace remembering 60 million hashes).
    public init(capacity: Int, expectedEntries: Int? = nil) {
        self.capacity = max(1, capacity)
        smallTarget = max(1, self.capacity / 10)
        let entries = max(1, expectedEntries ?? self.capacity)
        ghost = GhostQueue(limit: max(1, entries - entries / 10))
    }

    /// How many evicted hashes the ghost remembers at most.
    var ghostLimit: Int { ghost.limit }

    /// The memory the ghost's ring holds now, in hashes (it grows as hashes come, up to its limit).
    var ghostAllocated: Int { ghost.allocated }

    public var weight: Int { small.weight + main.weight }
    public var bytesPerEntry: Int { MemoryLayout<SlotLinks.Node>.stride }

    private static let mainBit: UInt8 = 0x4

    private func frequency(_ slot: Int32) -> UInt8 { links.tag(slot) & 3 }
    private func inMain(_ slot: Int32) -> Bool { links.tag(slot) & Self.mainBit != 0 }
    private func set(_ slot: Int32, frequency: UInt8, inMain: Bool) {
        links.setTag(slot, frequency | (inMain ? Self.mainBit : 0))
    }

    public func hit(_ slot: Int32) {
        let f = frequency(slot)
        if f < 3 { set(slot, frequency: f + 1, inMain: inMain(slot)) }
    }

    public func insert(_ slot: Int32, hash: UInt64, weight: Int, evicted: inout [Int32]) {
        while self.weight + weight > capacity, small.count + main.count > 0 { evictOne(&evicted) }
        links.reset(slot, weight: weight, hash: hash)
        if ghost.remove(SlotLinks.fold(hash)) {
            set(slot, frequency: 0, inMain: true)
            links.pushFront(slot, &main)
            main.weight += weight
        } else {
            set(slot, frequency: 0, inMain: false)
            links.pushFront(slot, &small)
            small.weight += weight
        }
    }

    private func evictOne(_ evicted: inout [Int32]) {
        if small.weight >= smallTarget || main.count == 0 {
            evictSmall(&evicted)
        } else {
            evictMain(&evicted)
        }
    }

    private func evictSmall(_ evicted: inout [Int32]) {
        while small.count > 0 {
            let t = small.tail
            links.unlink(t, &small)
            small.weight -= links.weight(t)
            if frequency(t) > 0 {
                set(t, frequency: 0, inMain: true)
                links.pushFront(t, &main)
                main.weight += links.weight(t)
                if main.weight > capacity - smallTarget, main.count > 1 { evictMain(&evicted) }
            } else {
                ghost.insert(links.hash(t))
                evicted.append(t)
                return
            }
        }
    }

    private func evictMain(_ evicted: inout [Int32]) {
        while main.count > 0 {
            let t = main.tail
            links.unlink(t, &main)
            if frequency(t) > 0 {
                set(t, frequency: frequency(t) - 1, inMain: true)
                links.pushFront(t, &main)
            } else {
                main.weight -= links.weight(t)
                evicted.append(t)
                return
            }
        }
    }

    public func remove(_ slot: Int32) {
        if inMain(slot) {
            links.unlink(slot, &main)
            main.weight -= links.weight(slot)
        } else {
            links.unlink(slot, &small)
            small.weight -= links.weight(slot)
        }
    }
}

/// A bounded FIFO set of hashes (folded to 32 bits, `SlotLinks.fold`, as the records keep them): what
/// S3-FIFO remembers of entries it evicted from its small queue.
struct GhostQueue {
    /// How many hashes it remembers at most.
    let limit: Int
    /// The hashes, oldest at `start` once full; grows with the hashes until `limit`, so a ghost
    /// sized for a large cache costs memory only for what was evicted.
    private var ring: [UInt64] = []
    private var start = 0
    private var members: [UInt64: Int] = [:]

    init(limit: Int) { self.limit = max(1, limit) }

    /// The ring's allocated hashes.
    var allocated: Int { ring.capacity }

    mutating func insert(_ hash: UInt64) {
        if ring.count < limit {
            // Doubling, but never past the limit.
            if ring.count == ring.capacity { ring.reserveCapacity(min(limit, max(16, ring.count * 2))) }
            ring.append(hash)
        } else {
            let old = ring[start]
            if let n = members[old] { members[old] = n > 1 ? n - 1 : nil }
            ring[start] = hash
            start = (start + 1) % limit
        }
        members[hash, default: 0] += 1
    }

    /// Whether `hash` was remembered; forgets it (its ring position ages out harmlessly).
    mutating func remove(_ hash: UInt64) -> Bool {
        members.removeValue(forKey: hash) != nil
    }
}
