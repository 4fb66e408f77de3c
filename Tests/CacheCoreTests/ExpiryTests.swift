import Synchronization
import Testing

@testable import CacheCore

@Suite struct ExpiryTests {
    let second: UInt64 = 1_000_000_000

    @Test func anEntryExpiresWithinOneTickOfItsDeadline() {
        let tick: UInt64 = 100
        let cache = BoundedCache<String, Int>(capacity: 100, policy: .tinyLFU, tick: tick, now: 0)
        cache.put("k", 1, weight: 1, ttl: 250, now: 0)
        #expect(cache.peek("k", now: 249) == 1)
        // At the deadline a read already misses; the wheel removes it by the next tick boundary.
        #expect(cache.peek("k", now: 250) == nil)
        cache.expire(now: 299)
        #expect(cache.count == 1, "tick 2 ends at 299; the entry's bucket is tick 3")
        cache.expire(now: 300)
        #expect(cache.count == 0, "expired at most one tick (100) after its deadline (250)")
        #expect(cache.currentStatistics.evictionsExpired == 1)
    }

    @Test func everyDeadlineIsMetWithinOneTickAcrossManyTurns() {
        var wheel = TimerWheel(tick: 10, buckets: 8, now: 0)
        var deadlines: [Int32: UInt64] = [:]
        var rng = SplitMix(seed: 9)
        for slot in Int32(0)..<500 {
            let d = 1 + rng.next() % 2000  // up to 25 turns of an 8-bucket wheel
            deadlines[slot] = d
            wheel.schedule(slot, at: d)
        }
        var now: UInt64 = 0
        while now < 2100 {
            now += 1 + rng.next() % 7
            wheel.advance(to: now) { slot in
                let d = deadlines.removeValue(forKey: slot) ?? 0
                #expect(d <= now, "never early")
                #expect(now - d < 10 + 7, "late by less than a tick plus the step")
            }
        }
        #expect(deadlines.isEmpty)
        #expect(wheel.count == 0)
    }

    @Test func cancelAndRescheduleAreExact() {
        var wheel = TimerWheel(tick: 10, now: 0)
        wheel.schedule(1, at: 50)
        wheel.schedule(2, at: 50)
        wheel.cancel(1)
        wheel.schedule(2, at: 500)
        var fired: [Int32] = []
        wheel.advance(to: 100) { fired.append($0) }
        #expect(fired.isEmpty)
        wheel.advance(to: 510) { fired.append($0) }
        #expect(fired == [2])
    }

    @Test func aConcurrentCacheExpiresOnItsInjectedClock() {
        let clock = ManualClock()
        let cache = ConcurrentCache<String, Int>(capacity: 1000, stripes: 4, tick: second, clock: { clock.now })
        cache.put("a", 1, weight: 1, ttl: 5 * second)
        cache.put("b", 2, weight: 1)
        clock.advance(4 * second)
        #expect(cache.get("a") == 1)
        clock.advance(2 * second)
        #expect(cache.get("a") == nil)
        cache.expire()
        #expect(cache.statistics.entries == 1)
        #expect(cache.get("b") == 2)
    }

    /// A read asks the clock only while some entry of its stripe has a deadline, and then
    /// expires on time exactly as before: a TTL put after a long time without any still expires
    /// one TTL later, not earlier, and an entry without TTL stays.
    @Test func aReadAsksTheClockOnlyWhileEntriesCanExpire() {
        let clock = ManualClock()
        let cache = ConcurrentCache<String, Int>(capacity: 1000, stripes: 1, tick: second, clock: { clock.now })
        cache.put("b", 2, weight: 1)
        let before = clock.reads
        for _ in 0..<10 { #expect(cache.get("b") == 2) }
        #expect(cache.get("missing") == nil)
        #expect(clock.reads == before, "no entry can expire: no clock read")
        clock.advance(1_000 * second)
        cache.put("a", 1, weight: 1, ttl: 5 * second)
        clock.advance(4 * second)
        #expect(cache.get("a") == 1)
        #expect(clock.reads > before)
        clock.advance(2 * second)
        #expect(cache.get("a") == nil, "past its deadline")
        #expect(cache.statistics.evictionsExpired == 1)
        #expect(cache.get("b") == 2)
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let value = Atomic<UInt64>(1_000)
    private let readCount = Atomic<Int>(0)
    /// How many times `now` was read.
    var reads: Int { readCount.load(ordering: .relaxed) }
    var now: UInt64 {
        readCount.add(1, ordering: .relaxed)
        return value.load(ordering: .relaxed)
    }
    func advance(_ by: UInt64) { value.add(by, ordering: .relaxed) }
}
