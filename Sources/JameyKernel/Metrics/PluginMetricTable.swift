import CJameyABI
import Synchronization

/// Append-only table of plugin metric series. An id is the slot index plus one; reading a slot is
/// one atomic load and an array read, with no lock, because slots are never moved or reused.
final class PluginMetricTable: @unchecked Sendable {
    static let capacity = 65_536
    private let slots: UnsafeMutablePointer<PluginMetric?>
    private let count = Atomic<Int>(0)
    private let index = Mutex([String: jamey_metric_id]())

    init() {
        slots = .allocate(capacity: Self.capacity)
        slots.initialize(repeating: nil, count: Self.capacity)
    }

    deinit {
        slots.deinitialize(count: Self.capacity)
        slots.deallocate()
    }

    /// Stores `metric` under `key` (or returns the id already stored under it); nil when full.
    func insert(key: String, _ metric: PluginMetric) -> jamey_metric_id? {
        index.withLock { index in
            if let id = index[key] { return id }
            let n = count.load(ordering: .relaxed)
            guard n < Self.capacity else { return nil }
            slots[n] = metric
            count.store(n + 1, ordering: .releasing)
            let id = jamey_metric_id(n + 1)
            index[key] = id
            return id
        }
    }

    func metric(_ id: jamey_metric_id) -> PluginMetric? {
        guard id > 0, id <= UInt64(count.load(ordering: .acquiring)) else { return nil }
        return slots[Int(id - 1)]
    }
}
