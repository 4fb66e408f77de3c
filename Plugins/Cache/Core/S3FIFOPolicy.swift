/// S3-FIFO (Yang et al., SOSP 2023): a small FIFO (10 % of capacity) that filters one-hit
/// wonders, a main FIFO with reinsertion for entries read again, and a ghost FIFO of recently
/// evicted hashes that sends returning keys straight to main.
public final class S3FIFOPolicy: EvictionPolicy {
    public let capacity: Int
    private let smallTarget: Int
    private var links = SlotLinks()
    private var small = ListEnds()
    private var main = ListEnds()
    private var weights: [Int32] = []
    private var hashes: [UInt64] = []
    private var frequency: [UInt8] = []
    private var inMain: [Bool] = []
    private var ghost: GhostQueue

    /// - Parameter capacity: the weight kept resident at most.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        smallTarget = max(1, self.capacity / 10)
        ghost = GhostQueue(limit: max(1, self.capacity - smallTarget))
    }

    public var weight: Int { small.weight + main.weight }
    public var bytesPerEntry: Int { 22 }

    public func hit(_ slot: Int32) {
        if frequency[Int(slot)] < 3 { frequency[Int(slot)] += 1 }
    }

    public func insert(_ slot: Int32, hash: UInt64, weight: Int, evicted: inout [Int32]) {
        links.reserve(slot)
        if Int(slot) >= weights.count {
            let n = Int(slot) + 1 - weights.count
            weights.append(contentsOf: repeatElement(0, count: n))
            hashes.append(contentsOf: repeatElement(0, count: n))
            frequency.append(contentsOf: repeatElement(0, count: n))
            inMain.append(contentsOf: repeatElement(false, count: n))
        }
        while self.weight + weight > capacity, small.count + main.count > 0 { evictOne(&evicted) }
        weights[Int(slot)] = Int32(clamping: weight)
        hashes[Int(slot)] = hash
        frequency[Int(slot)] = 0
        if ghost.remove(hash) {
            inMain[Int(slot)] = true
            links.pushFront(slot, &main)
            main.weight += weight
        } else {
            inMain[Int(slot)] = false
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
            small.weight -= Int(weights[Int(t)])
            if frequency[Int(t)] > 0 {
                frequency[Int(t)] = 0
                inMain[Int(t)] = true
                links.pushFront(t, &main)
                main.weight += Int(weights[Int(t)])
                if main.weight > capacity - smallTarget, main.count > 1 { evictMain(&evicted) }
            } else {
                ghost.insert(hashes[Int(t)])
                evicted.append(t)
                return
            }
        }
    }

    private func evictMain(_ evicted: inout [Int32]) {
        while main.count > 0 {
            let t = main.tail
            links.unlink(t, &main)
            if frequency[Int(t)] > 0 {
                frequency[Int(t)] -= 1
                links.pushFront(t, &main)
            } else {
                main.weight -= Int(weights[Int(t)])
                evicted.append(t)
                return
            }
        }
    }

    public func remove(_ slot: Int32) {
        if inMain[Int(slot)] {
            links.unlink(slot, &main)
            main.weight -= Int(weights[Int(slot)])
        } else {
            links.unlink(slot, &small)
            small.weight -= Int(weights[Int(slot)])
        }
    }
}

/// A bounded FIFO set of hashes: what S3-FIFO remembers of entries it evicted from its small queue.
struct GhostQueue {
    private var ring: [UInt64]
    private var start = 0
    private var count = 0
    private var members: [UInt64: Int] = [:]

    init(limit: Int) { ring = [UInt64](repeating: 0, count: limit) }

    mutating func insert(_ hash: UInt64) {
        if count == ring.count {
            let old = ring[start]
            if let n = members[old] { members[old] = n > 1 ? n - 1 : nil }
            start = (start + 1) % ring.count
            count -= 1
        }
        ring[(start + count) % ring.count] = hash
        count += 1
        members[hash, default: 0] += 1
    }

    /// Whether `hash` was remembered; forgets it (its ring position ages out harmlessly).
    mutating func remove(_ hash: UInt64) -> Bool {
        members.removeValue(forKey: hash) != nil
    }
}
