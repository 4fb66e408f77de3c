import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

#if canImport(Glibc)
    import Glibc
#endif

/// The mailboxes' lock (jamey_lock.h): mutual exclusion under contention from threads that spin
/// and from threads that fall asleep on the futex, and the wake-up of a sleeper.
@Suite struct ShortLockTests {
    @Test func contendingThreadsNeverOverlapAndLoseNoUpdate() async {
        // A plain (non-atomic) read-modify-write, stretched across a yield now and then so that
        // overlapping holders would lose updates; some holders sleep inside the lock so that
        // waiters also go through the futex.
        let lock = ShortLock((count: 0, inside: 0, overlaps: 0))
        let threads = 4
        let rounds = 20_000
        await withTaskGroup(of: Void.self) { group in
            for thread in 0..<threads {
                group.addTask {
                    await onThread {
                        for round in 0..<rounds {
                            lock.withLock { state in
                                state.inside += 1
                                if state.inside != 1 { state.overlaps += 1 }
                                let seen = state.count
                                if round % 1000 == thread { usleep(200) } else if round % 64 == 0 { sched_yield() }
                                state.count = seen + 1
                                state.inside -= 1
                            }
                        }
                    }
                }
            }
        }
        let final = lock.withLock { $0 }
        #expect(final.count == threads * rounds)
        #expect(final.overlaps == 0)
        #expect(final.inside == 0)
    }

    @Test func aWaiterAsleepOnTheLockIsWokenByTheRelease() async {
        let lock = ShortLock(0)
        let entered = Atomic<Bool>(false)
        let holder = Task {
            await onThread {
                lock.withLock { value in
                    entered.store(true, ordering: .sequentiallyConsistent)
                    // Far longer than the spin: the waiter sleeps on the futex meanwhile.
                    usleep(50_000)
                    value = 1
                }
            }
        }
        while !entered.load(ordering: .sequentiallyConsistent) { await Task.yield() }
        let seen = await onThread { lock.withLock { $0 } }
        #expect(seen == 1, "the waiter got the lock only after the holder's write")
        await holder.value
        #expect(lock.withLock { $0 } == 1)
    }
}
