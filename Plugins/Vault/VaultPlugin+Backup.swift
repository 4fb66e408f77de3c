import Foundation
import JameyPluginKit
import VaultCore
import VaultSQLite

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
        do {
            let result = try await job { [self] in try backupJob() }
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

    /// Stages a consistent copy of each plugin's data, backs it up, removes the staging copy.
    func backupJob() throws -> BackupResult {
        let repository = try repository()
        let staging = directory.appendingPathComponent("staging")
        try? FileManager.default.removeItem(at: staging)
        defer { try? FileManager.default.removeItem(at: staging) }
        let sources = try stage(into: staging)
        let writer = try BackupWriter(
            repository: repository, key: try NodeKey.read(nodeKeyURL), headURL: ChainHead.url(forKey: nodeKeyURL))
        return try writer.run(sources: sources, tags: ["plugin"])
    }

    /// Copies each plugin's data directory (`<data_dir>/<plugin>`, the vault's own excluded) into
    /// `staging/<plugin>`: SQLite databases through the online backup API (consistent while the
    /// plugin writes, committed WAL content included, `-wal`/`-shm` not needed), other files as they are.
    func stage(into staging: URL) throws -> [BackupSource] {
        let fm = FileManager.default
        let dataDir = directory.deletingLastPathComponent()
        var sources: [BackupSource] = []
        for plugin in try fm.contentsOfDirectory(atPath: dataDir.path).sorted() where plugin != directory.lastPathComponent {
            let from = dataDir.appendingPathComponent(plugin)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: from.path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            let to = staging.appendingPathComponent(plugin)
            try copyTree(from, to)
            sources.append(BackupSource(name: plugin, url: to))
        }
        return sources
    }

    private func copyTree(_ from: URL, _ to: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: to, withIntermediateDirectories: true)
        let names = try fm.contentsOfDirectory(atPath: from.path).sorted()
        let databases = Set(names.filter { isSQLite(from.appendingPathComponent($0)) })
        for name in names {
            let source = from.appendingPathComponent(name)
            let target = to.appendingPathComponent(name)
            if databases.contains(name) {
                try SQLiteTools.copy(source, to: target)
                continue
            }
            if let base = ["-wal", "-shm", "-journal"].first(where: { name.hasSuffix($0) }).map({
                String(name.dropLast($0.count))
            }),
                databases.contains(base)
            {
                continue
            }
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                try copyTree(source, target)
            } else {
                try fm.copyItem(at: source, to: target)
            }
        }
    }

    private func isSQLite(_ url: URL) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 16)) == Data("SQLite format 3\0".utf8)
    }

    /// Applies the configured retention; prunes when it removed snapshots. Returns how many went.
    func retentionJob() throws -> Int {
        let policy = configuration.policy
        guard !policy.isEmpty else { return 0 }
        let maintenance = Maintenance(repository: try repository(), key: try NodeKey.read(nodeKeyURL))
        let report = try maintenance.forget(policy: policy, dryRun: false)
        if report.removed > 0 && configuration.pruneAfterForget {
            _ = try maintenance.prune(dryRun: false, identities: try? identities())
        }
        return report.removed
    }
}
