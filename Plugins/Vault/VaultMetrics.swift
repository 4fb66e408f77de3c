import JameyPluginKit
import Metrics

/// The plugin's metrics (the kernel adds `plugin="vault"`).
///
/// | metric | kind |
/// |---|---|
/// | `vault_backups_total` | counter, `outcome` = success \| failure |
/// | `vault_last_success_timestamp_seconds` | gauge |
/// | `vault_backup_duration_seconds` | timer |
/// | `vault_backup_bytes_added_total` | counter (plaintext bytes of new chunks) |
/// | `vault_last_backup_bytes_added` | gauge |
/// | `vault_chunks_deduplicated_total` | counter |
/// | `vault_snapshots_removed_total` | counter (by retention) |
struct VaultMetrics: Sendable {
    let successes: Counter
    let failures: Counter
    let lastSuccess: Gauge
    let duration: Metrics.Timer
    let bytesAdded: Counter
    let lastBytesAdded: Gauge
    let deduplicated: Counter
    let removed: Counter

    init(factory: HostMetricsFactory) {
        successes = Counter(label: "vault_backups_total", dimensions: [("outcome", "success")], factory: factory)
        failures = Counter(label: "vault_backups_total", dimensions: [("outcome", "failure")], factory: factory)
        lastSuccess = Gauge(label: "vault_last_success_timestamp_seconds", factory: factory)
        duration = Metrics.Timer(label: "vault_backup_duration_seconds", factory: factory)
        bytesAdded = Counter(label: "vault_backup_bytes_added_total", factory: factory)
        lastBytesAdded = Gauge(label: "vault_last_backup_bytes_added", factory: factory)
        deduplicated = Counter(label: "vault_chunks_deduplicated_total", factory: factory)
        removed = Counter(label: "vault_snapshots_removed_total", factory: factory)
    }
}

extension VaultMetrics {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "vault_backups_total": "Backups, by outcome (success, failure)",
        "vault_last_success_timestamp_seconds": "Unix time of the last successful backup",
        "vault_backup_duration_seconds": "Time of a backup",
        "vault_backup_bytes_added_total": "Bytes added to the repository by backups",
        "vault_last_backup_bytes_added": "Bytes the last backup added to the repository",
        "vault_chunks_deduplicated_total": "Chunks backups found in the repository already",
        "vault_snapshots_removed_total": "Snapshots removed by retention",
    ]
}
