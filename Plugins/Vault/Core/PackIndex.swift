import Foundation

/// Where a chunk lives: its pack and its byte range in the pack's plaintext.
public struct ChunkLocation: Sendable, Hashable {
    /// The pack id (hex SHA-256 of the encrypted pack file).
    public var pack: String
    /// Offset in the decrypted pack.
    public var offset: Int
    /// Length in bytes.
    public var length: Int
}

/// An `index/<pack>` file: the chunks in one pack, authenticated with a MAC under the chunk key
/// (the host cannot forge or reorder it). Binary: magic, count, then 40-byte entries, then the MAC.
struct PackIndexFile {
    static let magic = Data("JVIDX1\n".utf8)
    var entries: [(id: ChunkID, offset: Int, length: Int)]

    func encoded(hasher: ChunkHasher) -> Data {
        var data = Self.magic
        appendUInt32(&data, entries.count)
        for entry in entries {
            data.append(entry.id.bytes)
            appendUInt32(&data, entry.offset)
            appendUInt32(&data, entry.length)
        }
        data.append(hasher.mac(data))
        return data
    }

    init(entries: [(id: ChunkID, offset: Int, length: Int)]) {
        self.entries = entries
    }

    /// Parses and authenticates an index file; the error names the pack.
    init(_ data: Data, pack: String, hasher: ChunkHasher) throws {
        let altered = VaultError(
            .tampered, "index \(pack.prefix(12)): altered (its MAC does not match; entries forged or reordered)")
        guard data.count >= Self.magic.count + 4 + 32, data.prefix(Self.magic.count) == Self.magic else { throw altered }
        let body = data.prefix(data.count - 32)
        guard hasher.mac(body) == data.suffix(32) else { throw altered }
        let count = readUInt32(body, at: Self.magic.count)
        guard body.count == Self.magic.count + 4 + count * 40 else { throw altered }
        entries = (0..<count).map { index in
            let start = body.startIndex + Self.magic.count + 4 + index * 40
            return (
                ChunkID(body[start..<start + 32]), readUInt32(body, at: start + 32 - body.startIndex),
                readUInt32(body, at: start + 36 - body.startIndex)
            )
        }
    }
}

func appendUInt32(_ data: inout Data, _ value: Int) {
    withUnsafeBytes(of: UInt32(value).bigEndian) { data.append(contentsOf: $0) }
}

func readUInt32(_ data: Data, at offset: Int) -> Int {
    let start = data.startIndex + offset
    return data[start..<start + 4].reduce(0) { $0 << 8 | Int($1) }
}

/// Every chunk the repository holds, from its index files.
public struct ChunkIndex: Sendable {
    /// Chunk id to location.
    public private(set) var locations: [ChunkID: ChunkLocation] = [:]
    /// Pack id to its entries' ids.
    public private(set) var packs: [String: [ChunkID]] = [:]
    /// Index files that failed authentication or could not be read, and directories that could
    /// not be listed (named problems for verify).
    public private(set) var problems: [VaultProblem] = []
    /// Packs whose index file exists but could not be read or authenticated: what they hold is
    /// unknown, so prune must not take them for leftovers.
    public private(set) var unverified: Set<String> = []
    /// False when `index/` or `packs/` could not be listed: then this index may miss any pack.
    public private(set) var complete = true
    /// Packs an index names that are not in `packs/` (when it could be listed).
    public private(set) var missing: Set<String> = []

    /// The chunks whose pack is in `packs/` (every indexed chunk when `packs/` could not be listed).
    public var storedChunks: [ChunkID] {
        missing.isEmpty ? Array(locations.keys) : locations.filter { !missing.contains($0.value.pack) }.map(\.key)
    }

    /// Loads every index file.
    public init(repository: Repository, hasher: ChunkHasher) {
        let layout = repository.layout
        var stored: Set<String>?
        do {
            stored = Set(try layout.listedNames(in: layout.packs, nested: true, missingIsEmpty: true))
        } catch {
            complete = false
            problems.append(VaultProblem(.unreadable, subject: "packs", error.message))
        }
        let names: [String]
        do {
            // No index/ at all is an empty index only when no pack is stored either (a copy of a
            // repository without packs); with packs, it would make every pack a leftover.
            names = try layout.listedNames(in: layout.index, missingIsEmpty: stored?.isEmpty == true)
        } catch {
            complete = false
            problems.append(VaultProblem(.unreadable, subject: "index", error.message))
            names = []
        }
        for name in names {
            let data: Data
            do {
                data = try Data(contentsOf: layout.index(name))
            } catch {
                unverified.insert(name)
                problems.append(
                    VaultProblem(
                        .unreadable, subject: name, "index \(name.prefix(12)): cannot be read (\(error.localizedDescription))"))
                continue
            }
            do {
                add(pack: name, try PackIndexFile(data, pack: name, hasher: hasher).entries, stored: stored)
            } catch let error as VaultError {
                unverified.insert(name)
                problems.append(VaultProblem(.indexAltered, subject: name, error.message))
            } catch {
                unverified.insert(name)
                problems.append(VaultProblem(.indexAltered, subject: name, "\(error)"))
            }
        }
    }

    /// Adds a pack's entries. A chunk listed by two indexes is read from the first whose pack is
    /// stored (`stored`; nil: all are): an index copied under another name (its MAC does not bind
    /// the name) names a pack that does not exist, and sorting first it made every restore that
    /// needed those chunks fail with "pack missing" though their pack was intact.
    mutating func add(pack: String, _ entries: [(id: ChunkID, offset: Int, length: Int)], stored: Set<String>? = nil) {
        packs[pack] = entries.map(\.id)
        let present = stored?.contains(pack) ?? true
        if !present { missing.insert(pack) }
        for entry in entries {
            if let known = locations[entry.id] {
                guard present, let stored, !stored.contains(known.pack) else { continue }
            }
            locations[entry.id] = ChunkLocation(pack: pack, offset: entry.offset, length: entry.length)
        }
    }
}
