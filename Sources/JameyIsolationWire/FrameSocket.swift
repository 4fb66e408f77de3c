#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Whole frames in from a byte stream, for one reading thread at a time: the part a socket and a
/// shared-memory ring have in common. A subclass says how to wait for more bytes.
public class FrameStream: @unchecked Sendable {
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0
    /// The largest frame accepted (64 MiB): a longer length prefix is a broken peer.
    public static let maximumFrame = 64 << 20

    init() {}

    /// Reads the next frame and lends its kind and body to `body`. Only one thread may read.
    /// - Returns: false at end of stream, on a read error or a malformed length.
    public func receive(_ body: (FrameKind?, UnsafeRawBufferPointer) -> Void) -> Bool {
        next(waiting: true, body) == .frame
    }

    /// What ``next(waiting:_:)`` found.
    enum Next { case frame, notYet, ended }

    /// Reads the next frame, waiting for its bytes or (`waiting` false) only when they are all
    /// there already; a frame not yet complete stays buffered for the next call.
    func next(waiting: Bool, _ body: (FrameKind?, UnsafeRawBufferPointer) -> Void) -> Next {
        var got = fill(4, waiting: waiting)
        guard got == .frame else { return got }
        let length = buffer.withUnsafeBytes {
            Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)))
        }
        guard length >= 1, length <= Self.maximumFrame else { return .ended }
        got = fill(4 + length, waiting: waiting)
        guard got == .frame else { return got }
        buffer.withUnsafeBytes { all in
            let frame = UnsafeRawBufferPointer(rebasing: all[start + 4..<start + 4 + length])
            body(FrameKind(rawValue: frame[0]), UnsafeRawBufferPointer(rebasing: frame[1...]))
        }
        start += 4 + length
        return .frame
    }

    /// Makes at least `count` bytes available from `start` (`.frame`: they are).
    private func fill(_ count: Int, waiting: Bool) -> Next {
        if end - start >= count { return .frame }
        if start > 0 {
            let pending = end - start
            if pending > 0 {
                buffer.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + start, byteCount: pending) }
            }
            start = 0
            end = pending
        }
        if buffer.count < count { buffer.append(contentsOf: repeatElement(0, count: count - buffer.count)) }
        while end < count {
            let n = buffer.withUnsafeMutableBytes {
                readMore(into: $0.baseAddress! + end, count: $0.count - end, waiting: waiting)
            }
            if n < 0 { return .notYet }
            if n == 0 { return .ended }
            end += n
        }
        return .frame
    }

    /// Reads at least one byte into `bytes` (at most `count`), waiting for it when `waiting`.
    /// - Returns: the number read; 0 at the end of the stream; -1 when nothing is there (only when
    ///   not waiting).
    func readMore(into bytes: UnsafeMutableRawPointer, count: Int, waiting: Bool) -> Int { 0 }
}

/// One end of the socket between the kernel and a runner: whole frames out (one writer at a time,
/// never raising SIGPIPE) and whole frames in (one reader thread).
public final class FrameSocket: FrameStream, @unchecked Sendable {
    /// The descriptor; closed by ``close()``.
    public let fd: Int32
    private var writeLock = pthread_mutex_t()

    /// - Parameter fd: a connected stream socket.
    public init(fd: Int32) {
        self.fd = fd
        super.init()
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

    override func readMore(into bytes: UnsafeMutableRawPointer, count: Int, waiting: Bool) -> Int {
        // Like the bus's workers: spin briefly (yielding the processor) before sleeping in read,
        // so a reply that follows a request closely costs no wake-up.
        let spun = spinForData(into: bytes, count: count)
        if spun != 0 { return max(spun, 0) }
        while true {
            let n = Glibc.read(fd, bytes, count)
            if n < 0 && errno == EINTR { continue }
            return max(n, 0)
        }
    }

    /// How long a reader spins for data before it blocks.
    static let spinNanoseconds: UInt64 = 50_000

    /// Reads what is there without blocking, for up to ``spinNanoseconds``.
    /// - Returns: the bytes read; 0 when none came; -1 when the stream ended.
    private func spinForData(into bytes: UnsafeMutableRawPointer, count: Int) -> Int {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while true {
            let n = recv(fd, bytes, count, Int32(MSG_DONTWAIT))
            if n > 0 { return n }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { return -1 }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let elapsed =
                UInt64(now.tv_sec - start.tv_sec) * 1_000_000_000 &+ UInt64(bitPattern: Int64(now.tv_nsec - start.tv_nsec))
            if elapsed > Self.spinNanoseconds { return 0 }
            sched_yield()
        }
    }

    /// Shuts both directions down: a blocked reader returns, sends fail. The descriptor is closed
    /// when the last reference goes, so no thread can write into a reused number.
    public func shutdownBoth() { shutdown(fd, Int32(SHUT_RDWR)) }

    deinit { _ = Glibc.close(fd) }
}
