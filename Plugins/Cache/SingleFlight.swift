import CacheCore
import Synchronization

/// One load per key at a time: concurrent callers for a key that is already loading wait for that
/// load's result instead of starting another. Nothing is remembered after a load finishes, so a
/// failed load is not cached.
final class SingleFlight<Value: Sendable>: Sendable {
    /// By the key's bytes (``CacheKey``), as the tiers tell keys apart.
    private let flights = Mutex<[CacheKey: Task<Result<Value, CacheError>, Never>]>([:])
    private let waitingCount = Atomic<Int>(0)

    /// Callers waiting on a load started by another caller.
    var waiting: Int { waitingCount.load(ordering: .relaxed) }

    /// Runs `load` for `key`, or joins the load already running.
    /// - Returns: the load's result and whether this caller joined another's load.
    func run(
        _ key: String, _ load: @escaping @Sendable () async -> Result<Value, CacheError>
    ) async -> (result: Result<Value, CacheError>, shared: Bool) {
        let key = CacheKey(key)
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
