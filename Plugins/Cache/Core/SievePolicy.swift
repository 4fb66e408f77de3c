/// SIEVE (Zhang et al., NSDI 2024): one FIFO queue with a visited bit per entry and a hand that
/// walks from the tail towards the head, clearing visited bits and evicting the first unvisited
/// entry. A hit only sets a bit, so reads never reorder the queue.
public final class SievePolicy: EvictionPolicy {
    public let capacity: Int
    private var links = SlotLinks()
    private var list = ListEnds()
    private var hand: Int32 = -1

    /// - Parameter capacity: the weight kept resident at most.
    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public var weight: Int { list.weight }
    public var bytesPerEntry: Int { MemoryLayout<SlotLinks.Node>.stride }

    public func hit(_ slot: Int32) { links.setTag(slot, 1) }

    public func insert(_ slot: Int32, hash: UInt64, weight: Int, evicted: inout [Int32]) {
        while list.weight + weight > capacity, list.tail >= 0 {
            let victim = nextVictim()
            remove(victim)
            evicted.append(victim)
        }
        links.reset(slot, weight: weight, hash: hash)
        links.pushFront(slot, &list)
        list.weight += weight
    }

    private func nextVictim() -> Int32 {
        var cursor = hand >= 0 ? hand : list.tail
        while links.tag(cursor) != 0 {
            links.setTag(cursor, 0)
            let towardsHead = links.before(cursor)
            cursor = towardsHead >= 0 ? towardsHead : list.tail
        }
        hand = cursor  // `remove` moves it on, towards the head
        return cursor
    }

    public func remove(_ slot: Int32) {
        if hand == slot { hand = links.before(slot) }
        links.unlink(slot, &list)
        list.weight -= links.weight(slot)
    }
}
