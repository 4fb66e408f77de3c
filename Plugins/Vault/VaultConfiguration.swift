import Foundation
import VaultCore

/// The vault plugin's config section (`plugins.vault.config`), decoded after the kernel validated
/// it against ``VaultPlugin/manifest`` (every key present, defaults filled in).
public struct VaultConfiguration: Decodable, Sendable {
    /// The repository directory; empty: not configured (the plugin idles, degraded, until it is).
    var repository: String
    /// The node key file; empty: `<data_dir>/vault/node.key`.
    var nodeKey: String
    /// An identity file, needed only for verify, restore and repacking prune; empty: none on this node.
    var identity: String
    /// When backups run.
    var schedule: Schedule
    /// Retention applied after each backup.
    var retention: Retention
    /// Prune after each forget that removed snapshots.
    var pruneAfterForget: Bool
    /// How long stop waits for a running backup before cancelling it (below `hooks.stop_timeout_ms`).
    var stopWaitMs: Int

    /// The schedule section.
    struct Schedule: Decodable, Sendable {
        var intervalMinutes: Int
        var dailyAt: String
        var firstDelaySeconds: Int
    }

    /// The retention section (restic's forget rules).
    struct Retention: Decodable, Sendable {
        var keepLast: Int
        var keepHourly: Int
        var keepDaily: Int
        var keepWeekly: Int
        var keepMonthly: Int
        var keepYearly: Int
        var keepWithin: String
    }

    /// The schedule these values describe; the error names the field.
    func backupSchedule() throws -> BackupSchedule {
        BackupSchedule(
            interval: TimeInterval(schedule.intervalMinutes * 60),
            dailyAt: try BackupSchedule.parseDaily(schedule.dailyAt, field: "plugins.vault.config.schedule.daily_at"),
            firstDelay: TimeInterval(schedule.firstDelaySeconds))
    }

    /// The retention policy these values describe.
    var policy: RetentionPolicy {
        var policy = RetentionPolicy()
        (policy.keepLast, policy.keepHourly, policy.keepDaily) = (retention.keepLast, retention.keepHourly, retention.keepDaily)
        (policy.keepWeekly, policy.keepMonthly, policy.keepYearly) =
            (retention.keepWeekly, retention.keepMonthly, retention.keepYearly)
        policy.keepWithin = retention.keepWithin.isEmpty ? nil : retention.keepWithin
        return policy
    }
}
