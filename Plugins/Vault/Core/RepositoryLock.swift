import Dispatch
import Foundation

/// A lock file in `locks/`: backups take shared ones, prune and rotate an exclusive one, so prune never
/// deletes a pack a running backup has just decided to reuse.
///
/// A run creates its own file first and only then looks at the others, so two runs that start
/// together each see the other (both may back off; neither goes ahead unseen). The file names
/// its holder: host, process id, boot id, the process's start time and its process-id namespace.
/// A lock of this host, this boot and this process-id namespace is held exactly while that
/// process runs (a reused process id has another start time), and removed when it has gone. Any
/// other lock (another host, or a container sharing the host name but not the process ids) is
/// held while its holder keeps touching it (every `refreshEvery`); one not touched for
/// `staleAfter`, or dated that far in the future, is ignored, never removed.
final class RepositoryLock: @unchecked Sendable {
    static let staleAfter: TimeInterval = 300
    static let refreshEvery: TimeInterval = 60
    let url: URL
    private let heartbeat: DispatchSourceTimer
    /// The heartbeat's queue: ``release()`` removes the file on it, so a beat in progress cannot
    /// write the lock again after the release.
    private let queue = DispatchQueue(label: "jamey.vault.lock")
    private var released = false

    private init(url: URL, owner: String) {
        self.url = url
        heartbeat = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.seconds(Int(Self.refreshEvery))
        heartbeat.schedule(deadline: .now() + interval, repeating: interval, leeway: .seconds(5))
        heartbeat.setEventHandler { [weak self, path = url.path] in
            guard let self, !self.released else { return }
            // Touched, or written again when another run removed it meanwhile.
            if utimensat(AT_FDCWD, path, nil, 0) != 0, errno == ENOENT { _ = Self.create(path, owner: owner) }
        }
        heartbeat.resume()
    }

    deinit { heartbeat.cancel() }

    static func acquire(_ layout: RepositoryLayout, kind: String, node: String, now: Date = Date()) throws -> RepositoryLock {
        try FileManager.default.createDirectory(at: layout.locks, withIntermediateDirectories: true)
        let name = "\(kind)-\(node)-\(UUID().uuidString)"
        let url = layout.locks.appendingPathComponent(name)
        let owner = Holder.current.line
        guard create(url.path, owner: owner) else {
            throw VaultError(.io, "cannot create lock \(url.path): \(String(cString: strerror(errno)))")
        }
        let others = live(layout, now: now).filter { $0 != name }
        // prune and rotate (which may replace every pack) run alone.
        let exclusive = ["prune", "rotate"]
        var conflict: String?
        if exclusive.contains(kind), let other = others.first {
            conflict = "repository is locked by \(other) (a backup or prune is running); try again later"
        } else if let holder = others.first(where: { name in exclusive.contains { name.hasPrefix($0 + "-") } }) {
            conflict = "repository is locked by \(holder) (a prune or key rotation is running); try again later"
        }
        if let conflict {
            unlink(url.path)
            throw VaultError(.repository, conflict)
        }
        return RepositoryLock(url: url, owner: owner)
    }

    /// Creates the lock file at `path` holding `owner`; false when it cannot.
    private static func create(_ path: String, owner: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { return false }
        let written = owner.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        return written == owner.utf8.count
    }

    /// Locks held by a running process (see the type's description); a lock of this host whose
    /// process is gone is removed.
    static func live(_ layout: RepositoryLayout, now: Date) -> [String] {
        layout.names(in: layout.locks).filter { name in
            let url = layout.locks.appendingPathComponent(name)
            let text = String(decoding: FileManager.default.contents(atPath: url.path) ?? Data(), as: UTF8.self)
            if let holder = Holder(text), holder.sharesProcessIDs(with: .current) {
                guard holder.isRunning else {
                    try? FileManager.default.removeItem(at: url)
                    return false
                }
                return true
            }
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let modified = attributes?[.modificationDate] as? Date ?? .distantPast
            return abs(now.timeIntervalSince(modified)) < staleAfter
        }
    }

