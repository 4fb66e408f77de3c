#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One end of the socket between the kernel and a runner: whole frames out (one writer at a time,
/// never raising SIGPIPE) and whole frames in (one reader thread).
public final class FrameSocket: @unchecked Sendable {
    /// The descriptor; closed by ``close()``.
    public let fd: Int32
    private var writeLock = pthread_mutex_t()
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0
    /// The largest frame accepted (64 MiB): a longer length prefix is a broken peer.
    public static let maximumFrame = 64 << 20

    /// - Parameter fd: a connected stream socket.
    public init(fd: Int32) {
        self.fd = fd
        pthread_mutex_init(&writeLock, nil)
    }

    /// Sends one frame whole. Thread-safe.
    /// - Returns: false when the peer is gone.
    @discardableResult
    public func send(_ frame: [UInt8]) -> Bool {
        pthread_mutex_lock(&writeLock)
        defer { pthread_mutex_unlock(&writeLock) }
        return frame.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    /// Reads the next frame and lends its kind and body to `body`. Only one thread may read.
    /// - Returns: false at end of stream, on a read error or a malformed length.
    public func receive(_ body: (FrameKind?, UnsafeRawBufferPointer) -> Void) -> Bool {
        guard fill(4) else { return false }
        let length = buffer.withUnsafeBytes {
            Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
        }
        guard length >= 1, length <= Self.maximumFrame, fill(4 + length) else { return false }
        buffer.withUnsafeBytes { all in
            let frame = UnsafeRawBufferPointer(rebasing: all[start + 4..<start + 4 + length])
            body(FrameKind(rawValue: frame[0]), UnsafeRawBufferPointer(rebasing: frame[1...]))
        }
        start += 4 + length
        return true
    }

    /// Makes at least `count` bytes available from `start`.
    private func fill(_ count: Int) -> Bool {
        if end - start >= count { return true }
        if start > 0 {
            let pending = end - start
            if pending > 0 {
                buffer.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: pending) }
            }
            start = 0
            end = pending
        }
        if buffer.count < count { buffer.append(contentsOf: repeatElement(0, count: count - buffer.count)) }
        var spun = false
        while end < count {
            if !spun {
                // Like the bus's workers: spin briefly (yielding the processor) before sleeping in
                // read, so a reply that follows a request closely costs no wake-up.
                spun = true
                if spinForData() { continue }
            }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + end, $0.count - end) }
            if n > 0 {
                end += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// How long a reader spins for data before it blocks.
    static let spinNanoseconds: UInt64 = 50_000

    /// Reads what is there without blocking, for up to ``spinNanoseconds``.
    /// - Returns: true when bytes arrived (or the stream ended: the next read says so).
    private func spinForData() -> Bool {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + end, $0.count - end, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                end += n
                return true
            }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { return false }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let elapsed =
                UInt64(now.tv_sec - start.tv_sec) * 1_000_000_000 &+ UInt64(bitPattern: Int64(now.tv_nsec - start.tv_nsec))
            if elapsed > Self.spinNanoseconds { return false }
            sched_yield()
        }
    }

    /// Shuts both directions down: a blocked reader returns, sends fail. The descriptor is closed
    /// when the last reference goes, so no thread can write into a reused number.
    public func shutdownBoth() { shutdown(fd, Int32(SHUT_RDWR)) }

    deinit { _ = Glibc.close(fd) }
}
