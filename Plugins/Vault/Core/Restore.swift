import Foundation

/// What a restore did.
public struct RestoreResult: Codable, Sendable {
    /// The snapshot restored.
    public var snapshot: String
    /// The source restored.
    public var source: String
    /// Where it now is.
    public var target: String
    /// Where the data that was there before was moved (kept, never deleted), if there was any.
    public var previous: String?
    /// Bytes written.
    public var bytes: Int
    /// Seconds taken.
    public var seconds: Double
}

extension RepositoryReader {
    /// Restores one source of `snapshot` to `target`. The data is written and checked beside the
    /// target first (`.<name>.vault-restore-<id>`), then switched in by rename; what was at
    /// `target` is moved to `<target>.before-restore-<time>`. An interrupted restore leaves the
    /// target as it was and can be run again.
    public func restore(_ snapshot: SnapshotManifest, source: String, to target: URL, now: Date = Date()) throws
        -> RestoreResult
    {
        let started = Date()
        // A source is a plugin's name (or `data`): one path component of the target's parent.
        guard !source.isEmpty, !source.contains("/"), source != ".", source != "..", !source.utf8.contains(0) else {
            throw VaultError(.badInput, "source '\(source)': not a plugin name")
        }
        let body = try snapshot.body(in: repository, identities: identities)
        let files = body.files.filter { $0.source == source }
        guard !files.isEmpty else {
            let names = snapshot.header.sources.joined(separator: ", ")
            throw VaultError(.notFound, "source \(source): not in snapshot \(snapshot.id.prefix(12)) (it holds \(names))")
        }
        let fm = FileManager.default
        let parent = target.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let name = target.lastPathComponent
        // Leftovers of an interrupted run: staging areas never switched in.
        for leftover in (try? fm.contentsOfDirectory(atPath: parent.path)) ?? []
        where leftover.hasPrefix(".\(name).vault-restore-") && !leftover.hasSuffix(".done") {
            try? fm.removeItem(at: parent.appendingPathComponent(leftover))
        }
        let stamp = Self.stamp(now)
        let staging = parent.appendingPathComponent(".\(name).vault-restore-\(snapshot.id.prefix(12))-\(stamp)")
        let bytes = try materialize(files, into: staging)
        var previous: URL?
        if fm.fileExists(atPath: target.path) || (try? fm.destinationOfSymbolicLink(atPath: target.path)) != nil {
            let moved = parent.appendingPathComponent("\(name).before-restore-\(stamp)")
            guard rename(target.path, moved.path) == 0 else {
                throw VaultError(.io, "cannot move \(target.path) aside to \(moved.lastPathComponent): errno \(errno)")
            }
            previous = moved
        }
        guard rename(staging.path, target.path) == 0 else {
            throw VaultError(.io, "cannot switch \(staging.lastPathComponent) into \(target.path): errno \(errno)")
        }
        return RestoreResult(
            snapshot: snapshot.id, source: source, target: target.path, previous: previous?.path, bytes: bytes,
            seconds: Date().timeIntervalSince(started))
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS"
        return formatter.string(from: date)
    }
}
