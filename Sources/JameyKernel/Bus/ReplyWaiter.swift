import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Where a blocking ``BusEndpoint/requestSync(_:timeout:)`` waits for its completion.
///
/// The waiting thread first spins briefly, since an in-process reply usually arrives within
/// microseconds: it looks without yielding for 2 µs (a reply through a bus worker takes 1.5–2 µs,
/// a `sched_yield` 0.3–0.5 µs on a VM), then yields between looks. Then it sleeps on a condition
/// variable. The completion takes the lock only when the waiter sleeps: each side stores its
/// flag (`ready`, `sleeping`) and then reads the other's, both sequentially consistent, so at
/// least one of them sees the other's.
///
/// How long it spins adapts to the replies this waiter (its thread's) saw lately: 20 µs, or
/// twice their moving average while that is under 100 µs (at most 200 µs). Waking a sleeping
/// thread costs about 50 µs on a VM, so a handler taking 20–100 µs (a SQLite read) used to cost
/// its caller that much again; a slower one is not worth spinning for, and pays the wake-up as
/// before.
final class ReplyWaiter: @unchecked Sendable {
    private static let spinNanoseconds: UInt64 = 20_000
    private static let pollNanoseconds: UInt64 = 2_000
    /// Replies whose moving average is under this are spun for (twice the average).
    private static let adaptiveNanoseconds: UInt64 = 100_000
    /// The moving average (7/8 old, 1/8 new) of this waiter's waits that got their reply, each
    /// counted as at most 200 µs, in nanoseconds; touched by the waiting thread only.
    private var recent: UInt64 = 0

    private let ready = Atomic<Bool>(false)
    private let sleeping = Atomic<Bool>(false)
    /// Written by ``complete(_:)`` before it publishes `ready`; read after seeing it.
    private var result: Result<BusMessage, BusError>?
    private let lock = ConditionLock<Void>(())

    /// Delivers the result; called exactly once, from a bus thread.
    @Sendable
    func complete(_ result: Result<BusMessage, BusError>) {
        self.result = result
        ready.store(true, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) {
            // The waiter holds the lock from before it looks at `ready` until it waits, so the
            // signal cannot fall between its look and its wait.
            lock.lock()
            lock.signal()
            lock.unlock()
        }
    }

    /// Makes the waiter ready for another request (its previous one has completed, or will never
    /// complete: see ``take()``). A completion still between its `ready` and its signal can at
    /// most wake the next wait spuriously, which the wait loop absorbs.
    func reset() {
        result = nil
        ready.store(false, ordering: .releasing)
    }

    /// Blocks until ``complete(_:)`` has been called or `deadline` (``MonotonicClock``
    /// nanoseconds, `.max` for none) has passed.
    /// - Returns: The result, or `nil` at the deadline.
    func wait(until deadline: UInt64) -> Result<BusMessage, BusError>? {
        let start = MonotonicClock.now()
        let spin = recent < Self.adaptiveNanoseconds ? max(Self.spinNanoseconds, 2 * recent) : Self.spinNanoseconds
        // How long it waited: the spin's last look, or read again after sleeping.
        var elapsed: UInt64 = 0
        while !ready.load(ordering: .acquiring) {
            elapsed = MonotonicClock.now() &- start
            if elapsed > spin {
                sleep(until: deadline)
                elapsed = MonotonicClock.now() &- start
                break
            }
            if elapsed >= Self.pollNanoseconds { sched_yield() }
        }
        guard ready.load(ordering: .acquiring) else { return nil }
        // Each wait counts for at most twice the bound, so a rare slow reply (a page fault, a
        // preempted handler) does not stop the spinning for a handler that is usually quick.
        recent = (recent * 7 + min(elapsed, 2 * Self.adaptiveNanoseconds)) / 8
        return result
    }

    /// Sleeps until `ready` or `deadline`.
    private func sleep(until deadline: UInt64) {
        lock.lock()
        sleeping.store(true, ordering: .sequentiallyConsistent)
        while !ready.load(ordering: .sequentiallyConsistent) {
            if !lock.wait(until: deadline) { break }
        }
        sleeping.store(false, ordering: .relaxed)
        lock.unlock()
    }
}

extension ReplyWaiter {
    /// The calling thread's spare waiter, kept between ``BusEndpoint/requestSync(_:timeout:)``
    /// calls so that a blocking request allocates no lock, condition or waiter of its own.
    private static let spare: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            Unmanaged<ReplyWaiter>.fromOpaque(pointer).release()
        }
        return key
    }()

    /// The thread's spare waiter, or a new one when it has none (or a request of this thread is
    /// already using it: a direct responder's handler may itself call `requestSync`).
    ///
    /// Hand it back with ``give(_:)`` only once no completion can reach it any more:
    /// `requestSync` returns after its completion ran, or after it took its request back from the
    /// timer (then the completion is never called), or when the request was never sent.
    static func take() -> ReplyWaiter {
        guard let raw = pthread_getspecific(spare) else { return ReplyWaiter() }
        pthread_setspecific(spare, nil)
        return Unmanaged<ReplyWaiter>.fromOpaque(raw).takeRetainedValue()
    }

    /// Keeps `waiter` as the thread's spare (reset), unless the thread already has one.
    static func give(_ waiter: ReplyWaiter) {
        guard pthread_getspecific(spare) == nil else { return }
        waiter.reset()
        pthread_setspecific(spare, Unmanaged.passRetained(waiter).toOpaque())
    }
}
