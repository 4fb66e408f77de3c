import Foundation
import JameyTestKit
import Testing

@testable import Cache

/// The lock between a namespace's stores (shared) and its invalidations (exclusive).
@Suite struct StoreGateTests {
    @Test func sharedHoldersOverlapAndAnExclusiveOneWaitsForThem() async {
        let gate = StoreGate()
        let inside = LockedBox(0)
        let allInside = DispatchSemaphore(value: 0)
        let seenInside = LockedBox<Int?>(nil)
        let overlapped = LockedBox(false)
        await onThread {
            let group = DispatchGroup()
            for _ in 0..<3 {
                DispatchQueue.global().async(group: group) {
                    gate.shared {
                        if inside.withLock({ value -> Int in
                            value += 1
                            return value
                        }) == 3 {
                            allInside.signal()
                        }
                        // Stay until all three are in (they can be only if they share the lock).
                        for _ in 0..<500 where inside.value < 3 { usleep(10_000) }
                        usleep(50_000)
                        inside.withLock { $0 -= 1 }
                    }
                }
            }
            overlapped.set(allInside.wait(timeout: .now() + 5) == .success)
            gate.exclusive { seenInside.set(inside.value) }
            group.wait()
        }
        #expect(overlapped.value, "three shared holders were in at once")
        #expect(seenInside.value == 0, "the exclusive holder got in only after every shared one left")
        #expect(inside.value == 0)
    }

    @Test func aStreamOfSharedHoldersDoesNotStarveAnExclusiveOne() async {
        // Shared holders that overlap without a gap would keep a reader-preferring lock from
        // ever being taken exclusively; this one prefers the writer.
        let gate = StoreGate()
        let running = LockedBox(true)
        let acquired = LockedBox(false)
        let whileBusy = LockedBox(false)
        await onThread {
            let group = DispatchGroup()
            for _ in 0..<8 {
                DispatchQueue.global().async(group: group) {
                    while running.value { gate.shared { usleep(5_000) } }
                }
            }
            usleep(50_000)
            let taker = Thread { gate.exclusive { acquired.set(true) } }
            taker.start()
            // A liveness bound, not a speed target: a starved writer never gets in.
            for _ in 0..<1000 where !acquired.value { usleep(10_000) }
            whileBusy.set(acquired.value)
            running.set(false)
            group.wait()
        }
        #expect(whileBusy.value, "the exclusive holder got in while shared holders kept coming")
    }
}
