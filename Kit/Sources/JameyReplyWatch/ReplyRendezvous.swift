import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How long a request watches for its reply before it suspends, in nanoseconds.
@usableFromInline let replyWatchNanoseconds = 10_000

/// How long of that watch looks without yielding, in nanoseconds: a reply
/// through a bus worker takes 1.5–2 µs, and `sched_yield` itself costs 0.3–0.5 µs on a VM, so
/// yielding between looks would find the reply that much later.
@usableFromInline let replyPollNanoseconds = 2_000

/// CLOCK_MONOTONIC in nanoseconds (cheaper than `ContinuousClock` arithmetic in a polling loop).
@inlinable func monotonicNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}

/// Where an async request's reply meets the task awaiting it, shared by the kernel's bus endpoint
/// and the kit's `PluginBus` (two packages on either side of the C ABI).
///
/// A reply through a bus worker comes back in 2–3 µs, while waking a task that has suspended costs
/// a thread wake-up of the concurrency pool: 15–25 µs on this kind of machine. So the task first
/// ``watch()``es for the reply for up to 10 µs, yielding the CPU between looks after the first
/// 2 µs, and
/// ``suspend()``s only if it has not come. The watch is bounded and ``ReplySpin`` stops it for
/// requests whose replies keep arriving later, so the thread is never blocked waiting for the
/// reply itself.
///
/// `complete` and `suspend` race through `state`: whichever comes second hands the value over.
public final class ReplyRendezvous<Value: Sendable>: @unchecked Sendable {
    @usableFromInline static var waiting: Int { 0 }
    @usableFromInline static var completed: Int { 1 }
    @usableFromInline static var suspended: Int { 2 }

    @usableFromInline let state = Atomic<Int>(0)
    /// Set by the first ``completeIfFirst(_:)``.
    @usableFromInline let claimed = Atomic<Bool>(false)
    /// Written by `complete` before it publishes `completed`; read after seeing it.
    @usableFromInline var value: Value?
    /// Written by `suspend` before it publishes `suspended`; read after seeing it.
    @usableFromInline var continuation: CheckedContinuation<Value, Never>?

    @inlinable public init() {}

    /// Delivers the value; called exactly once, on any thread.
    @inlinable public func complete(_ value: Value) {
        self.value = value
        let (won, _) = state.compareExchange(expected: Self.waiting, desired: Self.completed, ordering: .acquiringAndReleasing)
        if !won { continuation?.resume(returning: value) }
    }

    /// Delivers the value unless another completer came first (a reply racing a cancellation):
    /// of several callers, only the first one's value is delivered.
    @inlinable public func completeIfFirst(_ value: Value) {
        guard !claimed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        complete(value)
    }

    /// The value if it arrives within the watch (10 µs), else `nil`. The watch looks without
    /// yielding for up to 2 µs, then yields the processor between looks (a responder sharing it
    /// runs).
    @inlinable public func watch() -> Value? {
        let start = monotonicNanoseconds()
        while true {
            if state.load(ordering: .acquiring) == Self.completed { return value }
            let elapsed = monotonicNanoseconds() &- start
            if elapsed >= replyWatchNanoseconds { break }
            if elapsed >= replyPollNanoseconds { sched_yield() }
        }
        return state.load(ordering: .acquiring) == Self.completed ? value : nil
    }

    /// Suspends until the value arrives (at once if it already has).
    @inlinable public func suspend() async -> Value {
        await withCheckedContinuation { continuation in
            self.continuation = continuation
            let (won, _) = state.compareExchange(
                expected: Self.waiting, desired: Self.suspended, ordering: .acquiringAndReleasing)
            if !won, let value { continuation.resume(returning: value) }
        }
    }

    /// The value if `spin` says to watch for it and it comes within the watch (recording whether
    /// it did), else `nil`: then ``suspend()``. Not `async`, so that taking an early reply costs no
    /// call through the async machinery.
    @inlinable public func early(watching spin: ReplySpin) -> Value? {
        guard spin.shouldWatch else { return nil }
        let early = watch()
        spin.record(hit: early != nil)
        return early
    }
}

/// Decides whether the async requests of one requester (a kit bus, a kernel endpoint) watch for
/// their reply before suspending: after four watches in a row that ended without the reply it
/// stops, except for one request in 32 that probes whether replies have become fast again.
public final class ReplySpin: Sendable {
    @usableFromInline let misses = Atomic<Int>(0)
    @usableFromInline let requests = Atomic<UInt64>(0)

    public init() {}

    @inlinable public var shouldWatch: Bool {
        let n = requests.wrappingAdd(1, ordering: .relaxed).newValue
        return misses.load(ordering: .relaxed) < 4 || n % 32 == 0
    }

    @inlinable public func record(hit: Bool) {
        if hit {
            misses.store(0, ordering: .relaxed)
        } else {
            misses.wrappingAdd(1, ordering: .relaxed)
        }
    }
}
