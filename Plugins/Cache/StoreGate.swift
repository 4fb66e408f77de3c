#if canImport(Glibc)
    import Glibc
#endif

/// A readers-writer lock that prefers writers (glibc's `PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP`):
/// loads hold it shared while they write their value to the tiers, and an invalidation holds it
/// exclusively for the moment it marks loads stale (``CacheNamespace``). Preferring writers, a
/// steady stream of loads cannot keep an invalidation waiting for ever.
final class StoreGate: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` holding the lock shared (with other shared holders, never with an exclusive one).
    func shared<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` holding the lock alone, once every shared holder has let go.
    func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
