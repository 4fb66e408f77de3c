import Foundation

/// What `forget` decided and did.
public struct ForgetReport: Codable, Sendable {
    /// Every snapshot with its decision and reasons, per node, newest first.
    public var decisions: [String: [RetentionPolicy.Decision]]
    /// True when nothing was removed (dry run).
    public var dryRun: Bool
    /// Snapshots removed.
    public var removed: Int
}

/// What `prune` freed.
public struct PruneReport: Codable, Sendable {
    /// Packs deleted because no snapshot needs any of their chunks.
    public var packsDeleted = 0
    /// Packs rewritten without their unused chunks (needs the identity).
    public var packsRepacked = 0
    /// Encrypted bytes freed on disk.
    public var bytesFreed = 0
    /// Chunks no longer stored.
    public var chunksRemoved = 0
    /// Leftovers of interrupted runs removed (packs without an index, temporary files).
    public var leftoversRemoved = 0
    /// Packs left alone because their index could not be read or authenticated (verify names
    /// them as `unreadable` or `index-altered`).
    public var packsKept = 0
    /// True when nothing was changed.
    public var dryRun = false
}

/// Retention and space reclamation. Both work with a node key alone (no identity): manifests
/// carry their chunk references in the clear (keyed ids), and only whole unused packs are deleted
/// without the identity; with it, packs that are mostly unused are rewritten.
public struct Maintenance {
    let repository: Repository
    let key: NodeKey

    public init(repository: Repository, key: NodeKey) {
        self.repository = repository
        self.key = key
    }

    /// Applies `policy` to this node's snapshots (each node's with `allNodes`); removes the ones
    /// that go unless `dryRun`. A signed forget record is written first, so their absence is not
    /// reported as tampering.
    public func forget(policy: RetentionPolicy, dryRun: Bool, allNodes: Bool = false, calendar: Calendar = .utc) throws
        -> ForgetReport
    {
        // A bad rule is refused even when there is no snapshot to apply it to.
        try policy.check()
        let catalog = SnapshotCatalog(repository: repository, chunkKey: key.chunkKey)
        var decisions: [String: [RetentionPolicy.Decision]] = [:]
        let nodes = Set(catalog.snapshots.map(\.header.node)).filter { allNodes || $0 == key.node }
        for node in nodes.sorted() {
            let list = catalog.snapshots.filter { $0.header.node == node }.map { ($0.id, $0.header.time, $0.header.sources) }
            decisions[node] = try policy.apply(bySource: list, calendar: calendar)
        }
        let going = catalog.snapshots.filter { snapshot in
            decisions[snapshot.header.node]?.first { $0.id == snapshot.id }?.keep == false
        }
        if !dryRun && !going.isEmpty { try remove(going) }
        return ForgetReport(decisions: decisions, dryRun: dryRun, removed: dryRun ? 0 : going.count)
    }

    /// Removes specific snapshots (after writing the forget record).
    public func remove(_ snapshots: [SnapshotManifest]) throws {
        let signer = try key.signer()
        let record = ForgetRecord(
            time: Date(), node: key.node,
            entries: snapshots.map { .init(node: $0.header.node, seq: $0.header.seq, snapshot: $0.id) },
            signingKey: signer.publicKey.rawRepresentation)
        let data = try record.encoded(signer: signer)
        try repository.layout.writeOnce(data, to: repository.layout.forgotten.appendingPathComponent(data.sha256Hex))
        for snapshot in snapshots { try? FileManager.default.removeItem(at: repository.layout.snapshot(snapshot.id)) }
    }

