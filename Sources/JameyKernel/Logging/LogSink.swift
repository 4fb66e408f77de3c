import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Writes whole log lines to a file descriptor from one background thread, in batches: a caller
/// appends its line to a buffer and returns; the writer thread, woken by the first line, lingers
/// briefly (`linger`, 2 ms by default) to collect the lines that follow, then writes them all with
/// one `write(2)`. A busy server thus pays one wake-up and one system call per batch instead of
/// per line, and the request path never waits for the disk.
///
/// When `capacity` bytes are waiting, callers wait for the writer, so a slow reader slows the
/// loggers down rather than losing lines. But a reader that stops (a paused pager, a stuck log
/// shipper, a full pipe nobody drains) must not stop the server: once a caller has waited
/// `stallAfter` without the writer writing anything, the sink counts as stalled, and from then
/// until the writer writes again lines that find the queue full are dropped and counted
/// (``droppedLines``, `jamey_log_lines_dropped_total`) instead of waited for. Lines marked
/// `urgent` (the handlers pass errors and worse) return only once they are written, so the line
/// before a crash is on disk, except on a stalled sink: there they do not wait, and are dropped
/// like the rest when the queue is full. Progress is counted per `write(2)`, so a reader slower
/// than a batch per `stallAfter` but still reading never counts as stalled. ``flush(timeout:)``
/// waits for everything queued and runs at process exit. Lines never interleave, and lines from
/// one thread keep their order.
///
/// Batches are written 64 KiB per `write(2)` at most, so that progress shows while a slow
/// reader takes them.
///
/// Thread-safe.
/// `@unchecked Sendable`: every stored var below is touched only with `condition` locked.
public final class LogSink: @unchecked Sendable {
    /// Standard error, the sink of the kernel's handlers.
    public static let standardError = LogSink(fd: 2)

    private let fd: Int32
    private let capacity: Int
    private let condition = ConditionLock(())
    // All below guarded by `condition`.
    private var pending: [UInt8] = []
    private var spare: [UInt8] = []
    private var appended: UInt64 = 0
    private var written: UInt64 = 0
    private var writerIdle = false
    private var writerLingering = false
    private var writerStarted = false
    /// Callers waiting for their line to be written (urgent lines, flushes, back-pressure).
    private var waiters = 0
    /// ``progress`` when a caller had waited `stallAfter` without the writer writing a byte;
    /// the sink is stalled while progress stays there (see ``stalledNow()``).
    private var stalledAt: UInt64?
    private let linger: UInt64
    private let stallAfter: UInt64
    /// Bytes `write(2)` has taken so far, counted per call: a slow reader moves it within a
    /// batch, which `written` (a whole batch at a time) would not show.
    private let progress = Atomic<UInt64>(0)
    private let dropped = Atomic<UInt64>(0)
    private let droppedReported = Mutex<UInt64>(0)

    /// Lines dropped because the sink was stalled, since it was made.
    public var droppedLines: UInt64 { dropped.load(ordering: .relaxed) }

