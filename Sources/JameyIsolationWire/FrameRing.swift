import CJameySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One direction of the shared-memory channel between the kernel and a runner: frames in the same
/// format as on the socket, through a byte ring (``jamey_ring``). Writers on one side take turns
/// under a lock, and so do readers; a frame longer than the ring streams through it while the
/// reader copies it out. A side waiting for the other spins briefly (yielding), then sleeps on a
/// futex in the shared page; wake-up calls are made only for a sleeper.
public final class FrameRing: FrameStream, @unchecked Sendable {
    let ring: OpaquePointer
    /// Kept alive for as long as the ring is used.
    private let mapping: SharedRings
    private var writeLock = pthread_mutex_t()
    private var readLock = pthread_mutex_t()
    /// How long a reader spins for data, and a writer for room, before sleeping.
    public static let spinNanoseconds: UInt64 = 50_000

    init(_ ring: OpaquePointer, mapping: SharedRings) {
        self.ring = ring
        self.mapping = mapping
        super.init()
        pthread_mutex_init(&writeLock, nil)
        pthread_mutex_init(&readLock, nil)
    }

    /// Sends one frame whole, waiting for room while the ring is full. Thread-safe.
    /// - Returns: false when the ring is closed (the peer is gone).
    @discardableResult
    public func send(_ frame: [UInt8]) -> Bool {
        pthread_mutex_lock(&writeLock)
        defer { pthread_mutex_unlock(&writeLock) }
        return frame.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                guard !closed else { return false }
                let n = jamey_ring_write_some(ring, bytes.baseAddress! + offset, bytes.count - offset)
                offset += n
                if n == 0 && jamey_ring_wait_room(ring, Self.spinNanoseconds) == 0 { return false }
            }
            return true
        }
    }

    /// Sends one frame whole if it fits in the ring now, without waiting. Thread-safe.
    /// - Returns: false when it does not fit (nothing was written) or the ring is closed.
    public func trySend(_ frame: [UInt8]) -> Bool {
        pthread_mutex_lock(&writeLock)
        defer { pthread_mutex_unlock(&writeLock) }
        guard !closed, jamey_ring_room(ring) >= frame.count else { return false }
        return frame.withUnsafeBytes { jamey_ring_write_some(ring, $0.baseAddress!, $0.count) } == frame.count
    }

    /// Reads the next frame (see ``FrameStream/receive(_:)``); readers on one side take turns.
    public override func receive(_ body: (FrameKind?, UnsafeRawBufferPointer) -> Void) -> Bool {
        pthread_mutex_lock(&readLock)
        defer { pthread_mutex_unlock(&readLock) }
        return super.receive(body)
    }

    override func readMore(into bytes: UnsafeMutableRawPointer, count: Int, waiting: Bool) -> Int {
        while true {
            let n = jamey_ring_read_some(ring, bytes, count)
            if n > 0 { return n }
            if !waiting {
                guard closed else { return -1 }
                // Closed: what was written before is still read, then the end.
                let last = jamey_ring_read_some(ring, bytes, count)
                return last > 0 ? last : 0
            }
            if jamey_ring_wait_data(ring, Self.spinNanoseconds) == 0 { return 0 }
        }
    }

    /// What ``drain(_:)`` did.
    public enum Drain: Equatable {
        /// Every complete frame there was has been handled (maybe none).
        case drained
        /// Another thread is reading; nothing was done.
        case busy
        /// The ring is closed and everything in it has been read.
        case ended
    }

    /// Handles every frame that is already complete in the ring, without waiting, unless another
    /// thread is reading it right now. Frames are handled in order, under the readers' lock.
    public func drain(_ body: (FrameKind?, UnsafeRawBufferPointer) -> Void) -> Drain {
        guard pthread_mutex_trylock(&readLock) == 0 else { return .busy }
        defer { pthread_mutex_unlock(&readLock) }
        while true {
            switch next(waiting: false, body) {
            case .frame: continue
            case .notYet: return .drained
            case .ended: return .ended
            }
        }
    }

    /// Waits (spinning for `spin` nanoseconds, then sleeping) until there are bytes in the ring to
    /// read.
    /// - Returns: false once the ring is closed and empty.
    public func waitForData(spin: UInt64 = spinNanoseconds) -> Bool { jamey_ring_wait_data(ring, spin) != 0 }

    /// Runs `body` as a reader that does not sleep (it drains the ring itself): writes meanwhile
    /// make no wake-up call for a sleeping reader; bytes left when it ends wake one.
    public func whileReading<R>(_ body: () -> R) -> R {
        jamey_ring_reader_enter(ring)
        defer { jamey_ring_reader_leave(ring) }
        return body()
    }

    /// True when there are bytes in the ring not read yet.
    public var hasData: Bool { jamey_ring_has_data(ring) != 0 }

    /// True once the ring is closed.
    public var closed: Bool { jamey_ring_is_closed(ring) != 0 }

    /// Closes the ring: both sides' waits end, sends fail, a reader gets what is left then the end.
    public func close() { jamey_ring_close(ring) }
}

