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
        lock.withLock { $0 = result }
        ready.store(true, ordering: .releasing)
        lock.signal()
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
