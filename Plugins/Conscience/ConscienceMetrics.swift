import JameyPluginKit
import Metrics

/// The plugin's metrics, through the kit's factory (the kernel adds `plugin="conscience"`; the
/// `jamey_` prefix is reserved for the kernel's own, so these start with `conscience_`).
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `conscience_evaluations_total` | counter | `verdict` = approved \| rejected |
/// | `conscience_evaluation_refused_total` | counter | — (texts refused as invalid) |
/// | `conscience_evaluation_duration_seconds` | histogram | — |
/// | `conscience_last_score` | gauge | — |
/// | `conscience_rules` | gauge | — (rules loaded) |
/// | `conscience_rule_changes_total` | counter | `operation` = create \| update \| delete |
/// | `conscience_memory_records_total` | counter | `outcome` = stored \| no_responder \| timeout \| failed \| read_only_caller |
struct ConscienceMetrics: Sendable {
    let approved: Counter
    let rejected: Counter
    let refused: Counter
    let duration: Metrics.Timer
    let lastScore: Gauge
    let rules: Gauge
    private let changes: [String: Counter]
    private let memory: [String: Counter]

    /// Registers every metric with `factory`.
    init(factory: HostMetricsFactory) {
        approved = Counter(label: "conscience_evaluations_total", dimensions: [("verdict", "approved")], factory: factory)
        rejected = Counter(label: "conscience_evaluations_total", dimensions: [("verdict", "rejected")], factory: factory)
        refused = Counter(label: "conscience_evaluation_refused_total", factory: factory)
        duration = Metrics.Timer(label: "conscience_evaluation_duration_seconds", factory: factory)
        lastScore = Gauge(label: "conscience_last_score", factory: factory)
        rules = Gauge(label: "conscience_rules", factory: factory)
        var changes: [String: Counter] = [:]
        for operation in ["create", "update", "delete"] {
            changes[operation] = Counter(
                label: "conscience_rule_changes_total", dimensions: [("operation", operation)], factory: factory)
        }
        self.changes = changes
        var memory: [String: Counter] = [:]
        for outcome in MemoryOutcome.allCases {
            memory[outcome.rawValue] = Counter(
                label: "conscience_memory_records_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
        }
        self.memory = memory
    }

    /// Counts a rule change.
    func changed(_ operation: String) { changes[operation]?.increment() }

    /// Counts one attempt to record an evaluation in memory.
    func recorded(_ outcome: MemoryOutcome) { memory[outcome.rawValue]?.increment() }
}

/// What became of an attempt to record an evaluation in memory.
enum MemoryOutcome: String, Sendable, CaseIterable {
    /// The memory plugin stored it.
    case stored
    /// Nothing answers `memory.items.store` (no memory plugin): skipped.
    case noResponder = "no_responder"
    /// The memory plugin did not answer in time.
    case timeout
    /// The memory plugin answered with an error status, or the request failed otherwise.
    case failed
    /// Not sent: the caller held only a read key (`memory.record_read_callers` is off).
    case readOnlyCaller = "read_only_caller"
}

extension ConscienceMetrics {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "conscience_evaluations_total": "Texts evaluated, by verdict (approved, rejected)",
        "conscience_evaluation_refused_total": "Texts refused as invalid input before evaluation",
        "conscience_evaluation_duration_seconds": "Time to evaluate one text against the rules",
        "conscience_last_score": "Score of the last evaluation",
        "conscience_rules": "Moral rules loaded",
        "conscience_rule_changes_total": "Rule changes, by operation (create, update, delete)",
        "conscience_memory_records_total":
            "Evaluations sent to the memory plugin, by outcome (stored, no_responder, timeout, failed; read_only_caller: not sent, the caller held only a read key)",
    ]
}
