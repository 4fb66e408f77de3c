import Foundation
import JameyPluginKit
import PluginReplies
import VaultCore
import VaultSQLite

extension VaultPlugin {
    /// Subscribes every handler; each runs its work on the job queue.
    func subscribeHandlers() throws {
        let bus = context.bus
        try bus.respond(Topic.list) { [self] _ in await answer { try await listSnapshots() } }
        try bus.respond(Topic.show) { [self] request in await answer { try await showSnapshot(request) } }
        try bus.respond(Topic.backup) { [self] request in
            await answer {
                _ = try RequestBody(request.payload, allowed: [], emptyIsObject: true)
                return Reply.json(try await backupNow(reason: "request"))
            }
        }
        try bus.respond(Topic.verify) { [self] request in await answer { try await verify(request) } }
        try bus.respond(Topic.restore) { [self] request in await answer { try await restore(request) } }
        try bus.respond(Topic.forget) { [self] request in await answer { try await forget(request) } }
        try bus.respond(Topic.prune) { [self] request in await answer { try await prune(request) } }
        try bus.respond(Topic.stats) { [self] _ in await answer { try await stats() } }
    }

    /// Runs `body`, turning an error into its problem reply.
    func answer(_ body: () async throws -> Outgoing) async -> Outgoing {
        do {
            return try await body()
        } catch {
            return VaultReply.problem(error)
        }
    }

