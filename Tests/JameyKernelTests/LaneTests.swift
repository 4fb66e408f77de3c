import CJameyABI
import CJameySystem
import Foundation
import Synchronization
import Testing

@testable import JameyKernel

/// The lane on its own: one producer thread, one consumer thread, no bus.
@Suite("Lane (lock-free mailbox queue)")
struct LaneTests {
    /// Appends an event whose payload is `payload` on topic `t`.
    private func append(_ lane: Lane, _ payload: [UInt8], source: UnsafePointer<CChar>) -> Lane.Append {
        "t".withCString { topic in
            payload.withUnsafeBytes { lane.appendEvent(topic: topic, topicLength: 1, payload: $0, source: source) }
        }
    }

    @Test("records cross blocks intact and in order, large ones in blocks of their own, between two threads")
    func producerToConsumer() throws {
        let lane = Lane(capacity: 1 << 20)
        defer { lane.destroy() }
        let count = 20_000
        let source = OwnerNames.cString("lane-test")
        let sourceBits = UInt(bitPattern: source)
        // Sizes up to 3 blocks: most records share standard blocks, some need their own.
        let size: @Sendable (Int) -> Int = { $0 % 997 == 0 ? 3 * Lane.standardBlockBytes : ($0 * 13) % 700 }
        let producer = Thread {
            let source = UnsafePointer<CChar>(bitPattern: sourceBits)!
            for index in 0..<count {
                var payload = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size(index) + 4)
                withUnsafeBytes(of: UInt32(index)) { payload.replaceSubrange(0..<4, with: $0) }
                #expect(self.append(lane, payload, source: source) != .full)
            }
        }
        producer.start()
        var seen = 0
        var intact = true
        var message = jamey_message()
        let deadline = Date().addingTimeInterval(60)
        while seen < count && Date() < deadline {
            guard let record = lane.next() else { continue }
            #expect(!Lane.isBoxed(record))
            Lane.describe(record, into: &message)
            let bytes = UnsafeRawBufferPointer(start: message.payload, count: message.payload_len)
            let index = Int(bytes.loadUnaligned(as: UInt32.self))
            intact =
                intact && index == seen && bytes.count == size(seen) + 4
                && bytes.dropFirst(4).allSatisfy { $0 == UInt8(truncatingIfNeeded: seen) }
                && String(cString: message.topic) == "t" && message.source == source
            lane.take(record)
            seen += 1
        }
        #expect(seen == count)
        #expect(intact)
        #expect(lane.next() == nil)
        #expect(lane.depth == 0)
    }

    @Test("a full lane refuses, frees room as the consumer takes, and a closed one refuses everything")
    func capacityAndClose() throws {
        let lane = Lane(capacity: 3)
        defer { lane.destroy() }
        let source = OwnerNames.cString("lane-test")
        #expect(append(lane, [1], source: source) == .queued(schedule: true))
        #expect(append(lane, [2], source: source) == .queued(schedule: false))
        #expect(append(lane, [3], source: source) == .queued(schedule: false))
        #expect(append(lane, [4], source: source) == .full)
        #expect(lane.depth == 3)
        let first = try #require(lane.next())
        lane.take(first)
        #expect(append(lane, [5], source: source) == .queued(schedule: false))
        // A boxed message keeps its place among the events and comes out whole.
        #expect(lane.appendBoxed(BusMessage(topic: "boxed", payload: [9])).0 == .full)
        var kinds: [String] = []
        while let record = lane.next() {
            kinds.append(Lane.isBoxed(record) ? "boxed" : "event")
            lane.take(record)
            Lane.release(record)
        }
        #expect(kinds == ["event", "event", "event"])
        let (outcome, back) = lane.appendBoxed(BusMessage(topic: "boxed", payload: [9]))
        #expect(outcome == .queued(schedule: false))
        #expect(back == nil)
        lane.closeProducers()
        #expect(append(lane, [6], source: source) == .closed)
        var boxed: [BusMessage] = []
        #expect(lane.discardAll { boxed.append($0) } == 0)
        #expect(boxed.map(\.topic) == ["boxed"])
        #expect(boxed.first?.payload == [9])
    }

    @Test("a request record keeps its place among events, lays out as a request, and a discard hands back its id")
    func requestRecords() throws {
        let lane = Lane(capacity: 16)
        defer { lane.destroy() }
        let source = OwnerNames.cString("asker")
        #expect(append(lane, [1], source: source) == .queued(schedule: true))
        let outcome = "svc.echo".withCString { topic in
            [UInt8]([7, 8, 9]).withUnsafeBytes {
                lane.appendRequest(topic: topic, topicLength: 8, payload: $0, source: source, correlationID: 41)
            }
        }
        #expect(outcome == .queued(schedule: false))
        #expect(append(lane, [2], source: source) == .queued(schedule: false))
        var seen: [String] = []
        var message = jamey_message()
        while let record = lane.next() {
            if Lane.isRequest(record) {
                Lane.describeRequest(record, into: &message)
                let payload = Array(UnsafeRawBufferPointer(start: message.payload, count: message.payload_len))
                #expect(payload == [7, 8, 9])
                #expect(String(cString: message.topic) == "svc.echo")
                #expect(String(cString: message.source) == "asker")
                #expect(String(cString: message.reply_to) == RequestTimer.replyAddress)
                #expect(message.correlation_id == 41)
                seen.append("request")
            } else {
                seen.append(Lane.isBoxed(record) ? "boxed" : "event")
            }
            lane.take(record)
        }
        #expect(seen == ["event", "request", "event"])
        // Closed with a request queued: the discard gives its correlation id (to be failed).
        _ = "svc.echo".withCString { topic in
            [UInt8]([1]).withUnsafeBytes {
                lane.appendRequest(topic: topic, topicLength: 8, payload: $0, source: source, correlationID: 42)
            }
        }
        lane.closeProducers()
        var ids: [UInt64] = []
        #expect(lane.discardAll({ _ in }, request: { ids.append($0) }) == 0)
        #expect(ids == [42])
    }

    @Test("a consumer that leaves the lane idle misses no record its producer published meanwhile")
    func leavingIdleMissesNothing() throws {
        // The worker's protocol without the pool: the producer schedules the lane only when it
        // finds it idle; the consumer drains it while running, then leaves it. Every record is
        // consumed, and the lane is never run by two at once.
        let lane = Lane(capacity: 1 << 20)
        defer { lane.destroy() }
        let sourceBits = UInt(bitPattern: OwnerNames.cString("lane-test"))
        let count = 200_000
        let scheduled = Atomic<Int>(0)
        let consumed = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let producer = Thread {
            let source = UnsafePointer<CChar>(bitPattern: sourceBits)!
            for index in 0..<count {
                if case .queued(true) = self.append(lane, [UInt8(truncatingIfNeeded: index)], source: source) {
                    scheduled.add(1, ordering: .relaxed)
                }
                if index % 1000 == 0 { usleep(50) }
            }
        }
        let consumer = Thread {
            var expected = 0
            while !stop.load(ordering: .relaxed) {
                guard lane.claim(from: .scheduled) else { continue }
                repeat {
                    while let record = lane.next() {
                        let byte = record.load(fromByteOffset: CompactRing.headerSize, as: UInt8.self)
                        if byte != UInt8(truncatingIfNeeded: expected) { stop.store(true, ordering: .relaxed) }
                        expected += 1
                        lane.take(record)
                    }
                    consumed.store(expected, ordering: .relaxed)
                } while lane.leave()
            }
        }
        producer.start()
        consumer.start()
        let deadline = Date().addingTimeInterval(60)
        while consumed.load(ordering: .relaxed) < count && Date() < deadline && !stop.load(ordering: .relaxed) {
            usleep(1000)
        }
        let finished = consumed.load(ordering: .relaxed)
        stop.store(true, ordering: .relaxed)
        #expect(finished == count)
        #expect(scheduled.load(ordering: .relaxed) >= 1)
        #expect(lane.state == .idle)
    }
}

