/// Least recently used: a hit moves the entry to the head, eviction takes the tail.
public final class LRUPolicy: EvictionPolicy {
    public let capacity: Int
    private var links = SlotLinks()
    private var list = ListEnds()

    /// - Parameter capacity: the weight kept resident at most.
    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public var weight: Int { list.weight }
    public var bytesPerEntry: Int { MemoryLayout<SlotLinks.Node>.stride }

    public func hit(_ slot: Int32) { links.moveToFront(slot, &list) }

    public func insert(_ slot: Int32, hash: UInt64, weight: Int, evicted: inout [Int32]) {
        links.reset(slot, weight: weight, hash: hash)
        links.pushFront(slot, &list)
        list.weight += weight
        while list.weight > capacity, list.tail >= 0 {
            let victim = list.tail
            remove(victim)
            evicted.append(victim)
        }
    }

    public func remove(_ slot: Int32) {
        links.unlink(slot, &list)
        list.weight -= links.weight(slot)
    }
}
