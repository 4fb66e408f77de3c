import Foundation

/// Collects new chunks into a pack; at `targetSize` encrypts it to the recipients and writes the
/// pack, then its index (an index therefore only ever names a complete pack).
struct PackWriter {
    let layout: RepositoryLayout
    let recipients: [AgeRecipient]
    let hasher: ChunkHasher
    let targetSize: Int
    private var buffer = Data()
    private var entries: [(id: ChunkID, offset: Int, length: Int)] = []
    private(set) var packsWritten: [String] = []
    private(set) var bytesWritten = 0

    init(layout: RepositoryLayout, recipients: [AgeRecipient], hasher: ChunkHasher, targetSize: Int) {
        self.layout = layout
        self.recipients = recipients
        self.hasher = hasher
        self.targetSize = targetSize
        buffer.reserveCapacity(targetSize + (1 << 20))
    }

    /// Adds a chunk; returns the packs completed by this call (normally none).
    mutating func add(_ id: ChunkID, _ chunk: Data) throws -> [(pack: String, entries: [(id: ChunkID, offset: Int, length: Int)])]
    {
        entries.append((id, buffer.count, chunk.count))
        buffer.append(chunk)
        return buffer.count >= targetSize ? [try flush()].compactMap { $0 } : []
    }

    /// Writes the pending pack, if any.
    mutating func flush() throws -> (pack: String, entries: [(id: ChunkID, offset: Int, length: Int)])? {
        guard !entries.isEmpty else { return nil }
        let sealed = try Age.encrypt(buffer, to: recipients)
        let id = try Age.packName(sealed)
        try layout.writeOnce(sealed, to: layout.pack(id))
        try layout.writeOnce(PackIndexFile(entries: entries).encoded(hasher: hasher), to: layout.index(id))
        let done = (id, entries)
        packsWritten.append(id)
        bytesWritten += sealed.count
        buffer.removeAll(keepingCapacity: true)
        entries.removeAll()
        return done
    }
}