    /// Once `source` of this snapshot is restored again into `base`, removes the copies of it
    /// that earlier restores left and this one moved aside (a skipped or killed run's): the same
    /// snapshot's data, now there anew. They were kept, so every restore of a snapshot left one
    /// more full copy (1.4 GB after seven restores of a 226 MB cache); removing them before the
    /// restore would lose the only copy should it then fail.
    static func clearScratch(_ base: URL, _ source: String) {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: base.path)) ?? [] where name.hasPrefix("\(source).before-restore-") {
            try? fm.removeItem(at: base.appendingPathComponent(name))
        }
    }

    func listSnapshots() async throws -> Outgoing {
        let list = try await job { [self] in
            try catalog().snapshots.map(SnapshotSummary.init)
        }
        return Reply.json(["snapshots": list])
    }

    func showSnapshot(_ request: Message) async throws -> Outgoing {
        let reference = request.headers["http.param.id"] ?? "latest"
        let identities = try? identities()
        let detail = try await job { [self] in
            let repository = try repository()
            let snapshot = try catalog(repository).find(reference)
            let files = try identities.map { try snapshot.body(in: repository, identities: $0).files.map(FileSummary.init) }
            return SnapshotDetail(snapshot: SnapshotSummary(snapshot), files: files)
        }
        return Reply.json(detail)
    }

    func verify(_ request: Message) async throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["subset", "restore"], emptyIsObject: true)
        var options = VerifyOptions()
        options.subset = try body.string("subset").map(VerifyOptions.parseSubset)
        options.restore = try body.flag("restore") ?? true
        options.databaseCheck = SQLiteTools.check
        options.imageCheck = SQLiteTools.checkImage
        options.scratch = directory
        let identities = try identities()
        let keyURL = nodeKeyURL
        let base = options
        let report = try await job { [self] in
            var options = base
            options.head = try ChainHead.read(ChainHead.url(forKey: keyURL))
            options.node = try NodeKey.read(keyURL).node
            let reader = try RepositoryReader(
                repository: try repository(), identities: identities, chunkKey: try NodeKey.read(keyURL).chunkKey)
            return VerifyAnswer(ok: true, report: reader.verify(options))
        }
        return Reply.json(VerifyAnswer(ok: report.report.ok, report: report.report))
    }

    /// Restores one source (a plugin) or every source of a snapshot. Online (default): the data is
    /// written beside the live data, then the kernel stops the plugin and its dependents, runs its
    /// restore hook on it and starts them again (`plugin_restore`). With `"online": false` the
    /// data is only written to `<data_dir>/vault/restores/<snapshot>/<source>`. The plugin the
    /// request came through (the api plugin for HTTP) is not restored online.
    func restore(_ request: Message) async throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["snapshot", "source", "online"], emptyIsObject: true)
        let reference = try body.string("snapshot") ?? "latest"
        let only = try body.string("source")
        let online = try body.flag("online") ?? true
        let identities = try identities()
        // One restore at a time: two would write the same directories, and each online one
        // stops and starts plugins the other is restoring.
        let admitted = activity.withLock { a -> Bool in
            guard !a.restoring else { return false }
            a.restoring = true
            return true
        }
        guard admitted else {
            throw VaultError(.repository, "a restore is already running: try again when it has finished")
        }
        defer { activity.withLock { $0.restoring = false } }
        let keyURL = nodeKeyURL
        let results = try await job { [self] in
            let repository = try repository()
            let reader = try RepositoryReader(
                repository: repository, identities: identities, chunkKey: try NodeKey.read(keyURL).chunkKey)
            let snapshot = try Self.chosen(reference, reader: reader, keyURL: keyURL)
            let base = directory.appendingPathComponent("restores/\(snapshot.id.prefix(12))")
            return try (only.map { [$0] } ?? snapshot.header.sources).map { source in
                var result = try reader.restore(snapshot, source: source, to: base.appendingPathComponent(source))
                Self.clearScratch(base, source)
                result.previous = nil
                return result
            }
        }
        guard online else { return Reply.json(RestoreAnswer(restored: results, steps: [])) }
        var steps: [String] = []
        // Kept while plugins are being restored, and after a restore that stopped part way (the
        // plugins are then out of step): removed once one completes.
        var journal = RestoreJournal(
            snapshot: results.first?.snapshot ?? "", sources: results.map(\.source), began: Date())
        journal.save(in: directory)
        for result in results {
            // Restoring the plugin that carries this request (the api plugin, for an HTTP call)
            // would stop it while it waits for this reply: leave its files for the operator.
            if result.source == request.source {
                steps.append("skipped \(result.source): it carries this request; its data is in \(result.target)")
                continue
            }
            do {
                steps += try await context.restorePlugin(result.source, from: result.target)
            } catch  where error.code == .notFound {
                // A plugin backed up then and not configured now: the others are restored, and its
                // data waits for the operator (a restore stopped here, after the sources before it).
                steps.append("skipped \(result.source): no plugin of that name is configured; its data is in \(result.target)")
                continue
            } catch {
                interruptedRestore.withLock { $0 = journal.interruption }
                throw VaultError(
                    .repository,
                    "restore of \(result.source) failed after \(steps.count) step(s): \(error.message); the data is in \(result.target)"
                )
            }
            journal.restored.append(result.source)
            journal.save(in: directory)
            await Self.remove(result.target)
        }
        RestoreJournal.clear(in: directory)
        interruptedRestore.withLock { $0 = nil }
        return Reply.json(RestoreAnswer(restored: results, steps: steps))
    }

    /// The snapshot a restore names. `latest` is this node's newest, and is refused when the
    /// repository lost snapshots this node wrote (rolled back, or one deleted from its chain):
    /// the newest left is then not the newest written. A snapshot named by id is restored as
    /// named (its signature was checked).
    static func chosen(_ reference: String, reader: RepositoryReader, keyURL: URL) throws -> SnapshotManifest {
        let node = try NodeKey.read(keyURL).node
        let catalog = SnapshotCatalog(
            repository: reader.repository, chunkKey: reader.chunkKey, head: try ChainHead.read(ChainHead.url(forKey: keyURL)),
            node: node)
        guard reference == "latest" else { return try catalog.find(reference) }
        let lost = catalog.problems.filter { problem in
            problem.kind == .rolledBack || (problem.kind == .snapshotDeleted && problem.subject.hasPrefix(node + "#"))
        }
        if let first = lost.first {
            throw VaultError(
                .tampered,
                "restore of latest refused: \(first.message)\(lost.count > 1 ? " (and \(lost.count - 1) more)" : ""); run verify, then name the snapshot to restore"
            )
        }
        return try catalog.find(reference, node: node)
    }

    func forget(_ request: Message) async throws -> Outgoing {
        let keys = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]
        let body = try RequestBody(
            request.payload, allowed: Set(keys + ["keep_within", "dry_run", "all_nodes"]), emptyIsObject: true)
        var policy = configuration.policy
        if keys.contains(where: { body.members[$0] != nil }) || body.members["keep_within"] != nil {
            policy = RetentionPolicy()
            policy.keepLast = try body.count("keep_last") ?? 0
            policy.keepHourly = try body.count("keep_hourly") ?? 0
            policy.keepDaily = try body.count("keep_daily") ?? 0
            policy.keepWeekly = try body.count("keep_weekly") ?? 0
            policy.keepMonthly = try body.count("keep_monthly") ?? 0
            policy.keepYearly = try body.count("keep_yearly") ?? 0
            policy.keepWithin = try body.string("keep_within")
        }
        let dryRun = try body.flag("dry_run") ?? false
        let allNodes = try body.flag("all_nodes") ?? false
        let chosen = policy
        let keyURL = nodeKeyURL
        let report = try await job { [self] in
            try maintenance(keyURL).forget(
                policy: chosen, dryRun: dryRun, allNodes: allNodes)
        }
        return Reply.json(report)
    }

    func prune(_ request: Message) async throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["dry_run"], emptyIsObject: true)
        let dryRun = try body.flag("dry_run") ?? false
        let identities = try? identities()
        let keyURL = nodeKeyURL
        let report = try await job { [self] in
            try maintenance(keyURL).prune(
                dryRun: dryRun, identities: identities)
        }
        return Reply.json(report)
    }

    func stats() async throws -> Outgoing {
        let current = status.withLock { $0 }
        let running = activity.withLock { $0.backups.count }
        let keyURL = nodeKeyURL
        let stats = try await job { [self] in
            let repository = try repository()
            let catalog = try catalog(repository)
            let packs = repository.packSizes()
            return VaultStats(
                repository: repository.layout.root.path, node: (try? NodeKey.read(keyURL).node) ?? "",
                snapshots: catalog.snapshots.count,
                packs: packs.count, packBytes: packs.values.reduce(0, +), problems: catalog.problems.map(\.description),
                backupsRunning: running, status: current)
        }
        return Reply.json(stats)
    }
}

/// A file in a snapshot's detail.
struct FileSummary: Codable, Sendable {
    var source: String
    var path: String
    var type: String
    var size: Int
    var sha256: String?

    init(_ entry: FileEntry) {
        (source, path, type, size, sha256) = (entry.source, entry.path, entry.type, entry.size, entry.sha256)
    }
}

/// A snapshot with its files (when the node has the identity).
struct SnapshotDetail: Codable, Sendable {
    var snapshot: SnapshotSummary
    var files: [FileSummary]?
}

/// The restore reply: what was written, and the kernel's steps when it was restored online.
struct RestoreAnswer: Codable, Sendable {
    var restored: [RestoreResult]
    var steps: [String]
}

/// The verify reply.
struct VerifyAnswer: Codable, Sendable {
    var ok: Bool
    var report: VerifyReport
}
