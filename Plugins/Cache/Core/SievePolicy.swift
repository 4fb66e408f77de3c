/// SIEVE (Zhang et al., NSDI 2024): one FIFO queue with a visited bit per entry and a hand that
/// walks from the tail towards the head, clearing visited bits and evicting the first unvisited
/// entry. A hit only sets a bit, so reads never reorder the queue.
public final class SievePolicy: EvictionPolicy {
    public let capacity: Int
    private var links = SlotLinks()
    private var list = ListEnds()
    private var weights: [Int32] = []
    private var visited: [Bool] = []
    private var hand: Int32 = -1

    /// - Parameter capacity: the weight kept resident at most.
    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public var weight: Int { list.weight }
    public var bytesPerEntry: Int { 13 }

    public func hit(_ slot: Int32) { visited[Int(slot)] = true }

    public func insert(_ slot: Int32, hash: UInt64, weight: Int, evicted: inout [Int32]) {
        links.reserve(slot)
        if Int(slot) >= weights.count {
            let n = Int(slot) + 1 - weights.count
            weights.append(contentsOf: repeatElement(0, count: n))
            visited.append(contentsOf: repeatElement(false, count: n))
        }
        weights[Int(slot)] = Int32(clamping: weight)
        visited[Int(slot)] = false
        while list.weight + weight > capacity, list.tail >= 0 {
            let victim = nextVictim()
            remove(victim)
            evicted.append(victim)
        }
        links.pushFront(slot, &list)
        list.weight += weight
    }

    private func nextVictim() -> Int32 {
        var cursor = hand >= 0 ? hand : list.tail
        while visited[Int(cursor)] {
            visited[Int(cursor)] = false
            let towardsHead = links.before(cursor)
            cursor = towardsHead >= 0 ? towardsHead : list.tail
        }
        hand = cursor  // `remove` moves it on, towards the head
        return cursor
    }

    public func remove(_ slot: Int32) {
        if hand == slot { hand = links.before(slot) }
        links.unlink(slot, &list)
        list.weight -= Int(weights[Int(slot)])
    }
}
