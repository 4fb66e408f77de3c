import Dispatch
import Foundation
import JameyPluginKit
import Synchronization
import VaultCore

/// The vault plugin ("Phoenix"): backs up every plugin's data into an encrypted, deduplicated,
/// content-addressed repository on a schedule, applies retention after each backup, and answers
/// `/v1/vault/...` (list, show, backup now, verify, restore, forget, prune, stats).
///
/// The node holds only the node key (recipients, chunk key, signing key): it writes backups it
/// cannot read. Verify and restore through the API need `identity` in the config; the offline
/// `jamey vault` commands need only the repository and the identity file.
public final class VaultPlugin: JameyPlugin {
    let context: PluginContext
    let configuration: VaultConfiguration
    let schedule: BackupSchedule
    let metrics: VaultMetrics
    /// `<data_dir>/vault`.
    let directory: URL
    /// Why the plugin cannot back up (no repository or node key), or nil.
    let unavailable: String?
    let status = Mutex(VaultStatus())
    let scheduler = Mutex<Task<Void, Never>?>(nil)
    /// Vault jobs run one at a time on this queue, off the concurrency pool.
    let jobs = DispatchQueue(label: "jamey.vault.jobs")
    /// Jobs queued or running, the running backup's cancellation, and whether stop has begun.
    let activity = Mutex(Activity())
    /// Set while a restore that stopped part way (``RestoreJournal``) leaves plugins out of step.
    let interruptedRestore = Mutex<String?>(nil)

    struct Activity {
        var jobs = 0
        /// The backups begun (staging or writing; a second waits for the job queue).
        var backups: [BackupCancellation] = []
        var stopping = false
        var scheduleRunning = false
        /// A restore request is under way (``restore(_:)`` refuses a second).
        var restoring = false
    }

    /// Reads the config; a missing repository or node key leaves the plugin running but degraded.
    public init(context: PluginContext, configuration: VaultConfiguration) async throws {
        self.context = context
        self.configuration = configuration
        // Checked before init (``problems(in:)``).
        do {
            schedule = try configuration.backupSchedule()
        } catch let error as VaultError {
            throw JameyError(error.message)
        }
        metrics = VaultMetrics(factory: context.metrics)
        directory = URL(fileURLWithPath: try context.dataDirectory())
        unavailable = Self.check(configuration, nodeKeyURL: Self.nodeKeyURL(configuration, directory))
    }

    static func nodeKeyURL(_ configuration: VaultConfiguration, _ directory: URL) -> URL {
        configuration.nodeKey.isEmpty ? directory.appendingPathComponent("node.key") : URL(fileURLWithPath: configuration.nodeKey)
    }

    var nodeKeyURL: URL { Self.nodeKeyURL(configuration, directory) }

    static func check(_ configuration: VaultConfiguration, nodeKeyURL: URL) -> String? {
        guard !configuration.repository.isEmpty else {
            return "no repository configured (plugins.vault.config.repository); see README, Backups"
        }
        do {
            let repository = try Repository(at: URL(fileURLWithPath: configuration.repository))
            let key = try NodeKey.read(nodeKeyURL)
            guard key.repository == repository.config.id else {
                return "node key \(nodeKeyURL.path) belongs to another repository"
            }
        } catch let error as VaultError {
            return error.message
        } catch {
            return "\(error)"
        }
        return nil
    }

    /// Answers the bus topics and starts the schedule.
    public func start() async throws {
        // What a killed process left: copies of every plugin's data (staging) and verify's
        // scratch restores, each as large as the data.
        let removed = ProcessStamp.removeLeftovers(in: directory, prefixes: ["staging-", "jamey-vault-verify-"])
        if !removed.isEmpty {
            context.logger.notice(
                "removed \(removed.count) leftover(s) of an interrupted run: \(removed.joined(separator: ", "))")
        }
        if let left = RestoreJournal.left(in: directory) {
            context.logger.warning("\(left.interruption)")
            interruptedRestore.withLock { $0 = left.interruption }
        }
        try subscribeHandlers()
        if let unavailable {
            context.logger.warning("vault idle: \(unavailable)")
            return
        }
        activity.withLock { $0.scheduleRunning = true }
        let task = Task { [self] in
            await runSchedule()
            activity.withLock { $0.scheduleRunning = false }
        }
        scheduler.withLock { $0 = task }
        context.logger.info("vault started; repository \(configuration.repository)")
    }

