import Crypto
import Foundation

/// A page-aligned buffer reused for sealed packs: writing it with `O_DIRECT` skips the page cache
/// (no kernel copy, no fresh cache pages per pack), and reusing it avoids faulting in new memory
/// for every pack.
final class AlignedBuffer: @unchecked Sendable {
    static let alignment = 4096
    private(set) var pointer: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = Self.roundUp(max(capacity, Self.alignment))
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: Self.alignment)
    }

    deinit { pointer.deallocate() }

    static func roundUp(_ count: Int) -> Int { (count + alignment - 1) / alignment * alignment }

    /// Makes room for `count` bytes (contents are not kept).
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        capacity = Self.roundUp(count)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: Self.alignment)
    }

    /// Copies `bytes` to `offset`; returns the offset after them.
    @discardableResult
    func put(_ bytes: some DataProtocol, at offset: Int) -> Int {
        var position = offset
        for region in bytes.regions {
            region.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                (pointer + position).copyMemory(from: base, byteCount: raw.count)
            }
            position += region.count
        }
        return position
    }

    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: pointer + range.lowerBound, count: range.count)
    }
}

extension Age {
    /// Encrypts `plaintext` to `recipients` into `buffer` (from offset 0); returns the file's
    /// length and its pack name (``packName(_:)``).
    static func seal(_ plaintext: Data, to recipients: [AgeRecipient], into buffer: AlignedBuffer) throws -> (
        length: Int, name: String
    ) {
        guard !recipients.isEmpty else { throw VaultError(.badKey, "age: no recipient to encrypt to") }
        let fileKey = randomBytes(16)
        let stanzas = try recipients.map { try AgeStanza.x25519(fileKey: fileKey, recipient: $0) }
        var header = intro + stanzas.map(\.text).joined() + "---"
        header += " " + Base64Raw.encode(headerMAC(Data(header.utf8), fileKey: fileKey)) + "\n"
        let nonce = randomBytes(16)
        let segments = max(1, (plaintext.count + segmentSize - 1) / segmentSize)
        buffer.reserve(header.utf8.count + 16 + plaintext.count + segments * tagSize)
        var end = buffer.put(Data(header.utf8), at: 0)
        end = buffer.put(nonce, at: end)
        let key = payloadKey(fileKey, nonce: nonce)
        var offset = plaintext.startIndex
        var counter: UInt64 = 0
        repeat {
            let stop = min(offset + segmentSize, plaintext.endIndex)
            let box = try ChaChaPoly.seal(
                plaintext[offset..<stop], using: key, nonce: AgeStream.nonce(counter, last: stop == plaintext.endIndex))
            end = buffer.put(box.ciphertext, at: end)
            end = buffer.put(box.tag, at: end)
            offset = stop
            counter += 1
        } while offset < plaintext.endIndex
        return (end, try packName(Data(bytesNoCopy: buffer.pointer, count: end, deallocator: .none)))
    }
}

extension RepositoryLayout {
    /// Linux's `O_DIRECT` (Glibc's module does not export it without _GNU_SOURCE).
    #if arch(x86_64)
        static let directFlag: Int32 = 0o40000
    #elseif arch(arm64)
        static let directFlag: Int32 = 0o200000
    #else
        static let directFlag: Int32 = 0
    #endif

    /// As ``writeOnce(_:to:)`` for `length` bytes of `buffer`, written with `O_DIRECT` (the last
    /// block padded, then the file truncated to `length`); falls back to a buffered write where
    /// the file system refuses direct I/O.
    func writeOnce(_ buffer: AlignedBuffer, length: Int, to url: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        let temporary = tmp.appendingPathComponent(UUID().uuidString)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | Self.directFlag, 0o644)
        guard fd >= 0 else {
            return try writeOnce(Data(bytesNoCopy: buffer.pointer, count: length, deallocator: .none), to: url)
        }
        var failure: Int32 = 0
        let padded = AlignedBuffer.roundUp(length)
        var written = 0
        while written < padded {
            let result = Foundation.write(fd, buffer.pointer + written, padded - written)
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                failure = errno
                break
            }
            written += result
        }
        if failure == 0 && (ftruncate(fd, off_t(length)) != 0 || fsync(fd) != 0) { failure = errno }
        close(fd)
        if failure == EINVAL && written == 0 {
            // Direct I/O is not supported here: write through the page cache.
            unlink(temporary.path)
            return try writeOnce(Data(bytesNoCopy: buffer.pointer, count: length, deallocator: .none), to: url)
        }
        guard failure == 0 else {
            unlink(temporary.path)
            throw VaultError(.io, "cannot write \(url.path): errno \(failure)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            throw VaultError(.io, "cannot move \(temporary.lastPathComponent) to \(url.path): errno \(errno)")
        }
        try syncPlacement(of: url)
    }
}

/// Aligned buffers reused by the threads of one operation (freed with it).
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [AlignedBuffer] = []

    /// A buffer of at least `count` bytes.
    func take(_ count: Int) -> AlignedBuffer {
        lock.lock()
        let buffer = free.popLast() ?? AlignedBuffer(capacity: count)
        lock.unlock()
        buffer.reserve(count)
        return buffer
    }

    func giveBack(_ buffer: AlignedBuffer) {
        lock.lock()
        free.append(buffer)
        lock.unlock()
    }
}
