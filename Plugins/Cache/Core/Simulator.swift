/// Replays a trace through a policy and counts misses.
public enum Simulator {
    /// The outcome of one replay.
    public struct Result: Sendable, Equatable {
        /// Requests replayed.
        public var requests = 0
        /// Requests that missed.
        public var misses = 0
        /// Bytes requested and bytes missed.
        public var bytes = 0
        public var missedBytes = 0
        /// misses / requests.
        public var missRatio: Double { requests == 0 ? 0 : Double(misses) / Double(requests) }
        /// missedBytes / bytes.
        public var byteMissRatio: Double { bytes == 0 ? 0 : Double(missedBytes) / Double(bytes) }
    }

    /// The policy names `run` accepts: the cache policies plus `belady` (the offline optimum for
    /// equal sizes, from the trace's next-access field) and `top-k` (the static bound: the `size`
    /// most requested objects resident from the start, counting only their first request as a miss).
    public static var policyNames: [String] { PolicyKind.names + ["belady", "top-k"] }

    /// Replays `trace` through a cache of `size` bytes (object sizes of 0 count as 1).
    /// - Throws: `TraceError` for an unknown policy name or a size below 1.
    public static func run(_ trace: [TraceRequest], policy name: String, size: Int) throws(TraceError) -> Result {
        guard size >= 1 else { throw TraceError("cache size \(size) must be at least 1") }
        switch name.lowercased() {
        case "belady", "opt": return belady(trace, size: size)
        case "top-k", "topk": return topK(trace, size: size)
        default:
            guard let kind = PolicyKind(name: name) else {
                throw TraceError("unknown policy '\(name)' (known: \(policyNames.joined(separator: ", ")))")
            }
            return run(trace, policy: kind.make(capacity: size))
        }
    }

    /// Replays `trace` through `policy` (which must be empty).
    public static func run(_ trace: [TraceRequest], policy: any EvictionPolicy) -> Result {
        let cache = BoundedCache<UInt64, Void>(policy: policy)
        var result = Result()
        for r in trace {
            let w = Int(max(1, r.size))
            result.requests += 1
            result.bytes += w
            if cache.get(r.id, now: 0) == nil {
                result.misses += 1
                result.missedBytes += w
                cache.put(r.id, (), weight: w, ttl: nil, now: 0)
            }
        }
        return result
    }

    static func belady(_ trace: [TraceRequest], size: Int) -> Result {
        var trace = trace
        TraceParser.fillNextAccess(&trace)  // not trusted from the file
        // Resident objects by next use; the furthest is evicted (or not admitted).
        var next: [UInt64: Int64] = [:]
        var heap = MaxHeap()
        var used = 0
        var weights: [UInt64: Int] = [:]
        var result = Result()
        for r in trace {
            let w = Int(max(1, r.size))
            result.requests += 1
            result.bytes += w
            let upcoming = r.nextAccess < 0 ? Int64.max : r.nextAccess
            if next[r.id] != nil {
                next[r.id] = upcoming
                heap.push(upcoming, r.id)
                continue
            }
            result.misses += 1
            result.missedBytes += w
            guard w <= size else { continue }
            next[r.id] = upcoming
            weights[r.id] = w
            used += w
            heap.push(upcoming, r.id)
            while used > size, let (when, id) = heap.pop() {
                guard next[id] == when else { continue }  // stale entry
                next[id] = nil
                used -= weights.removeValue(forKey: id) ?? 0
            }
        }
        return result
    }

    static func topK(_ trace: [TraceRequest], size: Int) -> Result {
        var counts: [UInt64: (count: Int, weight: Int)] = [:]
        for r in trace { counts[r.id, default: (0, Int(max(1, r.size)))].count += 1 }
        var chosen = Set<UInt64>()
        var used = 0
        for (id, c) in counts.sorted(by: { $0.value.count > $1.value.count }) where used + c.weight <= size {
            chosen.insert(id)
            used += c.weight
        }
        var result = Result()
        var seen = Set<UInt64>()
        for r in trace {
            let w = Int(max(1, r.size))
            result.requests += 1
            result.bytes += w
            if !chosen.contains(r.id) || !seen.contains(r.id) {
                result.misses += 1
                result.missedBytes += w
                seen.insert(r.id)
            }
        }
        return result
    }
}

/// A binary max-heap of (priority, id).
struct MaxHeap {
    private var items: [(Int64, UInt64)] = []

    mutating func push(_ priority: Int64, _ id: UInt64) {
        items.append((priority, id))
        var i = items.count - 1
        while i > 0, items[(i - 1) / 2].0 < items[i].0 {
            items.swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }

    mutating func pop() -> (Int64, UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < items.count, items[l].0 > items[m].0 { m = l }
                if r < items.count, items[r].0 > items[m].0 { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
