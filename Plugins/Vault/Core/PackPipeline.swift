import Dispatch
import Foundation

/// Encrypts and writes packs on several threads while the caller goes on hashing: chunks are
/// collected in order into a pending pack; each full pack is sealed, named (``Age/packName(_:)``) and
/// written (pack, then its index) by a background job. At most `inFlight` packs are pending at
/// once, so memory stays bounded. Chunks are slices of the caller's (mapped) files, copied once
/// into the pack's plaintext by the job.
final class PackPipeline: @unchecked Sendable {
    typealias Entry = (id: ChunkID, offset: Int, length: Int)
    let layout: RepositoryLayout
    let recipients: [AgeRecipient]
    let hasher: ChunkHasher
    let targetSize: Int
    private let queue = DispatchQueue(label: "vault.packs", attributes: .concurrent)
    private let group = DispatchGroup()
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    private var pending: [(id: ChunkID, data: Data)] = []
    private var pendingBytes = 0
    /// While every pending chunk directly follows the previous one in the same file: that file
    /// and the run's range, so the job seals the run itself instead of copying it.
    private var run: (file: Int, data: Data, range: Range<Int>)?
    private var written: [String] = []
    private var sealedBytes = 0
    private var failure: Error?
    /// Sealing buffers, one per pack in flight, reused.
    private let buffers = BufferPool()
    /// Seconds spent in jobs sealing and writing (summed over threads).
    private(set) var jobSeconds = (seal: 0.0, write: 0.0)

    init(layout: RepositoryLayout, recipients: [AgeRecipient], hasher: ChunkHasher, targetSize: Int, inFlight: Int = 4) {
        self.layout = layout
        self.recipients = recipients
        self.hasher = hasher
        self.targetSize = targetSize
        slots = DispatchSemaphore(value: max(1, inFlight))
    }

    /// Adds a new chunk, `range` of `data` (file number `file` of this backup); hands a full pack
    /// to a job. Throws the first job failure seen.
    func add(_ id: ChunkID, _ data: Data, _ range: Range<Int>, file: Int) throws {
        if pending.isEmpty {
            run = (file, data, range)
        } else if let current = run, current.file == file, current.range.upperBound == range.lowerBound {
            run = (file, data, current.range.lowerBound..<range.upperBound)
        } else {
            run = nil
        }
        pending.append((id, data[range]))
        pendingBytes += range.count
        if pendingBytes >= targetSize { try submit() }
    }

    /// Waits for every job; returns the packs written. Throws the first failure.
    func finish() throws -> (packs: [String], bytes: Int) {
        try submit()
        group.wait()
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
        return (written, sealedBytes)
    }

    private func submit() throws {
        try check()
        guard !pending.isEmpty else { return }
        let chunks = pending
        let size = pendingBytes
        let whole = run.map { $0.data[$0.range] }
        pending = []
        pendingBytes = 0
        run = nil
        slots.wait()
        group.enter()
        queue.async {
            defer {
                self.slots.signal()
                self.group.leave()
            }
            do {
                try self.write(chunks, size: size, whole: whole)
            } catch {
                self.lock.lock()
                if self.failure == nil { self.failure = error }
                self.lock.unlock()
            }
        }
    }

    private func check() throws {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
    }

    private func write(_ chunks: [(id: ChunkID, data: Data)], size: Int, whole: Data?) throws {
        let started = DispatchTime.now()
        var plain = whole ?? Data(capacity: size)
        var entries: [Entry] = []
        entries.reserveCapacity(chunks.count)
        var offset = 0
        for chunk in chunks {
            entries.append((chunk.id, offset, chunk.data.count))
            offset += chunk.data.count
            if whole == nil { plain.append(chunk.data) }
        }
        let buffer = buffers.take(targetSize + (1 << 20))
        defer { buffers.giveBack(buffer) }
        let (length, id) = try Age.seal(plain, to: recipients, into: buffer)
        let sealedAt = DispatchTime.now()
        try layout.writeOnce(buffer, length: length, to: layout.pack(id))
        try layout.writeOnce(PackIndexFile(entries: entries).encoded(hasher: hasher), to: layout.index(id))
        let done = DispatchTime.now()
        lock.lock()
        written.append(id)
        sealedBytes += length
        jobSeconds.seal += Double(sealedAt.uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        jobSeconds.write += Double(done.uptimeNanoseconds - sealedAt.uptimeNanoseconds) / 1e9
        lock.unlock()
    }
}
