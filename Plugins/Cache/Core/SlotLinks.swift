/// Per-slot policy metadata in one 24-byte record — list links, weight, a policy-defined tag and
/// the key's hash — so touching an entry touches one cache line of metadata. Doubly linked lists
/// of slots run through the records; a slot is in at most one list at a time, and `ListEnds`
/// holds one list's ends.
struct SlotLinks {
    /// One slot's metadata.
    struct Node {
        var prev: Int32 = -1
        var next: Int32 = -1
        var weight: Int32 = 0
        /// What the policy wants: a region, a visited bit, a small frequency.
        var tag: UInt8 = 0
        var hash: UInt64 = 0
    }

    /// The records, indexed by slot.
    var nodes: [Node] = []

    /// Makes room for `slot` and resets its record with `weight` and `hash`.
    @inline(__always) mutating func reset(_ slot: Int32, weight: Int, hash: UInt64) {
        let needed = Int(slot) + 1
        if needed > nodes.count {
            nodes.append(contentsOf: repeatElement(Node(), count: max(needed, nodes.count * 2, 16) - nodes.count))
        }
        nodes[Int(slot)] = Node(prev: -1, next: -1, weight: Int32(clamping: weight), tag: 0, hash: hash)
    }

    /// Puts `slot` at the head (most recent end) of `list`.
    @inline(__always) mutating func pushFront(_ slot: Int32, _ list: inout ListEnds) {
        nodes[Int(slot)].prev = -1
        nodes[Int(slot)].next = list.head
        if list.head >= 0 { nodes[Int(list.head)].prev = slot } else { list.tail = slot }
        list.head = slot
        list.count += 1
    }

    /// Takes `slot` out of `list`.
    @inline(__always) mutating func unlink(_ slot: Int32, _ list: inout ListEnds) {
        let p = nodes[Int(slot)].prev
        let n = nodes[Int(slot)].next
        if p >= 0 { nodes[Int(p)].next = n } else { list.head = n }
        if n >= 0 { nodes[Int(n)].prev = p } else { list.tail = p }
        nodes[Int(slot)].prev = -1
        nodes[Int(slot)].next = -1
        list.count -= 1
    }

    /// Moves `slot`, already in `list`, to its head.
    @inline(__always) mutating func moveToFront(_ slot: Int32, _ list: inout ListEnds) {
        guard list.head != slot else { return }
        unlink(slot, &list)
        pushFront(slot, &list)
    }

    /// The slot before `slot` (towards the head), or -1.
    @inline(__always) func before(_ slot: Int32) -> Int32 { nodes[Int(slot)].prev }

    /// Loads the records before and after `slot` (so a move that follows finds them in the cache).
    @inline(__always) func touchNeighbours(_ slot: Int32) -> UInt64 {
        let node = nodes[Int(slot)]
        var sum: UInt64 = 0
        if node.prev >= 0 { sum &+= UInt64(nodes[Int(node.prev)].tag) }
        if node.next >= 0 { sum &+= UInt64(nodes[Int(node.next)].tag) }
        return sum
    }

    @inline(__always) func weight(_ slot: Int32) -> Int { Int(nodes[Int(slot)].weight) }
    @inline(__always) func hash(_ slot: Int32) -> UInt64 { nodes[Int(slot)].hash }
    @inline(__always) func tag(_ slot: Int32) -> UInt8 { nodes[Int(slot)].tag }
    @inline(__always) mutating func setTag(_ slot: Int32, _ tag: UInt8) { nodes[Int(slot)].tag = tag }
}

/// The ends, length and weight of one list in `SlotLinks`.
struct ListEnds {
    var head: Int32 = -1
    var tail: Int32 = -1
    var count = 0
    var weight = 0
}
