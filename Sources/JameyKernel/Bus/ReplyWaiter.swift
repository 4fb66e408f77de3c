import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Where a blocking ``BusEndpoint/requestSync(_:timeout:)`` waits for its completion.
///
/// The waiting thread first spins briefly (yielding the processor), since an in-process reply
/// usually arrives within microseconds, then sleeps on a condition variable.
final class ReplyWaiter: Sendable {
    private static let spinNanoseconds: UInt64 = 20_000

    private let ready = Atomic<Bool>(false)
    private let lock = ConditionLock<Result<BusMessage, BusError>?>(nil)

    /// Delivers the result; called exactly once, from a bus thread.
    @Sendable
    func complete(_ result: Result<BusMessage, BusError>) {
        // `ready` is set under the lock, so once the waiter has read the result (under the lock)
        // and reset itself for the next request, no late store can mark it ready again; a late
        // signal is only a spurious wake-up, which the wait loop absorbs.
        lock.withLock {
            $0 = result
            ready.store(true, ordering: .releasing)
        }
        lock.signal()
    }

    /// Makes the waiter ready for another request (its previous one has completed, or will never
    /// complete: see ``take()``).
    func reset() {
        lock.withLock { $0 = nil }
        ready.store(false, ordering: .releasing)
    }

    /// Blocks until ``complete(_:)`` has been called or `deadline` (``MonotonicClock``
    /// nanoseconds, `.max` for none) has passed.
    /// - Returns: The result, or `nil` at the deadline.
    func wait(until deadline: UInt64) -> Result<BusMessage, BusError>? {
        let start = MonotonicClock.now()
        while !ready.load(ordering: .acquiring) {
            if MonotonicClock.now() &- start > Self.spinNanoseconds { break }
            sched_yield()
        }
        lock.lock()
        while lock.state.pointee == nil {
            if !lock.wait(until: deadline) { break }
        }
        let result = lock.state.pointee
        lock.unlock()
        return result
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