    /// Deletes packs no snapshot needs (index first, then pack: an interruption leaves a pack
    /// without an index, which the next prune removes); with `identities`, rewrites packs more
    /// than `repackThreshold` unused (new pack and index written before the old ones go).
    public func prune(dryRun: Bool, identities: [AgeIdentity]? = nil, repackThreshold: Double = 0.25, now: Date = Date())
        throws -> PruneReport
    {
        let layout = repository.layout
        let lock = try RepositoryLock.acquire(layout, kind: "prune", node: key.node, now: now)
        defer { lock.release() }
        let catalog = SnapshotCatalog(repository: repository, chunkKey: key.chunkKey)
        // Every snapshot must be read and trusted before anything is deleted: one left out would
        // have its chunks freed.
        if let damaged = catalog.problems.first(where: { $0.kind == .signatureInvalid }) {
            throw VaultError(.tampered, "prune refused: \(damaged.message); run verify")
        }
        if let unread = catalog.problems.first(where: { $0.kind == .unreadable }) {
            throw VaultError(.io, "prune refused: \(unread.message); nothing was deleted")
        }
        var referenced = Set<ChunkPrefix>()
        for snapshot in catalog.snapshots { referenced.formUnion(snapshot.references) }
        let hasher = ChunkHasher(key: key.chunkKey)
        let index = ChunkIndex(repository: repository, hasher: hasher)
        if !index.complete, let unread = index.problems.first(where: { $0.kind == .unreadable }) {
            throw VaultError(.io, "prune refused: \(unread.message); nothing was deleted")
        }
        var report = PruneReport(dryRun: dryRun)
        let reader = try identities.map { try RepositoryReader(repository: repository, identities: $0, chunkKey: key.chunkKey) }
        var writer = PackWriter(layout: layout, recipients: try key.parsedRecipients(), hasher: hasher, targetSize: 16 << 20)
        var rewritten: [String] = []
        for (pack, ids) in index.packs.sorted(by: { $0.key < $1.key }) {
            let live = ids.filter { referenced.contains(ChunkPrefix($0)) }
            let size = Self.size(layout.pack(pack))
            if live.isEmpty {
                report.packsDeleted += 1
                report.chunksRemoved += ids.count
                report.bytesFreed += size
                if !dryRun {
                    try? FileManager.default.removeItem(at: layout.index(pack))
                    try? FileManager.default.removeItem(at: layout.pack(pack))
                }
            } else if let reader, Double(ids.count - live.count) / Double(ids.count) > repackThreshold {
                report.packsRepacked += 1
                report.chunksRemoved += ids.count - live.count
                report.bytesFreed += size
                guard !dryRun else { continue }
                let plain = try reader.pack(pack)
                for id in Set(live) {
                    guard let location = index.locations[id], location.pack == pack else { continue }
                    _ = try writer.add(
                        id, plain[plain.startIndex + location.offset..<plain.startIndex + location.offset + location.length])
                }
                rewritten.append(pack)
            }
        }
        if !dryRun {
            _ = try writer.flush()
            report.bytesFreed -= writer.bytesWritten
            for pack in rewritten {
                try? FileManager.default.removeItem(at: layout.index(pack))
                try? FileManager.default.removeItem(at: layout.pack(pack))
            }
        }
        // A pack whose index could not be read or authenticated is not a leftover: what it holds
        // is unknown (verify names the index; a later prune takes it once the index is readable).
        report.packsKept = index.unverified.count
        report.leftoversRemoved = removeLeftovers(
            indexed: Set(index.packs.keys).union(writer.packsWritten).union(index.unverified), dryRun: dryRun, now: now)
        return report
    }

    /// Packs without an index and temporary files older than an hour (an interrupted backup or prune).
    private func removeLeftovers(indexed: Set<String>, dryRun: Bool, now: Date) -> Int {
        let layout = repository.layout
        var removed = 0
        let orphans = layout.names(in: layout.packs, nested: true).filter { !indexed.contains($0) }.map { layout.pack($0) }
        for url in orphans + layout.names(in: layout.tmp).map({ layout.tmp.appendingPathComponent($0) }) {
            let modified = (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? now
            guard now.timeIntervalSince(modified) > 3600 else { continue }
            removed += 1
            if !dryRun { try? FileManager.default.removeItem(at: url) }
        }
        return removed
    }

    static func size(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
