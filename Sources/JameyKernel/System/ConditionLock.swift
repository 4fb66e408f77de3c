#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A pthread mutex guarding a value, with condition variables on the monotonic clock.
///
/// The bus uses it where a thread must sleep until state changes (idle workers, the request
/// timer, a blocking `requestSync`). Plain state without waiting uses `Mutex` instead.
///
/// The `lock()`/`unlock()`/`wait` methods exist for loops that release the lock part-way
/// (worker and timer threads); everything else should use ``withLock(_:)``. ``state`` may only be
/// touched while the lock is held, which is why the class is `@unchecked Sendable`.
final class ConditionLock<State>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int
    private let storage: UnsafeMutablePointer<State>

    /// Creates the lock.
    /// - Parameters:
    ///   - initial: The guarded value.
    ///   - conditions: How many distinct condition variables callers wait on (indices from 0).
    init(_ initial: State, conditions: Int = 1) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        conditionCount = conditions
        self.conditions = .allocate(capacity: conditions)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        for index in 0..<conditions {
            pthread_cond_init(self.conditions + index, &attributes)
        }
        pthread_condattr_destroy(&attributes)
        storage = .allocate(capacity: 1)
        storage.initialize(to: initial)
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
        for index in 0..<conditionCount {
            pthread_cond_destroy(conditions + index)
        }
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// The guarded value; only while the lock is held.
    @inline(__always)
    var state: UnsafeMutablePointer<State> { storage }

    /// Acquires the lock.
    @inline(__always)
    func lock() { pthread_mutex_lock(mutex) }

    /// Releases the lock.
    @inline(__always)
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    @inline(__always)
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&storage.pointee)
    }

    /// Waits on condition `index`; the lock must be held and is held again on return.
    @inline(__always)
    func wait(_ index: Int = 0) {
        pthread_cond_wait(conditions + index, mutex)
    }

    /// Waits on condition `index` until `deadline` (``MonotonicClock`` nanoseconds).
    /// - Returns: `false` when the deadline passed.
    func wait(_ index: Int = 0, until deadline: UInt64) -> Bool {
        if deadline == .max {
            pthread_cond_wait(conditions + index, mutex)
            return true
        }
        var time = timespec(
            tv_sec: Int(clamping: deadline / 1_000_000_000),
            tv_nsec: Int(deadline % 1_000_000_000)
        )
        return pthread_cond_timedwait(conditions + index, mutex, &time) != ETIMEDOUT
    }

    /// Wakes one waiter of condition `index` (with or without the lock held).
    @inline(__always)
    func signal(_ index: Int = 0) { pthread_cond_signal(conditions + index) }

    /// Wakes every waiter of condition `index` (with or without the lock held).
    @inline(__always)
    func broadcast(_ index: Int = 0) { pthread_cond_broadcast(conditions + index) }
}
