import JameyPluginKit
import Metrics

/// The plugin's metrics (the kernel adds `plugin="consciousness"`).
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `consciousness_processed_total` | counter | `outcome` = processed \| refused \| overloaded |
/// | `consciousness_process_duration_seconds` | histogram | — |
/// | `consciousness_broadcasts_total` | counter | — |
/// | `consciousness_activity` | gauge | — (0 to 1) |
/// | `consciousness_attention_shifts_total` | counter | — |
/// | `consciousness_surprise` | gauge | — (last prediction error, 0 to 1) |
/// | `consciousness_prediction_confidence` | gauge | — |
/// | `consciousness_integration` | gauge | — (last value, about 0 to 0.15) |
/// | `consciousness_higher_order_level` | gauge | — |
/// | `consciousness_memory_records_total` | counter | `outcome` = stored \| no_responder \| failed |
struct ConsciousnessMetrics: Sendable {
    let processed: Counter
    let refused: Counter
    let overloaded: Counter
    let duration: Metrics.Timer
    let broadcasts: Counter
    let activity: Gauge
    let shifts: Counter
    let surprise: Gauge
    let confidence: Gauge
    let integration: Gauge
    let higherOrder: Gauge
    private let memory: [String: Counter]

    init(factory: HostMetricsFactory) {
        func outcome(_ name: String) -> Counter {
            Counter(label: "consciousness_processed_total", dimensions: [("outcome", name)], factory: factory)
        }
        processed = outcome("processed")
        refused = outcome("refused")
        overloaded = outcome("overloaded")
        duration = Metrics.Timer(label: "consciousness_process_duration_seconds", factory: factory)
        broadcasts = Counter(label: "consciousness_broadcasts_total", factory: factory)
        activity = Gauge(label: "consciousness_activity", factory: factory)
        shifts = Counter(label: "consciousness_attention_shifts_total", factory: factory)
        surprise = Gauge(label: "consciousness_surprise", factory: factory)
        confidence = Gauge(label: "consciousness_prediction_confidence", factory: factory)
        integration = Gauge(label: "consciousness_integration", factory: factory)
        higherOrder = Gauge(label: "consciousness_higher_order_level", factory: factory)
        var memory: [String: Counter] = [:]
        for name in ["stored", "no_responder", "failed"] {
            memory[name] = Counter(label: "consciousness_memory_records_total", dimensions: [("outcome", name)], factory: factory)
        }
        self.memory = memory
    }

    /// Counts one attempt to store a broadcast in memory.
    func recorded(_ outcome: String) { memory[outcome]?.increment() }
}

extension ConsciousnessMetrics {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "consciousness_processed_total": "Inputs, by outcome (processed, refused, overloaded)",
        "consciousness_process_duration_seconds": "Time to process one input",
        "consciousness_broadcasts_total": "Contents broadcast from the global workspace",
        "consciousness_activity": "Workspace activity, 0 to 1",
        "consciousness_attention_shifts_total": "Shifts of attention to another focus",
        "consciousness_surprise": "Last prediction error, 0 to 1",
        "consciousness_prediction_confidence": "Confidence of the last prediction, 0 to 1",
        "consciousness_integration": "Last integration measure (about 0 to 0.15)",
        "consciousness_higher_order_level": "Level of the last higher-order thought",
        "consciousness_memory_records_total": "Broadcasts sent to the memory plugin, by outcome (stored, no_responder, failed)",
    ]
}
