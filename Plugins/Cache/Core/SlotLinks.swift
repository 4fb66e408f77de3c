/// Per-slot policy metadata in one 16-byte record — list links, the key's hash folded to 32 bits,
/// and the weight with a policy-defined tag in one word — so touching an entry touches one cache
/// line of metadata, and a line holds four records. Doubly linked lists of slots run through the
/// records; a slot is in at most one list at a time, and `ListEnds` holds one list's ends.
struct SlotLinks {
    /// One slot's metadata.
    struct Node {
        var prev: Int32 = -1
        var next: Int32 = -1
        /// The key's hash folded to 32 bits (`SlotLinks.fold`).
        var hash: UInt32 = 0
        /// The weight (high 29 bits; `Node.heavy` when it is kept in `heavyWeights`) and what the
        /// policy wants in the low 3 bits: a region, a visited bit, a small frequency.
        var weightAndTag: UInt32 = 0

        /// The weight field's value for an entry whose weight is kept in `heavyWeights`.
        static let heavy: UInt32 = (1 << 29) - 1
    }

    /// The records, indexed by slot.
    var nodes: [Node] = []
    /// The weights of the rare entries of 512 MiB or more, which do not fit in a record.
    private var heavyWeights: [Int32: Int] = [:]

    /// A 64-bit key hash folded to the 32 bits a record keeps; a hash below 2^32 folds to itself,
    /// so a frequency sketch or a ghost set that folds what it is given sees a record's hash and
    /// the key's full hash as the same key.
    @inline(__always) static func fold(_ hash: UInt64) -> UInt64 { (hash ^ (hash >> 32)) & 0xFFFF_FFFF }

    /// Makes room for `slot` and resets its record with `weight` and `hash`.
    @inline(__always) mutating func reset(_ slot: Int32, weight: Int, hash: UInt64) {
        let needed = Int(slot) + 1
        if needed > nodes.count {
            nodes.append(contentsOf: repeatElement(Node(), count: max(needed, nodes.count * 2, 16) - nodes.count))
        }
        var field = UInt32(clamping: max(0, weight))
        if !heavyWeights.isEmpty { heavyWeights[slot] = nil }
        if field >= Node.heavy {
            heavyWeights[slot] = weight
            field = Node.heavy
        }
        nodes[Int(slot)] = Node(prev: -1, next: -1, hash: UInt32(Self.fold(hash)), weightAndTag: field << 3)
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
        if node.prev >= 0 { sum &+= UInt64(nodes[Int(node.prev)].weightAndTag) }
        if node.next >= 0 { sum &+= UInt64(nodes[Int(node.next)].weightAndTag) }
        return sum
    }

    @inline(__always) func weight(_ slot: Int32) -> Int {
        let field = nodes[Int(slot)].weightAndTag >> 3
        return field == Node.heavy ? heavyWeights[slot] ?? Int(field) : Int(field)
    }
    /// The key's hash, folded to 32 bits (`fold`).
    @inline(__always) func hash(_ slot: Int32) -> UInt64 { UInt64(nodes[Int(slot)].hash) }
    /// The policy's tag (0...7).
    @inline(__always) func tag(_ slot: Int32) -> UInt8 { UInt8(nodes[Int(slot)].weightAndTag & 7) }
    @inline(__always) mutating func setTag(_ slot: Int32, _ tag: UInt8) {
        nodes[Int(slot)].weightAndTag = nodes[Int(slot)].weightAndTag & ~7 | UInt32(tag & 7)
    }
}

/// The ends, length and weight of one list in `SlotLinks`.
struct ListEnds {
    var head: Int32 = -1
    var tail: Int32 = -1
    var count = 0
    var weight = 0
}