    /// Whether the sink is stalled now (lines finding the queue full are dropped).
    public var isStalled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stalledNow()
    }

    /// Lines dropped since the last call (for a periodic "lines were dropped" warning).
    public func droppedSinceLastCall() -> UInt64 {
        droppedReported.withLock { reported in
            let now = dropped.load(ordering: .relaxed)
            defer { reported = now }
            return now - reported
        }
    }

    /// Whether the sink is stalled: no byte written since a caller found it so. Any progress
    /// ends it. Called with the lock held.
    private func stalledNow() -> Bool {
        guard let at = stalledAt else { return false }
        if progress.load(ordering: .acquiring) == at { return true }
        stalledAt = nil
        return false
    }

    /// Waits for `done` (checked with the lock held), as long as the writer writes something every
    /// `stallAfter`; declares the sink stalled, and wakes the other waiters to find it so, when
    /// it writes nothing for that long. Called with the lock held.
    /// - Returns: whether `done` came true.
    private func waitUnlessStalled(_ done: () -> Bool) -> Bool {
        var seen = progress.load(ordering: .acquiring)
        var deadline = MonotonicClock.now() &+ stallAfter
        waiters += 1
        defer { waiters -= 1 }
        if writerIdle || writerLingering { condition.broadcast() }
        while !done() {
            if stalledNow() { return false }
            if !condition.wait(until: deadline) && !done() {
                let now = progress.load(ordering: .acquiring)
                if now == seen {
                    stalledAt = now
                    condition.broadcast()
                    return false
                }
                seen = now
                deadline = MonotonicClock.now() &+ stallAfter
            }
        }
        return true
    }

    /// - Parameters:
    ///   - fd: where lines go; not closed by the sink.
    ///   - capacity: bytes queued before callers wait for the writer.
    ///   - linger: how long the writer collects lines before writing them; a caller waiting for
    ///     its line (urgent, flush, or a full buffer) cuts it short.
    ///   - stallAfter: how long a caller waits on a writer that writes nothing before the sink
    ///     counts as stalled.
    public init(
        fd: Int32, capacity: Int = 1 << 20, linger: Duration = .milliseconds(2), stallAfter: Duration = .milliseconds(250)
    ) {
        self.fd = fd
        self.capacity = max(capacity, 1)
        self.linger = Self.nanoseconds(linger)
        self.stallAfter = Self.nanoseconds(stallAfter)
    }

    /// Queues one line (which should end in `\n`).
    /// - Parameters:
    ///   - line: the bytes.
    ///   - urgent: return only once the line has been written.
    public func write(_ line: String, urgent: Bool = false) {
        var line = line
        line.withUTF8 { write(UnsafeRawBufferPointer($0), urgent: urgent) }
    }

    /// Queues one line's bytes. See ``write(_:urgent:)``.
    public func write(_ bytes: UnsafeRawBufferPointer, urgent: Bool = false) {
        write(urgent: urgent) { $0.append(contentsOf: bytes) }
    }

    /// Queues one line that `fill` appends to the queue in place (saving a copy), under the sink's
    /// lock: keep it to appending bytes. See ``write(_:urgent:)``.
    public func write(urgent: Bool = false, _ fill: (inout [UInt8]) -> Void) {
        condition.lock()
        defer { condition.unlock() }
        if pending.count >= capacity && !waitForRoom() {
            dropped.add(1, ordering: .relaxed)
            return
        }
        let before = pending.count
        fill(&pending)
        appended += UInt64(pending.count - before)
        let target = appended
        if !writerStarted {
            startWriter()
        } else if writerIdle || (writerLingering && (urgent || pending.count >= capacity / 2)) {
            condition.broadcast()
        }
        if urgent && !stalledNow() { _ = waitUnlessStalled { written >= target } }
    }

    /// Waits for the queue to have room, unless the sink is stalled, or becomes so: the writer
    /// writes nothing for `stallAfter`. Called with the lock held.
    /// - Returns: whether there is room.
    private func waitForRoom() -> Bool {
        guard !stalledNow() else { return false }
        return waitUnlessStalled { pending.count < capacity }
    }

    /// Waits until every line queued before the call has been written.
    /// - Parameter timeout: give up after this long (a writer stuck on a full pipe must not hang
    ///   the process at exit); nil waits as long as it takes.
    /// - Returns: whether everything was written.
    @discardableResult
    public func flush(timeout: Duration? = nil) -> Bool {
        let deadline = timeout.map { MonotonicClock.now() &+ Self.nanoseconds($0) }
        condition.lock()
        defer { condition.unlock() }
        return waitWritten(appended, until: deadline)
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(clamping: max(0, duration.wholeNanoseconds))
    }

    /// Called with the lock held.
    @discardableResult
    private func waitWritten(_ target: UInt64, until deadline: UInt64?) -> Bool {
        if written >= target { return true }
        waiters += 1
        defer { waiters -= 1 }
        if writerIdle || writerLingering { condition.broadcast() }
        while written < target {
            if let deadline {
                if !condition.wait(until: deadline) { return written >= target }
            } else {
                condition.wait()
            }
        }
        return true
    }

    /// Called with the lock held.
    private func startWriter() {
        writerStarted = true
        KernelThread.spawn(name: "jamey-log") { [self] in run() }
    }

    private func run() {
        condition.lock()
        while true {
            while pending.isEmpty {
                writerIdle = true
                condition.wait()
            }
            writerIdle = false
            if waiters == 0 && pending.count < capacity / 2 {
                writerLingering = true
                _ = condition.wait(until: MonotonicClock.now() &+ linger)
                writerLingering = false
            }
            swap(&pending, &spare)
            let end = appended
            condition.unlock()
            spare.withUnsafeBytes { writeAll($0) }
            spare.removeAll(keepingCapacity: spare.capacity <= 4 * capacity)
            condition.lock()
            written = end
            stalledAt = nil
            condition.broadcast()
        }
    }

    /// The most bytes one `write(2)` is given (a Linux pipe's default buffer).
    static let writeChunk = 1 << 16

    /// Writes every byte, retrying partial writes and interruptions; other errors drop the rest
    /// of the batch (there is nowhere left to report them).
    private func writeAll(_ bytes: UnsafeRawBufferPointer) {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            // At most a pipe's buffer per call: a blocking write(2) of a whole batch returns only
            // once all of it is taken, so a slow reader's progress would show only at the end.
            let n = systemWrite(fd, base, min(left, Self.writeChunk))
            if n > 0 {
                progress.add(UInt64(n), ordering: .releasing)
                base += n
                left -= n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return
            }
        }
    }
}

/// `write(2)`, out of reach of ``LogSink``'s own `write` methods.
private func systemWrite(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, base, count)
}
