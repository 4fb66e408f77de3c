/// A growable FIFO ring: O(1) append and removal at the front, storage reused once grown.
///
/// Mailboxes and the worker run queue use it; it grows by doubling, so a subscription pays for
/// its depth, not for its capacity, and a mailbox releases its storage when a burst has drained
/// (``shrinkIfEmpty(above:)``).
struct RingBuffer<Element> {
    private var storage: ContiguousArray<Element?> = []
    private var head = 0
    /// Number of queued elements.
    private(set) var count = 0

    /// Whether nothing is queued.
    var isEmpty: Bool { count == 0 }

    /// Appends `element` at the back.
    @inline(__always)
    mutating func append(_ element: consuming Element) {
        if count == storage.count { grow() }
        var tail = head + count
        if tail >= storage.count { tail -= storage.count }
        storage[tail] = element
        count += 1
    }

    /// Removes and returns the front element, if any.
    @inline(__always)
    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head].take()
        head += 1
        if head == storage.count { head = 0 }
        count -= 1
        return element
    }

    /// Moves up to `limit` front elements into `target`, in order.
    mutating func popFirst(upTo limit: Int, into target: inout [Element]) {
        var remaining = Swift.min(limit, count)
        while remaining > 0, let element = popFirst() {
            target.append(element)
            remaining -= 1
        }
    }

    /// Removes everything and returns it in order.
    mutating func removeAll() -> [Element] {
        var all: [Element] = []
        all.reserveCapacity(count)
        popFirst(upTo: count, into: &all)
        head = 0
        return all
    }

    /// Slots allocated (for tests: a drained ring gives its memory back).
    var capacity: Int { storage.count }

    /// Releases the storage when the ring is empty and holds more than `limit` slots, so that a
    /// burst does not pin its peak memory for the life of the queue.
    /// - Returns: the number of slots released (0 when nothing was).
    mutating func shrinkIfEmpty(above limit: Int) -> Int {
        guard count == 0, storage.count > limit else { return 0 }
        let released = storage.count
        storage = []
        head = 0
        return released
    }

    private mutating func grow() {
        let newCapacity = Swift.max(16, storage.count * 2)
        var grown = ContiguousArray<Element?>(repeating: nil, count: newCapacity)
        for offset in 0..<count {
            var index = head + offset
            if index >= storage.count { index -= storage.count }
            grown[offset] = storage[index].take()
        }
        storage = grown
        head = 0
    }
}

extension RingBuffer: Sendable where Element: Sendable {}
