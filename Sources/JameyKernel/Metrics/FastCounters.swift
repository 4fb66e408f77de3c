import CoreMetrics
import Synchronization

/// The counters of one metric, one per label set (``FastCounter``), rendered into the
/// kernel's exposition beside the registry's (``KernelMetrics/exposition()``).
///
/// The bus counts `jamey_bus_messages_out_total` on every publish. Through swift-metrics and
/// swift-prometheus that is a call through an existential, a retain and release of the handler
/// and an atomic addition, about 80 instructions and three atomic operations: 8 % of a message's
/// whole cost across the ABI (`scripts/bench-gates.sh`, `publish_swift_to_c`). The bus holds a
/// ``FastCounter`` directly instead (``FigureCounter``); the text is the same format.
final class FastCounters: Sendable {
    /// The metric name.
    let name: String
    /// The `# HELP` text.
    let help: String
    private let counters = Mutex<[(labels: String, counter: FastCounter)]>([])

    init(name: String, help: String) {
        self.name = name
        self.help = help
    }

    /// The counter of `dimensions`: the existing one for the same labels, or a new one.
    func counter(dimensions: [(String, String)]) -> FastCounter {
        let labels = dimensions.map { "\($0.0)=\"\(FastHistograms.escaped($0.1))\"" }.joined(separator: ",")
        return counters.withLock { table in
            if let found = table.first(where: { $0.labels == labels }) { return found.counter }
            let made = FastCounter()
            table.append((labels, made))
            return made
        }
    }

    /// Appends the family (`# HELP` and `# TYPE` lines, then one value per label set) in the text format
    /// swift-prometheus writes; nothing while no label set was made.
    func render(into text: inout String) {
        let table = counters.withLock { $0 }
        guard !table.isEmpty else { return }
        text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
        for (labels, counter) in table {
            text += labels.isEmpty ? "\(name) \(counter.value)\n" : "\(name){\(labels)} \(counter.value)\n"
        }
    }
}

/// One label set's counter, a swift-metrics counter handler: a slot of ``ThreadCounters`` (each
/// thread adds to its own, with no locked instruction), or a relaxed atomic when every slot is
/// taken.
final class FastCounter: CounterHandler, Sendable {
    private let slot: Int?
    private let total = Atomic<UInt64>(0)

    init() { slot = ThreadCounters.claim() }

    deinit { if let slot { ThreadCounters.release(slot) } }

    /// Adds `amount` (negative amounts are ignored, as counters only go up).
    @inline(__always)
    func increment(by amount: Int64) {
        guard amount > 0 else { return }
        if let slot {
            ThreadCounters.add(UInt64(amount), slot: slot)
        } else {
            total.add(UInt64(amount), ordering: .relaxed)
        }
    }

    /// Counters are not reset (the kernel's are process totals).
    func reset() {}

    /// The total so far.
    var value: UInt64 {
        if let slot { return ThreadCounters.total(slot: slot) }
        return total.load(ordering: .relaxed)
    }
}
