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
    /// target first (`.<name>.vault-restore-<id>`), then switched in; what was at `target` is
    /// moved to `<target>.before-restore-<time>` (kept, never deleted).
    ///
    /// The switch is one atomic exchange of the two names (`renameat2` with `RENAME_EXCHANGE`),
    /// so no crash leaves `target` missing: with two renames, one killed between them left no
    /// data directory, and the plugin started again on an empty one. The staging area carries a
    /// note beside it (`<staging>.staging`) until just before the exchange: a leftover with its
    /// note was never switched in and is deleted by the next run; one without holds data that
    /// was at `target` (exchanged out, or in the moment before) and is kept as a
    /// `before-restore` copy. A file system without the exchange gets the two renames.
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
        let stamp = Self.stamp(now)
        try Self.settleLeftovers(of: name, in: parent, stamp: stamp)
        let staging = parent.appendingPathComponent(".\(name).vault-restore-\(snapshot.id.prefix(12))-\(stamp)")
        let note = URL(fileURLWithPath: staging.path + Self.stagingNote)
        try DurableFile.replace(note, with: Data())
        let bytes = try materialize(files, into: staging)
        var previous: URL?
        var switched = false
        let exists = fm.fileExists(atPath: target.path) || (try? fm.destinationOfSymbolicLink(atPath: target.path)) != nil
        // From here a leftover staging area is taken for data that was at the target.
        // (The removal reaches the disk before the exchange: after a power cut, a note back beside
        // data exchanged out would have it deleted.)
        guard unlink(note.path) == 0 else { throw VaultError(.io, "cannot remove \(note.lastPathComponent): errno \(errno)") }
        try DurableFile.syncDirectory(parent)
        defer { try? DurableFile.syncDirectory(parent) }
        if exists {
            let moved = parent.appendingPathComponent("\(name).before-restore-\(stamp)")
            switched = Self.exchange(staging.path, target.path)
            // Exchanged, the old data is under the staging name; otherwise still at the target.
            let old = switched ? staging : target
            guard rename(old.path, moved.path) == 0 else {
                throw VaultError(.io, "cannot move the old \(name) aside to \(moved.lastPathComponent): errno \(errno)")
            }
            previous = moved
        }
        guard switched || rename(staging.path, target.path) == 0 else {
            throw VaultError(.io, "cannot switch \(staging.lastPathComponent) into \(target.path): errno \(errno)")
        }
        return RestoreResult(
            snapshot: snapshot.id, source: source, target: target.path, previous: previous?.path, bytes: bytes,
            seconds: Date().timeIntervalSince(started))
    }

    /// The suffix of the note beside a staging area that was never switched in.
    static let stagingNote = ".staging"

    /// Deals with what an interrupted restore of `name` left in `parent`: a staging area with
    /// its note is deleted (with the note); one without is data that was at the target, kept as
    /// `<name>.before-restore-<stamp>-interrupted-<n>`.
    static func settleLeftovers(of name: String, in parent: URL, stamp: String) throws {
        let fm = FileManager.default
        let entries = (try? fm.contentsOfDirectory(atPath: parent.path)) ?? []
        let prefix = ".\(name).vault-restore-"
        for (index, leftover) in entries.filter({ $0.hasPrefix(prefix) && !$0.hasSuffix(stagingNote) }).sorted().enumerated() {
            let path = parent.appendingPathComponent(leftover)
            if entries.contains(leftover + stagingNote) {
                try? fm.removeItem(at: path)
            } else {
                let kept = parent.appendingPathComponent("\(name).before-restore-\(stamp)-interrupted-\(index)")
                guard rename(path.path, kept.path) == 0 else {
                    throw VaultError(
                        .io,
                        "cannot keep \(leftover) (data an interrupted restore moved) as \(kept.lastPathComponent): errno \(errno)"
                    )
                }
            }
        }
        // Notes whose staging area is gone.
        for note in entries where note.hasPrefix(prefix) && note.hasSuffix(stagingNote) {
            try? fm.removeItem(at: parent.appendingPathComponent(note))
        }
    }

    /// Swaps the names `a` and `b` atomically (both must exist); false when the kernel or the
    /// file system cannot.
    static func exchange(_ a: String, _ b: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        // glibc declares renameat2 only for _GNU_SOURCE, which Swift's Glibc module leaves out.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 1 << 1  // RENAME_EXCHANGE, <linux/fs.h>
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS"
        return formatter.string(from: date)
    }
}