/// The shared memory of one child: the kernel → runner ring and the runner → kernel ring.
public final class SharedRings: @unchecked Sendable {
    /// The data bytes of each ring (256 KiB; a longer frame streams through).
    public static let capacity: UInt32 = 1 << 18
    /// The shared memory file's descriptor (the kernel's copy; the runner has it as descriptor 4).
    public let fd: Int32
    private let memory: UnsafeMutableRawPointer
    private let size: Int
    private let ownsDescriptor: Bool

    private init(fd: Int32, memory: UnsafeMutableRawPointer, size: Int, ownsDescriptor: Bool) {
        self.fd = fd
        self.memory = memory
        self.size = size
        self.ownsDescriptor = ownsDescriptor
    }

    private static var ringSize: Int { (jamey_ring_size(capacity) + 4095) & ~4095 }

    /// Creates the shared memory for a new child (kernel side).
    /// - Returns: the rings, or -errno.
    public static func create() -> Result<SharedRings, SharedRingsError> {
        let size = 2 * ringSize
        let fd = jamey_shared_memory(size)
        guard fd >= 0 else { return .failure(SharedRingsError(code: -fd)) }
        guard let memory = jamey_map_shared(fd, size) else {
            let code = errno
            Glibc.close(fd)
            return .failure(SharedRingsError(code: code))
        }
        let rings = SharedRings(fd: fd, memory: memory, size: size, ownsDescriptor: true)
        jamey_ring_init(rings.ring(0), capacity)
        jamey_ring_init(rings.ring(1), capacity)
        return .success(rings)
    }

    /// Maps the shared memory the kernel passed as `fd` (runner side).
    public static func attach(fd: Int32) -> Result<SharedRings, SharedRingsError> {
        let size = 2 * ringSize
        guard let memory = jamey_map_shared(fd, size) else { return .failure(SharedRingsError(code: errno)) }
        return .success(SharedRings(fd: fd, memory: memory, size: size, ownsDescriptor: false))
    }

    private func ring(_ index: Int) -> OpaquePointer {
        OpaquePointer(memory + index * Self.ringSize)
    }

    /// Kernel → runner (deliveries): make it once per side and keep it (it holds the reader's
    /// buffer); it keeps the mapping alive.
    public func makeDown() -> FrameRing { FrameRing(ring(0), mapping: self) }
    /// Runner → kernel (replies, "handled" frames, publishes, metric records): make it once per side.
    public func makeUp() -> FrameRing { FrameRing(ring(1), mapping: self) }

    /// Closes both rings (the child is gone): every wait on them ends.
    public func closeBoth() {
        jamey_ring_close(ring(0))
        jamey_ring_close(ring(1))
    }

    /// Closes the kernel's copy of the descriptor once the child has its own.
    public func closeDescriptor() {
        if ownsDescriptor { Glibc.close(fd) }
    }

    deinit { jamey_unmap_shared(memory, size) }
}

/// Why the shared memory could not be set up.
public struct SharedRingsError: Error, CustomStringConvertible {
    public let code: Int32
    public var description: String { "cannot set up shared memory: \(String(cString: strerror(code)))" }
}
