import Foundation
import VaultCore

/// What the vault did last, for health and `/v1/vault/stats`.
struct VaultStatus: Sendable, Codable {
    var lastSuccess: Date?
    var lastFailure: Date?
    var lastError: String?
    var lastBackup: BackupResult?
    var nextBackup: Date?
    var backups = 0
    var failures = 0
}

/// Repository figures for `/v1/vault/stats`.
struct VaultStats: Codable {
    var repository: String
    var node: String
    var snapshots: Int
    var packs: Int
    var packBytes: Int
    var problems: [String]
    /// Backups begun and not finished (staging plugins' snapshots, or writing).
    var backupsRunning: Int
    var status: VaultStatus
}
