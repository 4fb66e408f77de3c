import Foundation

/// A lock file in `locks/`: backups take shared ones, prune and rotate an exclusive one, so prune never
/// deletes a pack a running backup has just decided to reuse. Locks older than `staleAfter`
/// (a killed process) are ignored.
struct RepositoryLock {
    static let staleAfter: TimeInterval = 3600
    let url: URL

    static func acquire(_ layout: RepositoryLayout, kind: String, node: String, now: Date = Date()) throws -> RepositoryLock {
        try FileManager.default.createDirectory(at: layout.locks, withIntermediateDirectories: true)
        let others = live(layout, now: now)
        // prune and rotate (which may replace every pack) run alone.
        let exclusive = ["prune", "rotate"]
        if exclusive.contains(kind), let other = others.first {
            throw VaultError(.repository, "repository is locked by \(other) (a backup or prune is running); try again later")
        }
        if let holder = others.first(where: { name in exclusive.contains { name.hasPrefix($0 + "-") } }) {
            throw VaultError(
                .repository, "repository is locked by \(holder) (a prune or key rotation is running); try again later")
        }
        let url = layout.locks.appendingPathComponent("\(kind)-\(node)-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: url.path, contents: Data("\(host) \(getpid())\n".utf8)) else {
            throw VaultError(.io, "cannot create lock \(url.path)")
        }
        return RepositoryLock(url: url)
    }

    static var host: String { ProcessInfo.processInfo.hostName }

    /// Locks held by a running process: not older than `staleAfter`, and, when taken on this
    /// host, by a process that still exists (a killed backup's lock is removed here).
    static func live(_ layout: RepositoryLayout, now: Date) -> [String] {
        layout.names(in: layout.locks).filter { name in
            let url = layout.locks.appendingPathComponent(name)
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            let modified = attributes?[.modificationDate] as? Date ?? .distantPast
            let parts = String(decoding: FileManager.default.contents(atPath: url.path) ?? Data(), as: UTF8.self)
                .split(whereSeparator: \.isWhitespace)
            if parts.count == 2, parts[0] == host, let pid = Int32(parts[1]), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: url)
                return false
            }
            return now.timeIntervalSince(modified) < staleAfter
        }
    }

    func release() {
        try? FileManager.default.removeItem(at: url)
    }
}
