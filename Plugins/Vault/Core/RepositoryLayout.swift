import Foundation

/// Where each kind of file lives in a repository directory. Every file is written once under a
/// unique or content-derived name (via `tmp/` and a rename) and never changed afterwards, so rsync
/// or rclone can copy the directory and several nodes can write into it.
public struct RepositoryLayout: Sendable {
    /// The repository's root directory.
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    var config: URL { root.appendingPathComponent("config") }
    var chunkKey: URL { root.appendingPathComponent("keys/chunk-key.age") }
    var keys: URL { root.appendingPathComponent("keys") }
    var packs: URL { root.appendingPathComponent("packs") }
    var index: URL { root.appendingPathComponent("index") }
    var snapshots: URL { root.appendingPathComponent("snapshots") }
    var forgotten: URL { root.appendingPathComponent("forgotten") }
    var locks: URL { root.appendingPathComponent("locks") }
    var tmp: URL { root.appendingPathComponent("tmp") }

    func pack(_ id: String) -> URL { packs.appendingPathComponent(String(id.prefix(2))).appendingPathComponent(id) }
    func index(_ id: String) -> URL { index.appendingPathComponent(id) }
    func snapshot(_ id: String) -> URL { snapshots.appendingPathComponent(id) }

    /// Writes `data` to `url` through a temporary file, fsync and rename, so a reader never sees half a file.
    func writeOnce(_ data: Data, to url: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        let temporary = tmp.appendingPathComponent(UUID().uuidString)
        guard fm.createFile(atPath: temporary.path, contents: nil) else {
            throw VaultError(.io, "cannot create \(temporary.path)")
        }
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw VaultError(.io, "cannot write \(url.path): \(error)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            throw VaultError(.io, "cannot move \(temporary.lastPathComponent) to \(url.path): errno \(errno)")
        }
        try syncPlacement(of: url)
    }

    /// Syncs the directory `url` was renamed into, and its parent (which may have just gained
    /// that directory, `packs/xx/`): the file is in the repository once the rename lasts.
    func syncPlacement(of url: URL) throws {
        let directory = url.deletingLastPathComponent()
        try DurableFile.syncDirectory(directory)
        if directory.deletingLastPathComponent().path.hasPrefix(root.path) {
            try DurableFile.syncDirectory(directory.deletingLastPathComponent())
        }
    }

    /// The names of the regular files directly in `directory` (or one level of subdirectories for
    /// packs); none when it cannot be listed. Where an empty list would lead to deleting something
    /// (prune), use ``listedNames(in:nested:)``.
    func names(in directory: URL, nested: Bool = false) -> [String] {
        (try? listedNames(in: directory, nested: nested)) ?? []
    }

    /// ``names(in:nested:)``, but a directory that cannot be listed (gone, unreadable, not a
    /// directory, an I/O error) is an error naming it rather than an empty list.
    /// - Parameter missingIsEmpty: a directory that does not exist at all lists as empty (one a
    ///   copy tool such as rclone left out because it was empty: `forgotten/` before any forget).
    func listedNames(in directory: URL, nested: Bool = false, missingIsEmpty: Bool = false) throws(VaultError) -> [String] {
        var info = stat()
        if missingIsEmpty, lstat(directory.path, &info) != 0, errno == ENOENT { return [] }
        func list(_ url: URL) throws(VaultError) -> [String] {
            do {
                return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }
            } catch {
                let reason = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.localizedDescription
                throw VaultError(.io, "cannot list \(url.path): \(reason ?? error.localizedDescription)")
            }
        }
        let entries = try list(directory)
        guard nested else { return entries.sorted() }
        var names: [String] = []
        for sub in entries { names += try list(directory.appendingPathComponent(sub)) }
        return names.sorted()
    }
}

/// The repository's `config` file: written once by `init`.
public struct RepositoryConfig: Codable, Sendable {
    /// Format version (1).
    public var version: Int
    /// A random id naming this repository in node state.
    public var id: String
    /// Recipients (`age1...`) every pack and manifest body is encrypted to.
    public var recipients: [String]
    /// When the repository was created.
    public var created: Date
}

enum JSONCoding {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.dataEncodingStrategy = .base64
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        decoder.dataDecodingStrategy = .base64
        return decoder
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        do {
            return try decoder().decode(type, from: data)
        } catch {
            throw VaultError(.badInput, "\(what) is not valid: \(error)")
        }
    }
}
