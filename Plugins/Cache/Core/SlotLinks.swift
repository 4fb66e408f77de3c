/// Doubly linked lists of slots kept in two arrays, so a policy's per-entry links cost 8 bytes and
/// no allocation. A slot is in at most one list at a time; `ListEnds` holds one list's ends.
struct SlotLinks {
    private(set) var prev: [Int32] = []
    private(set) var next: [Int32] = []

    /// Makes room for `slot`.
    @inline(__always) mutating func reserve(_ slot: Int32) {
        let needed = Int(slot) + 1
        if needed > prev.count {
            let grown = max(needed, prev.count * 2, 16)
            prev.append(contentsOf: repeatElement(-1, count: grown - prev.count))
            next.append(contentsOf: repeatElement(-1, count: grown - next.count))
        }
    }

    /// Puts `slot` at the head (most recent end) of `list`.
    @inline(__always) mutating func pushFront(_ slot: Int32, _ list: inout ListEnds) {
        prev[Int(slot)] = -1
        next[Int(slot)] = list.head
        if list.head >= 0 { prev[Int(list.head)] = slot } else { list.tail = slot }
        list.head = slot
        list.count += 1
    }

    /// Takes `slot` out of `list`.
    @inline(__always) mutating func unlink(_ slot: Int32, _ list: inout ListEnds) {
        let p = prev[Int(slot)]
        let n = next[Int(slot)]
        if p >= 0 { next[Int(p)] = n } else { list.head = n }
        if n >= 0 { prev[Int(n)] = p } else { list.tail = p }
        prev[Int(slot)] = -1
        next[Int(slot)] = -1
        list.count -= 1
    }

    /// Moves `slot`, already in `list`, to its head.
    @inline(__always) mutating func moveToFront(_ slot: Int32, _ list: inout ListEnds) {
        guard list.head != slot else { return }
        unlink(slot, &list)
        pushFront(slot, &list)
    }

    /// The slot before `slot` (towards the head), or -1.
    @inline(__always) func before(_ slot: Int32) -> Int32 { prev[Int(slot)] }
}

/// The ends, length and weight of one list in `SlotLinks`.
struct ListEnds {
    var head: Int32 = -1
    var tail: Int32 = -1
    var count = 0
    var weight = 0
}
