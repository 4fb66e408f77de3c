import CJameySystem

/// A value guarded by a lock for short critical sections taken in turn by threads on different
/// processors (`jamey_lock.h`: spins with a pause hint, then sleeps on a plain futex).
///
/// The bus's mailboxes use it instead of `Mutex`, whose Linux implementation is a
/// priority-inheritance futex: a publisher that found its subscriber's worker taking a batch went
/// into the kernel's rt_mutex path for it. The lock word and the value share one allocation,
/// the word first, so that taking the lock brings the value's first bytes into the cache.
///
/// The value is only touched inside ``withLock(_:)``, which is why the class is
/// `@unchecked Sendable`.
final class ShortLock<Value>: @unchecked Sendable {
    private let block: UnsafeMutableRawPointer
    private static var valueOffset: Int { max(MemoryLayout<UInt32>.size, MemoryLayout<Value>.alignment) }

    /// A lock guarding `value`.
    init(_ value: consuming Value) {
        block = .allocate(
            byteCount: Self.valueOffset + MemoryLayout<Value>.size,
            alignment: max(MemoryLayout<UInt32>.alignment, MemoryLayout<Value>.alignment))
        block.initializeMemory(as: UInt32.self, repeating: 0, count: 1)
        (block + Self.valueOffset).initializeMemory(as: Value.self, to: value)
    }

    deinit {
        (block + Self.valueOffset).assumingMemoryBound(to: Value.self).deinitialize(count: 1)
        block.deallocate()
    }

    /// Runs `body` with the value while holding the lock. `body` must not take this lock again.
    @inline(__always)
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        let word = block.assumingMemoryBound(to: UInt32.self)
        jamey_lock_acquire(word)
        defer { jamey_lock_release(word) }
        return body(&(block + Self.valueOffset).assumingMemoryBound(to: Value.self).pointee)
    }
}