    func release() {
        queue.sync {
            released = true
            heartbeat.cancel()
            try? FileManager.default.removeItem(at: url)
        }
    }

    /// Who holds a lock: one line, `host pid boot-id start-time pid-namespace` (a lock of an
    /// earlier version has only the first two or four).
    struct Holder: Equatable {
        let host: String
        let pid: Int32
        let boot: String?
        let started: String?
        let namespace: String?

        /// This process.
        static let current = Holder(
            host: ProcessInfo.processInfo.hostName, pid: getpid(), boot: bootID(), started: startTime(of: getpid()),
            namespace: pidNamespace())

        init(host: String, pid: Int32, boot: String?, started: String?, namespace: String? = nil) {
            (self.host, self.pid, self.boot, self.started, self.namespace) = (host, pid, boot, started, namespace)
        }

        /// Parses a lock file's text; nil when it is not a holder line.
        init?(_ text: String) {
            let parts = text.split(whereSeparator: \.isWhitespace).map(String.init)
            guard [2, 4, 5].contains(parts.count), let pid = Int32(parts[1]), pid > 0 else { return nil }
            func part(_ i: Int) -> String? { i < parts.count && parts[i] != "-" ? parts[i] : nil }
            self.init(host: parts[0], pid: pid, boot: part(2), started: part(3), namespace: part(4))
        }

        var line: String { "\(host) \(pid) \(boot ?? "-") \(started ?? "-") \(namespace ?? "-")\n" }

        /// Whether `other`'s process ids mean the same processes as this one's: the same host,
        /// boot and process-id namespace, each known (a container with host networking shares
        /// the host name, not the process ids).
        func sharesProcessIDs(with other: Holder) -> Bool {
            guard host == other.host, let boot, let namespace else { return false }
            return boot == other.boot && namespace == other.namespace
        }

        /// This process's process-id namespace (Linux: the inode `/proc/self/ns/pid` names).
        static func pidNamespace() -> String? {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"))
                .map { String($0.filter { $0.isNumber }) }
        }

        /// Whether the process that wrote this (on this host) still runs: the same boot, and a
        /// process of that id started at the same time.
        var isRunning: Bool {
            if let boot, let now = Self.bootID(), boot != "-", boot != now { return false }
            if kill(pid, 0) != 0, errno == ESRCH { return false }
            if let started, started != "-", let now = Self.startTime(of: pid), started != now { return false }
            return true
        }

        /// This boot's id (Linux), nil elsewhere.
        static func bootID() -> String? {
            (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// When process `pid` started, in clock ticks after boot (`/proc/PID/stat`, field 22).
        static func startTime(of pid: Int32) -> String? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 19 ? String(fields[19]) : nil
        }
    }
}

/// A name part that says which process made a scratch file or directory (`<pid>.<start time>`),
/// so a later start can remove what a killed process left without touching what a live one
/// (another instance in this process, during a deploy) is still writing.
public enum ProcessStamp {
    /// This process's stamp.
    public static let current: String = {
        let me = RepositoryLock.Holder.current
        return "\(me.pid).\(me.started ?? "0")"
    }()

    /// Whether the process that wrote `stamp` (on this host, this boot) is gone; a name without
    /// a stamp (an earlier version's) counts as gone.
    public static func isGone(_ stamp: Substring) -> Bool {
        let parts = stamp.split(separator: ".")
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0 else { return true }
        let holder = RepositoryLock.Holder(host: "", pid: pid, boot: nil, started: String(parts[1]))
        return !holder.isRunning
    }

    /// Removes the entries of `directory` named `<prefix><stamp>-...` whose process is gone.
    /// - Returns: the names removed.
    @discardableResult
    public static func removeLeftovers(in directory: URL, prefixes: [String]) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed: [String] = []
        for name in names {
            guard let prefix = prefixes.first(where: { name.hasPrefix($0) }) else { continue }
            let stamp = name.dropFirst(prefix.count).prefix { $0 != "-" }
            guard isGone(stamp) else { continue }
            if (try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))) != nil { removed.append(name) }
        }
        return removed
    }
}
