import JameyPluginKit
import Metrics

/// The plugin's metrics (the kernel adds `plugin="soul"`).
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `soul_entities` | gauge | — |
/// | `soul_trust_mean` | gauge | — (mean trust over every entity) |
/// | `soul_last_trust` | gauge | — (trust of the entity last changed) |
/// | `soul_emotions_recorded_total` | counter | `source` = direct \| conscience |
/// | `soul_decay_runs_total` | counter | — |
/// | `soul_conscience_requests_total` | counter | `outcome` = ok \| no_conscience \| refused \| failed |
struct SoulMetrics: Sendable {
    let entities: Gauge
    let meanTrust: Gauge
    let lastTrust: Gauge
    let recordedDirect: Counter
    let recordedConscience: Counter
    let decayRuns: Counter
    private let conscience: [String: Counter]

    init(factory: HostMetricsFactory) {
        entities = Gauge(label: "soul_entities", factory: factory)
        meanTrust = Gauge(label: "soul_trust_mean", factory: factory)
        lastTrust = Gauge(label: "soul_last_trust", factory: factory)
        recordedDirect = Counter(label: "soul_emotions_recorded_total", dimensions: [("source", "direct")], factory: factory)
        recordedConscience = Counter(
            label: "soul_emotions_recorded_total", dimensions: [("source", "conscience")], factory: factory)
        decayRuns = Counter(label: "soul_decay_runs_total", factory: factory)
        var conscience: [String: Counter] = [:]
        for outcome in ["ok", "no_conscience", "refused", "failed"] {
            conscience[outcome] = Counter(
                label: "soul_conscience_requests_total", dimensions: [("outcome", outcome)], factory: factory)
        }
        self.conscience = conscience
    }

    /// Counts one evaluation asked of the conscience.
    func conscience(_ outcome: String) { conscience[outcome]?.increment() }
}

extension SoulMetrics {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "soul_entities": "Entities known to the soul",
        "soul_trust_mean": "Mean trust over every entity",
        "soul_last_trust": "Trust of the entity changed last",
        "soul_emotions_recorded_total": "Emotions recorded, by source (direct, conscience)",
        "soul_decay_runs_total": "Trust decay runs",
        "soul_conscience_requests_total": "Evaluations asked of the conscience, by outcome (ok, no_conscience, refused, failed)",
    ]
}
