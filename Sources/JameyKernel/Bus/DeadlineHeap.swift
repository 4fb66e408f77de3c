/// A binary min-heap of pending requests ordered by deadline, with O(log n) removal of any
/// element (each request remembers its position).
struct DeadlineHeap {
    private var items: [PendingRequest] = []

    /// Whether the heap is empty.
    var isEmpty: Bool { items.isEmpty }
    /// Number of requests in the heap.
    var count: Int { items.count }
    /// The request with the earliest deadline.
    var first: PendingRequest? { items.first }

    /// Adds `request`.
    mutating func insert(_ request: PendingRequest) {
        request.heapIndex = items.count
        items.append(request)
        siftUp(items.count - 1)
    }

    /// Removes and returns the request with the earliest deadline.
    mutating func popFirst() -> PendingRequest? {
        guard !items.isEmpty else { return nil }
        return remove(items[0])
    }

    /// Removes `request` if it is in the heap.
    @discardableResult
    mutating func remove(_ request: PendingRequest) -> PendingRequest? {
        let index = request.heapIndex
        guard index >= 0, index < items.count, items[index] === request else { return nil }
        let last = items.count - 1
        if index != last {
            items.swapAt(index, last)
            items[index].heapIndex = index
        }
        items.removeLast()
        request.heapIndex = -1
        if index < items.count {
            siftDown(index)
            siftUp(index)
        }
        return request
    }

    /// Removes and returns everything, in no particular order.
    mutating func removeAll() -> [PendingRequest] {
        let all = items
        items.removeAll()
        for request in all { request.heapIndex = -1 }
        return all
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { return }
            swapItems(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, items[left].deadline < items[smallest].deadline { smallest = left }
            if right < items.count, items[right].deadline < items[smallest].deadline { smallest = right }
            if smallest == parent { return }
            swapItems(parent, smallest)
            parent = smallest
        }
    }

    private mutating func swapItems(_ a: Int, _ b: Int) {
        items.swapAt(a, b)
        items[a].heapIndex = a
        items[b].heapIndex = b
    }
}
