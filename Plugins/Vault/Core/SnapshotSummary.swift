import Foundation

/// A snapshot's public figures, as `snapshots` and `GET /v1/vault/snapshots` list them.
public struct SnapshotSummary: Codable, Sendable {
    public var id: String
    public var time: Date
    public var node: String
    public var seq: Int
    public var sources: [String]
    public var tags: [String]
    public var fileCount: Int
    public var totalBytes: Int
    public var bytesAdded: Int
    public var chunksNew: Int
    public var chunksDeduplicated: Int

    /// The figures of `snapshot` (all from its signed header; no key needed).
    public init(_ snapshot: SnapshotManifest) {
        let h = snapshot.header
        (id, time, node, seq, sources, tags) = (snapshot.id, h.time, h.node, h.seq, h.sources, h.tags)
        (fileCount, totalBytes, bytesAdded, chunksNew, chunksDeduplicated) = (
            h.fileCount, h.totalBytes, h.bytesAdded, h.chunksNew, h.chunksDeduplicated
        )
    }
}