@Suite("Thread-owned counters")
struct ThreadCountersTests {
    @Test("counts from many threads, exited ones included, add up exactly; a released slot starts from zero")
    func countsAddUp() throws {
        let threads = 16
        let each = 10_000
        do {
            let counter = FastCounter()
            concurrently(threads) { _ in
                for _ in 0..<each { counter.increment(by: 1) }
            }
            // Pool threads may or may not have exited: the total is the same either way.
            #expect(counter.value == UInt64(threads * each))
            let done = DispatchSemaphore(value: 0)
            let exiting = Thread {
                counter.increment(by: 5)
                done.signal()
            }
            exiting.start()
            done.wait()
            #expect(counter.value == UInt64(threads * each + 5))
            // Counted again after the thread exited (its block folded into the totals).
            usleep(50_000)
            #expect(counter.value == UInt64(threads * each + 5))
        }
        // The released slot (most likely the one reused here) reads zero for the new counter.
        let next = FastCounter()
        #expect(next.value == 0)
        next.increment(by: 2)
        next.increment(by: -1)
        #expect(next.value == 2)
    }
}

@Suite("Grouped handler timing")
struct GroupedCallTimerTests {
    @Test("fast calls share their group's time; a slow one keeps its own, and the rest are timed one by one")
    func groupsThenOneByOne() {
        let calls = 3 * GroupedCallTimer.groupSize + 3
        let slow = GroupedCallTimer.groupSize + 2  // in the second group
        let slowAlone = 2 * GroupedCallTimer.groupSize + 1  // after it, timed one by one
        let group = GroupedCallTimer.groupSize
        var durations = [Int64](repeating: -1, count: calls)
        var start: UInt64 = 0
        var last: UInt64 = 0
        // The first group's eight empty calls must take under a microsecond; an interrupt or a
        // preemption on a loaded machine can stretch it, and then the run says nothing about
        // grouping: it is run again (the expectations below hold for a run whose first group
        // was fast).
        for _ in 0..<100 {
            durations = [Int64](repeating: -1, count: calls)
            durations.withUnsafeMutableBufferPointer { buffer in
                var timer = GroupedCallTimer(into: buffer)
                start = timer.last
                for index in 0..<calls {
                    if index == slow || index == slowAlone { usleep(3_000) }
                    timer.ended(index)
                }
                timer.finish(count: calls)
                last = timer.last
            }
            if durations[0..<group].reduce(0, +) <= Int64(GroupedCallTimer.fastGroupTicks) { break }
        }
        // The sum is the whole span.
        #expect(durations.reduce(0, +) == Int64(last &- start))
        // The first group was fast: every call at most a microsecond's ticks.
        #expect(durations[0..<group].allSatisfy { $0 >= 0 && UInt64($0) <= GroupedCallTimer.fastGroupTicks })
        // The slow group: its whole time (3 ms or more) on one call, 0 on the others.
        let second = Array(durations[group..<(2 * group)])
        #expect(second.filter { UInt64($0) > 2_000 * GroupedCallTimer.fastGroupTicks }.count == 1)
        #expect(second.filter { $0 == 0 }.count == group - 1)
        // Then one by one: the slow call there has its own time, and no other call took it (a
        // call's own microseconds of noise under load do not matter here).
        let third = Array(durations[(2 * group)...])
        #expect(third.allSatisfy { $0 >= 0 })
        #expect(UInt64(durations[slowAlone]) > 2_000 * GroupedCallTimer.fastGroupTicks)
        #expect(third.filter { UInt64($0) > 1_000 * GroupedCallTimer.fastGroupTicks }.count == 1)
    }
}
