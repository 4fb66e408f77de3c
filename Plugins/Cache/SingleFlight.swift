import CacheCore
import Synchronization

/// One load per key at a time: concurrent callers for a key that is already loading wait for that
/// load's result instead of starting another. Nothing is remembered after a load finishes, so a
/// failed load is not cached.
final class SingleFlight<Value: Sendable, Generation: Hashable & Sendable>: Sendable {
    /// A load: the key's bytes (``CacheKey``, as the tiers tell keys apart) and the namespace's
    /// invalidation count when it began.
    private struct Flight: Hashable {
        let key: CacheKey
        let generation: Generation
    }

    private let flights = Mutex<[Flight: Task<Result<Value, CacheError>, Never>]>([:])
    private let waitingCount = Atomic<Int>(0)

    /// Callers waiting on a load started by another caller.
    var waiting: Int { waitingCount.load(ordering: .relaxed) }

    /// Runs `load` for `key`, or joins the load already running for it since the same
    /// `generation` (the namespace's count of invalidations and puts): a read that follows an
    /// invalidation or a put does not take the value of a load begun before it.
    /// - Returns: the load's result and whether this caller joined another's load.
    func run(
        _ key: String, generation: Generation, _ load: @escaping @Sendable () async -> Result<Value, CacheError>
    ) async -> (result: Result<Value, CacheError>, shared: Bool) {
        let key = Flight(key: CacheKey(key), generation: generation)
        let (task, joined) = flights.withLock { map in
            if let running = map[key] { return (running, true) }
            let task = Task { [self] in
                let result = await load()
                flights.withLock { _ = $0.removeValue(forKey: key) }
                return result
            }
            map[key] = task
            return (task, false)
        }
        if joined { waitingCount.add(1, ordering: .relaxed) }
        let result = await task.value
        if joined { waitingCount.subtract(1, ordering: .relaxed) }
        return (result, joined)
    }
}
