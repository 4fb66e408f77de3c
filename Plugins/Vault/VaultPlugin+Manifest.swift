import JameyPluginKit

extension VaultPlugin {
    /// Name, version, config schema (`plugins.vault.config`) and HTTP routes.
    public static let manifest = PluginManifest(
        name: "vault",
        version: "1.0.0",
        description: "Phoenix: encrypted (age), deduplicated, verified backups of every plugin's data, on a schedule",
        configuration: [
            .path("repository", default: "", description: "The repository directory (made by `jamey vault init`); empty: idle"),
            .path("node_key", default: "", description: "This node's key file; empty: <data_dir>/vault/node.key"),
            .path(
                "identity", default: "",
                description:
                    "An age identity file, for verify and restore through the API; leave empty so the node cannot read its backups"
            ),
            .object(
                "schedule", description: "When backups run",
                fields: [
                    .int("interval_minutes", default: 1440, range: 0...527_040, description: "Minutes between backups; 0: off"),
                    .string("daily_at", default: "", description: "HH:MM (UTC): back up daily at this time instead"),
                    .int(
                        "first_delay_seconds", default: 60, range: 0...86_400,
                        description: "The first backup this long after start"),
                ]),
            .object(
                "retention", description: "Applied after each backup (restic's forget rules); all 0: keep everything",
                fields: [
                    .int("keep_last", default: 0, range: 0...100_000, description: "Keep the newest N snapshots"),
                    .int(
                        "keep_hourly", default: 24, range: 0...100_000, description: "Keep the newest of each of the last N hours"
                    ),
                    .int("keep_daily", default: 7, range: 0...100_000, description: "... days"),
                    .int("keep_weekly", default: 4, range: 0...100_000, description: "... ISO weeks"),
                    .int("keep_monthly", default: 12, range: 0...100_000, description: "... months"),
                    .int("keep_yearly", default: 0, range: 0...100_000, description: "... years"),
                    .string("keep_within", default: "", description: "Keep everything within this of the newest, e.g. 1y2m3d4h"),
                ]),
            .bool("prune_after_forget", default: true, description: "Free unreferenced packs after retention removed snapshots"),
            .int(
                "stop_wait_ms", default: 4000, range: 0...3_600_000,
                description:
                    "How long stop waits for a running backup before cancelling it cleanly (at most what hooks.stop_timeout_ms leaves, less 750 ms)"
            ),
        ],
        routes: routes,
        metricHelp: VaultMetrics.help
    )

    /// The HTTP routes (admin scope), each forwarded to the bus topic of the same operation.
    static let routes: [PluginManifest.Route] = [
        .init(
            "GET", "/v1/vault/snapshots", topic: Topic.list, scope: "admin", summary: "Vault: list the snapshots",
            operationID: "vaultListSnapshots", responseSchema: Schemas.snapshotList),
        .init(
            "GET", "/v1/vault/snapshots/{id}", topic: Topic.show, scope: "admin", summary: "Vault: show a snapshot",
            operationID: "vaultShowSnapshot", responseSchema: Schemas.snapshotDetail,
            details: "id: a snapshot id, a unique prefix, or latest. Files are listed when the node has the identity."),
        .init(
            "POST", "/v1/vault/backups", topic: Topic.backup, scope: "admin", summary: "Vault: back up now",
            operationID: "vaultBackupNow", requestSchema: Schemas.backupRequest, responseSchema: Schemas.backupResult,
            details: "Runs a backup now (then retention) and answers with what it stored.", longRunning: true),
        .init(
            "POST", "/v1/vault/verify", topic: Topic.verify, scope: "admin", summary: "Vault: verify the repository",
            operationID: "vaultVerify", requestSchema: Schemas.verifyRequest, responseSchema: Schemas.verifyReport,
            details: "Needs the identity. 200 with the report; `ok` false and named problems when something is wrong.",
            longRunning: true),
        .init(
            "POST", "/v1/vault/restore", topic: Topic.restore, scope: "admin", summary: "Vault: restore a snapshot",
            operationID: "vaultRestore", requestSchema: Schemas.restoreRequest, responseSchema: Schemas.restoreResult,
            details:
                "Needs the identity. Restores each source (or one) beside the data into <data_dir>/vault/restores/<snapshot>/<source>.",
            longRunning: true),
        .init(
            "POST", "/v1/vault/forget", topic: Topic.forget, scope: "admin", summary: "Vault: apply retention",
            operationID: "vaultForget", requestSchema: Schemas.forgetRequest, responseSchema: Schemas.forgetReport,
            details: "The configured rules unless the body gives others; dry_run lists what would go and why.",
            longRunning: true),
        .init(
            "POST", "/v1/vault/prune", topic: Topic.prune, scope: "admin", summary: "Vault: free unreferenced data",
            operationID: "vaultPrune", requestSchema: Schemas.pruneRequest, responseSchema: Schemas.pruneReport,
            longRunning: true),
        .init(
            "GET", "/v1/vault/stats", topic: Topic.stats, scope: "admin", summary: "Vault: repository and schedule figures",
            operationID: "vaultStats", responseSchema: Schemas.stats),
    ]

    /// Bus topics this plugin answers.
    enum Topic {
        static let list = "vault.snapshots.list"
        static let show = "vault.snapshots.get"
        static let backup = "vault.backup.run"
        static let verify = "vault.verify.run"
        static let restore = "vault.restore.run"
        static let forget = "vault.forget.run"
        static let prune = "vault.prune.run"
        static let stats = "vault.stats.get"
    }
}
