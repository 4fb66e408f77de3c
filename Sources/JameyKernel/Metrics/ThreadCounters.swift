import CJameySystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Counter slots that each thread owns: a counter with a slot is added to by a load and a store
/// in the calling thread's block, and read by summing every thread's block.
///
/// An atomic addition is a locked instruction, and on x86 a locked instruction waits for all of
/// the thread's earlier stores. On the bus's publish path those are the stores of the record
/// just written to lines its subscriber's worker reads: one counted publish paid for them all
/// (`jamey_lane.h`). Only `JAMEY_THREAD_COUNTER_SLOTS` counters get a slot (the first ones made,
/// and slots of released counters are reused); the rest count atomically
/// (``FastCounter``).
///
/// A thread's block is registered at its first count and folded into the totals when the thread
/// exits (a pthread key's destructor).
enum ThreadCounters {
    private struct Registry {
        /// Every live thread's block (addresses: pointers are not `Sendable`).
        var blocks: [UInt] = []
        /// What exited threads counted, per slot.
        var retired = [UInt64](repeating: 0, count: slotCount)
        var free: [Int] = Array((0..<slotCount).reversed())
    }

    static let slotCount = Int(JAMEY_THREAD_COUNTER_SLOTS)

    private static let registry = Mutex(Registry())

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { block in
            guard let block else { return }
            ThreadCounters.retire(block.assumingMemoryBound(to: UInt64.self))
        }
        return key
    }()

    /// A free slot, zeroed in every block, or nil when all are taken.
    static func claim() -> Int? {
        registry.withLock { $0.free.popLast() }
    }

    /// Gives a slot back (its counter is gone: no thread adds to it any more).
    static func release(_ slot: Int) {
        registry.withLock { registry in
            registry.retired[slot] = 0
            for block in registry.blocks { jamey_counter_store(pointer(block) + slot, 0) }
            registry.free.append(slot)
        }
    }

    /// Adds `amount` to `slot` in the calling thread's block.
    @inline(__always)
    static func add(_ amount: UInt64, slot: Int) {
        let block = jamey_thread_counter_block() ?? register()
        jamey_counter_add(block + slot, amount)
    }

    /// The total of `slot` over every thread, exited ones included.
    static func total(slot: Int) -> UInt64 {
        registry.withLock { registry in
            registry.blocks.reduce(registry.retired[slot]) { $0 &+ jamey_counter_load(pointer($1) + slot) }
        }
    }

    /// The calling thread's block, made and registered.
    @inline(never)
    private static func register() -> UnsafeMutablePointer<UInt64> {
        let block = UnsafeMutablePointer<UInt64>.allocate(capacity: slotCount)
        block.initialize(repeating: 0, count: slotCount)
        let address = UInt(bitPattern: block)
        registry.withLock { $0.blocks.append(address) }
        jamey_thread_counter_set_block(block)
        pthread_setspecific(key, block)
        return block
    }

    @inline(__always)
    private static func pointer(_ address: UInt) -> UnsafeMutablePointer<UInt64> {
        UnsafeMutablePointer(bitPattern: address)!
    }

    /// Folds an exiting thread's block into the totals and frees it.
    private static func retire(_ block: UnsafeMutablePointer<UInt64>) {
        let address = UInt(bitPattern: block)
        registry.withLock { registry in
            let block = pointer(address)
            for slot in 0..<slotCount { registry.retired[slot] &+= jamey_counter_load(block + slot) }
            registry.blocks.removeAll { $0 == address }
        }
        jamey_thread_counter_set_block(nil)
        block.deallocate()
    }
}
