import Foundation
import JameyPluginKit
import VaultCore

extension VaultPlugin {
    /// Runs scheduled backups until cancelled: the first `first_delay_seconds` after start.
    func runSchedule() async {
        var due = schedule.first(after: Date())
        while !Task.isCancelled, let next = due {
            status.withLock { $0.nextBackup = next }
            while !Task.isCancelled && Date() < next {
                try? await Task.sleep(for: .seconds(min(1, max(0.01, next.timeIntervalSinceNow))))
            }
            if Task.isCancelled { break }
            _ = try? await backupNow(reason: "schedule")
            due = schedule.next(after: max(next, Date()))
        }
    }

    /// Backs up every plugin's data now, then applies retention (and prune when it removed some).
    func backupNow(reason: String) async throws -> BackupResult {
        // Counted as activity from start to end, so that `stop` waits for all of it: between the
        // backup's job and the retention's (and after the last), nothing else is counted, and a
        // stop that returned there let the kernel shut the bus down before the request's reply.
        activity.withLock { $0.jobs += 1 }
        defer { activity.withLock { $0.jobs -= 1 } }
        do {
            let result = try await backupJob()
            metrics.successes.increment()
            metrics.lastSuccess.record(Date().timeIntervalSince1970)
            metrics.duration.recordNanoseconds(Int64(result.seconds * 1e9))
            metrics.bytesAdded.increment(by: result.bytesAdded)
            metrics.lastBytesAdded.record(result.bytesAdded)
            metrics.deduplicated.increment(by: result.chunksDeduplicated)
            status.withLock {
                $0.lastSuccess = Date()
                $0.lastBackup = result
                $0.backups += 1
            }
            context.logger.info(
                "backup (\(reason)) \(result.snapshot.prefix(12)): \(result.totalBytes) bytes, added \(result.bytesAdded), \(String(format: "%.2f", result.seconds)) s"
            )
            do {
                let removed = try await job { [self] in try retentionJob() }
                metrics.removed.increment(by: removed)
            } catch {
                context.logger.warning("retention after backup failed: \(error)")
            }
            return result
        } catch {
            metrics.failures.increment()
            status.withLock {
                $0.lastFailure = Date()
                $0.lastError = "\(error)"
                $0.failures += 1
            }
            context.logger.error("backup (\(reason)) failed: \(error)")
            throw error
        }
    }

    /// Stages a consistent copy of every started plugin's data through the kernel's snapshot
    /// hooks (`plugin_snapshot`; the operator grants `plugins.vault.privileges: [snapshot]`),
    /// backs the copies up, removes them. Plugins without a snapshot hook have no state and are
    /// skipped.
    func backupJob() async throws -> BackupResult {
        // A backup begun before stop runs to its end (stop waits for it, up to stop_wait_ms).
        let cancellation = BackupCancellation()
        try activity.withLock { activity in
            guard !activity.stopping else { throw VaultError(.cancelled, "the vault plugin is stopping; no new backup") }
            activity.backups.append(cancellation)
        }
        defer { activity.withLock { $0.backups.removeAll { $0 === cancellation } } }
        let staging = directory.appendingPathComponent("staging-\(ProcessStamp.current)-\(UUID().uuidString.prefix(8))")
        let outcome: Result<BackupResult, any Error>
        do {
            let sources = try await stage(into: staging)
            let keyURL = nodeKeyURL
            outcome = .success(
                try await job { [self] in
                    let repository = try repository()
                    var writer = try BackupWriter(
                        repository: repository, key: try NodeKey.read(keyURL, settlingRotationIn: repository),
                        headURL: ChainHead.url(forKey: keyURL))
                    writer.cancellation = cancellation
                    return try writer.run(sources: sources, tags: ["plugins"])
                })
        } catch {
            outcome = .failure(error)
        }
        // The copies of every plugin's data (gigabytes for a large memory database): removed on
        // a thread of their own, not on the concurrency pool this task runs on.
        await Self.remove(staging.path)
        return try outcome.get()
    }

    /// Removes a directory tree of staged or restored data on a thread of its own.
    static func remove(_ path: String) async {
        await onOwnThread(named: "vault-remove") { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Runs each started plugin's snapshot hook into `staging/<plugin>`.
    func stage(into staging: URL) async throws -> [BackupSource] {
        _ = try repository()
        var sources: [BackupSource] = []
        for plugin in try context.plugins() where plugin.name != context.name && plugin.state == .started {
            let target = staging.appendingPathComponent(plugin.name)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            if try await snapshot(plugin.name, into: target) {
                sources.append(BackupSource(name: plugin.name, url: target))
            } else {
                try? FileManager.default.removeItem(at: target)
            }
        }
        guard !sources.isEmpty else { throw VaultError(.notFound, "no started plugin has a snapshot hook: nothing to back up") }
        return sources
    }

    /// Runs one plugin's snapshot hook; false when it has none (no state) or stopped meanwhile.
    private func snapshot(_ plugin: String, into target: URL) async throws -> Bool {
        let failure: JameyError
        do {
            try await context.snapshotPlugin(plugin, into: target.path)
            return true
        } catch {
            failure = error
        }
        if failure.code == .unsupported {
            // No hook, no state; but a plugin running isolated has lost its hook, not its state.
            if failure.message.contains("runs isolated") {
                context.logger.warning("vault: skipped \(plugin): \(failure.message)")
            }
            return false
        }
        if failure.code == .state && failure.message.contains("privilege") {
            throw VaultError(
                .repository, "backing up other plugins needs plugins.vault.privileges: [snapshot]: \(failure.message)")
        }
        if failure.code == .state {
            context.logger.warning("vault: skipped \(plugin): \(failure.message)")
            return false
        }
        if let free = Self.scarceSpace(at: target, message: failure.message) {
            throw VaultError(
                .noSpace,
                "snapshot of \(plugin) failed: the disk holding \(target.deletingLastPathComponent().path) is full (\(free / 1_048_576) MiB free); a backup stages a copy of every plugin's data there first, so it needs about the size of the data directory free"
            )
        }
        throw VaultError(.repository, "snapshot of \(plugin) failed: \(failure.message)")
    }

    /// The free bytes at `url` when a snapshot hook's failure looks like a full disk: its message
    /// says so (`No space left on device`: ENOSPC, which JameyGRDB also names for SQLite's
    /// SQLITE_FULL) or under 64 MiB are free. Nil otherwise.
    static func scarceSpace(at url: URL, message: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(url.path, &info) == 0 else { return nil }
        let free = UInt64(info.f_bavail) * UInt64(info.f_frsize)
        return message.contains("No space left on device") || free < 64 << 20 ? free : nil
    }

    /// Applies the configured retention; prunes when it removed snapshots. Returns how many went.
    func retentionJob() throws -> Int {
        let policy = configuration.policy
        guard !policy.isEmpty else { return 0 }
        let maintenance = try maintenance(nodeKeyURL)
        let report = try maintenance.forget(policy: policy, dryRun: false)
        if report.removed > 0 && configuration.pruneAfterForget {
            _ = try maintenance.prune(dryRun: false, identities: try? identities())
        }
        return report.removed
    }
}