    /// Stops the schedule and waits for a running backup to finish, up to `stop_wait_ms` and
    /// within what the kernel's stop deadline leaves (`hookTimeLeft`, less ``stopReserve``); past
    /// that the backup is cancelled at its next segment, so it ends cleanly (no snapshot, nothing
    /// damaged) instead of being abandoned.
    public func stop() async throws {
        let task = scheduler.withLock { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        activity.withLock { $0.stopping = true }
        task?.cancel()
        let clock = ContinuousClock()
        // Within the kernel's stop deadline too, keeping the cancel's grace and a margin: a
        // stop_wait_ms above what the deadline left (the kit's wait for answers comes first) got
        // the plugin abandoned mid-backup.
        var wait = Duration.milliseconds(configuration.stopWaitMs)
        if let left = context.hookTimeLeft { wait = max(.zero, min(wait, left - Self.stopReserve)) }
        let bound = clock.now + wait
        func busy() -> Bool { activity.withLock { $0.jobs > 0 || !$0.backups.isEmpty || $0.scheduleRunning } }
        while busy() && clock.now < bound { try? await Task.sleep(for: .milliseconds(10)) }
        guard busy() else { return }
        let cancelled = activity.withLock { $0.backups }
        for backup in cancelled { backup.cancel() }
        context.logger.warning(
            "vault stop: still busy after \(wait) (stop_wait_ms \(configuration.stopWaitMs), or what the kernel's stop deadline left); \(cancelled.isEmpty ? "not a backup, left to finish" : "backup cancelled cleanly, no snapshot written")"
        )
        let grace = clock.now + .milliseconds(500)
        while busy() && clock.now < grace { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// What a stop keeps of the kernel's deadline after its wait: the cancelled backup's grace
    /// (500 ms) and a margin.
    static let stopReserve = Duration.milliseconds(750)

    /// Ok after a successful backup; degraded when idle or when the last backup failed.
    public func health() -> PluginHealthReport {
        if let interrupted = interruptedRestore.withLock({ $0 }) { return .degraded(interrupted) }
        if let unavailable { return .degraded(unavailable) }
        let status = status.withLock { $0 }
        if let failure = status.lastFailure, failure > (status.lastSuccess ?? .distantPast) {
            return .degraded("last backup failed: \(status.lastError ?? "unknown")")
        }
        if let last = status.lastSuccess { return .ok("last backup \(ISO8601DateFormatter().string(from: last))") }
        return .ok("no backup yet; next \(status.nextBackup.map { ISO8601DateFormatter().string(from: $0) } ?? "not scheduled")")
    }

    /// Runs `body` on the job queue (one job at a time, never on the concurrency pool).
    func job<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        activity.withLock { $0.jobs += 1 }
        return try await withCheckedThrowingContinuation { continuation in
            jobs.async { [self] in
                let result = Result(catching: body)
                activity.withLock { $0.jobs -= 1 }
                continuation.resume(with: result)
            }
        }
    }

    /// The repository's snapshots, their signers checked against the keys it enrolled (with this
    /// node's chunk key).
    func catalog(_ repository: Repository? = nil) throws -> SnapshotCatalog {
        let repository = try repository ?? self.repository()
        return SnapshotCatalog(repository: repository, chunkKey: try NodeKey.read(nodeKeyURL).chunkKey)
    }

    func repository() throws -> Repository {
        if let unavailable { throw VaultError(.repository, "vault is idle: \(unavailable)") }
        return try Repository(at: URL(fileURLWithPath: configuration.repository))
    }

    /// Retention and prune on the repository with the node key of `keyURL` (an interrupted
    /// rotation settled first: forget records are signed, repacked packs encrypted, with it).
    func maintenance(_ keyURL: URL) throws -> Maintenance {
        let repository = try repository()
        return Maintenance(repository: repository, key: try NodeKey.read(keyURL, settlingRotationIn: repository))
    }

    func identities() throws -> [AgeIdentity] {
        guard !configuration.identity.isEmpty else {
            throw VaultError(
                .badKey,
                "this node has no identity (plugins.vault.config.identity): it can write backups, not read them; use `jamey vault` with the identity file"
            )
        }
        let path = configuration.identity
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot be read by this process" : "does not exist"
            throw VaultError(.notFound, "identity file \(path) \(why)")
        }
        // A passphrase-protected identity is an age file itself (binary or armored): it was
        // reported as "cannot be read", beside a file that plainly existed.
        let head = String(decoding: data.prefix(64), as: UTF8.self)
        if head.hasPrefix("age-encryption.org/") || head.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----") {
            throw VaultError(
                .badKey,
                "identity file \(path) is encrypted (a passphrase-protected age identity): the server needs it in plain text; decrypt it with `age -d` into a file only the server's user can read"
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VaultError(.badKey, "identity file \(path) is not text: expected AGE-SECRET-KEY-1... lines")
        }
        return try AgeIdentity.parseFile(text)
    }
}

extension VaultPlugin: ConfigurationChecking {
    /// A schedule or a retention policy that does not parse (`schedule.daily_at`,
    /// `retention.keep_within`). A missing repository or node key is not one: the plugin then runs
    /// idle, reporting it in its health.
    public static func problems(in configuration: VaultConfiguration) -> [String] {
        var found: [String] = []
        let prefix = "plugins.vault.config."
        func add(_ error: any Error, under section: String = "") {
            let message = (error as? VaultError)?.message ?? "\(error)"
            found.append(message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : section + message)
        }
        do { _ = try configuration.backupSchedule() } catch { add(error) }
        do { _ = try configuration.policy.apply([]) } catch { add(error, under: "retention.") }
        return found
    }
}
