import Crypto
import Foundation

/// How a file was cut into chunks.
public enum ChunkingKind: String, Codable, Sendable {
    /// A SQLite database cut on its page boundaries, one chunk per run of `pagesPerChunk` pages.
    case sqlitePages = "sqlite-pages"
    /// Content-defined chunking with a gear rolling hash (FastCDC style).
    case contentDefined = "cdc"
}

/// Cuts file contents into chunks: SQLite databases on page boundaries, anything else by content.
public struct Chunker: Sendable {
    /// SQLite pages per chunk (1: a changed page re-stores only that page).
    public var pagesPerChunk: Int
    let gear: GearChunker

    /// A chunker whose gear table is derived from `seed` (the repository's chunk key), so chunk
    /// boundaries do not reveal content to someone without the key.
    public init(seed: Data, pagesPerChunk: Int = 1, minSize: Int = 256 << 10, averageBits: Int = 20, maxSize: Int = 4 << 20) {
        self.pagesPerChunk = max(1, pagesPerChunk)
        gear = GearChunker(seed: seed, minSize: minSize, averageBits: averageBits, maxSize: maxSize)
    }

    /// The page size of a SQLite database file, or nil when `data` is not one (or its size is not a whole number of pages).
    public static func sqlitePageSize(_ data: Data) -> Int? {
        let magic = Data("SQLite format 3\0".utf8)
        guard data.count >= 100, data.prefix(16) == magic else { return nil }
        let raw = Int(data[data.startIndex + 16]) << 8 | Int(data[data.startIndex + 17])
        let size = raw == 1 ? 65536 : raw
        guard size >= 512, size & (size - 1) == 0, data.count % size == 0 else { return nil }
        return size
    }

    /// The chunk boundaries of `data` as end offsets (relative to `data.startIndex`) and how it was cut.
    public func boundaries(_ data: Data) -> (kind: ChunkingKind, ends: [Int]) {
        if let page = Self.sqlitePageSize(data) {
            let step = page * pagesPerChunk
            return (.sqlitePages, Array(stride(from: step, to: data.count, by: step)) + [data.count])
        }
        return (.contentDefined, gear.boundaries(data))
    }
}

/// FastCDC-style content-defined chunking: a 64-bit gear hash, a stricter mask before the average
/// size and a looser one after it (normalised chunking), hard minimum and maximum sizes.
struct GearChunker: Sendable {
    let table: [UInt64]
    let minSize: Int
    let maxSize: Int
    let normalSize: Int
    let strictMask: UInt64
    let looseMask: UInt64

    init(seed: Data, minSize: Int, averageBits: Int, maxSize: Int) {
        var table: [UInt64] = []
        table.reserveCapacity(256)
        for index in 0..<256 {
            let digest = SHA256.hash(data: seed + Data("gear".utf8) + Data([UInt8(index)]))
            table.append(digest.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        }
        self.table = table
        self.minSize = minSize
        self.maxSize = maxSize
        normalSize = 1 << averageBits
        strictMask = ~UInt64(0) << UInt64(64 - (averageBits + 2))
        looseMask = ~UInt64(0) << UInt64(64 - (averageBits - 2))
    }

    func boundaries(_ data: Data) -> [Int] {
        var ends: [Int] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            let count = bytes.count
            table.withUnsafeBufferPointer { gear in
                while start < count {
                    ends.append(start + cut(bytes, from: start, count: count - start, gear: gear))
                    start = ends[ends.count - 1]
                }
            }
        }
        return ends
    }

    private func cut(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, count: Int, gear: UnsafeBufferPointer<UInt64>)
        -> Int
    {
        if count <= minSize { return count }
        let limit = min(count, maxSize)
        let normal = min(limit, normalSize)
        var hash: UInt64 = 0
        var index = minSize
        while index < normal {
            hash = (hash << 1) &+ gear[Int(bytes[start + index])]
            if hash & strictMask == 0 { return index + 1 }
            index += 1
        }
        while index < limit {
            hash = (hash << 1) &+ gear[Int(bytes[start + index])]
            if hash & looseMask == 0 { return index + 1 }
            index += 1
        }
        return limit
    }
}
