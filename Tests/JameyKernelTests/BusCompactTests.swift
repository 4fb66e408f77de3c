import CJameyABI
import Foundation
import JameyTestKit
import MetricsTestKit
import Synchronization
import Testing

@testable import JameyKernel

// The compact delivery path: events published as C bytes to C handlers go through each
// subscription's CompactRing, never a BusMessage. These tests drive it through the same kernel
// calls the ABI uses (`publishCompact`, `.abi` handlers) and check the bus's guarantees.

/// A C-handler subscription, as the host's `subscribe` makes it.
extension BusEndpoint {
    @discardableResult
    fileprivate func subscribeC(
        _ pattern: String, capacity: Int? = nil, overflow: OverflowPolicy = .dropNewest, direct: Bool = false,
        _ body: @escaping @Sendable (UnsafePointer<jamey_message>) -> Bool
    ) throws -> UInt64 {
        try subscribe(pattern, capacity: capacity, overflow: overflow, responder: false, direct: direct, handler: .abi(body))
    }

    /// Publishes `payload` on `topic` as the host's `publish` does for plain bytes.
    /// - Returns: whether it took the compact path.
    @discardableResult
    fileprivate func publishC(_ topic: String, _ payload: [UInt8]) throws -> Bool {
        let outcome: Result<Bool, BusError> = topic.withCString { t in
            payload.withUnsafeBytes { bytes in
                do throws(BusError) {
                    return .success(try publishCompact(topic: t, payload: bytes))
                } catch {
                    return .failure(error)
                }
            }
        }
        return try outcome.get()
    }
}

/// A payload carrying (publisher, sequence) and `extra` bytes derived from them, so that a
/// record's bytes can be checked whole.
private func tagged(publisher: Int, sequence: Int, extra: Int = 0) -> [UInt8] {
    let value = UInt64(publisher) << 32 | UInt64(sequence)
    var bytes = (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    for index in 0..<extra { bytes.append(UInt8(truncatingIfNeeded: publisher &+ sequence &+ index)) }
    return bytes
}

/// What a C handler saw (``Arrivals``), and whether every payload, topic and source was intact.
private final class CArrivals: Sendable {
    let arrivals = Arrivals()
    private let damaged = Atomic<Int>(0)

    func record(_ message: UnsafePointer<jamey_message>, topic: String, sources: Set<String>) {
        let m = message.pointee
        let bytes = [UInt8](UnsafeRawBufferPointer(start: m.payload, count: m.payload_len))
        guard bytes.count >= 8 else {
            damaged.add(1, ordering: .relaxed)
            return
        }
        let value = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << ($1.offset * 8) }
        let publisher = Int(value >> 32)
        let sequence = Int(value & 0xffff_ffff)
        let intact =
            bytes == tagged(publisher: publisher, sequence: sequence, extra: bytes.count - 8)
            && m.topic.map { String(cString: $0) } == topic
            && m.source.map { sources.contains(String(cString: $0)) } == true
            && m.struct_size == UInt32(MemoryLayout<jamey_message>.size)
        if !intact { damaged.add(1, ordering: .relaxed) }
        arrivals.record(publisher: publisher, sequence: sequence)
    }

    var total: Int { arrivals.total }
    var damagedCount: Int { damaged.load(ordering: .relaxed) }
    var inOrderOnce: Bool { arrivals.inOrderOnce }
    func sequences(of publisher: Int) -> [Int] { arrivals.sequences(of: publisher) }
}

@Suite("Bus compact mailboxes (C handlers)")
struct BusCompactTests {
    @Test("many publishers of varied sizes into one C mailbox: every event once, intact, each publisher's in order")
    func manyPublishers() async throws {
        try await withBus { bus, _ in
            let publishers = 8
            let each = 20_000
            let arrivals = CArrivals()
            let sources = Set((0..<publishers).map { "p\($0)" })
            let id = try bus.endpoint(owner: "sink").subscribeC("compact.many", capacity: publishers * each) {
                arrivals.record($0, topic: "compact.many", sources: sources)
                return true
            }
            let compact = Atomic<Int>(0)
            concurrently(publishers) { index in
                let endpoint = bus.endpoint(owner: "p\(index)")
                for sequence in 0..<each {
                    // Sizes from 8 to 308 bytes: records wrap the ring's end at every offset.
                    let payload = tagged(publisher: index, sequence: sequence, extra: (sequence * 7) % 301)
                    if (try? endpoint.publishC("compact.many", payload)) == true { compact.add(1, ordering: .relaxed) }
                }
            }
            #expect(compact.load(ordering: .relaxed) == publishers * each)
            #expect(await eventually(timeout: .seconds(120)) { arrivals.total == publishers * each })
            #expect(bus.dropCount(subscription: id) == 0)
            #expect(arrivals.damagedCount == 0)
            #expect(arrivals.inOrderOnce)
            for index in 0..<publishers { #expect(arrivals.sequences(of: index) == Array(0..<each)) }
        }
    }

    @Test("publishes handed from thread to thread keep their order across the lane's bias and its revocations")
    func handedOverPublishes() async throws {
        try await withBus { bus, _ in
            let arrivals = CArrivals()
            let turns = 40
            // Longer than it takes to bias the lane to a thread at first (64 in a row), shorter
            // than the wait after a few revocations: the lane goes biased, revoked, locked.
            let burst = 150
            let id = try bus.endpoint(owner: "sink").subscribeC("compact.handover", capacity: turns * burst) {
                arrivals.record($0, topic: "compact.handover", sources: ["p0"])
                return true
            }
            let endpoint = bus.endpoint(owner: "p0")
            let sequence = Atomic<Int>(0)
            // Two threads take turns; each turn starts after the previous one ended (the
            // semaphores order them), so every publish happens-before the next one.
            let turnsOf = [DispatchSemaphore(value: 1), DispatchSemaphore(value: 0)]
            concurrently(2) { thread in
                for turn in stride(from: thread, to: turns, by: 2) {
                    turnsOf[thread].wait()
                    for _ in 0..<burst {
                        let next = sequence.add(1, ordering: .relaxed).oldValue
                        _ = try? endpoint.publishC("compact.handover", tagged(publisher: 0, sequence: next, extra: turn % 17))
                    }
                    turnsOf[1 - thread].signal()
                }
            }
            #expect(await eventually(timeout: .seconds(60)) { arrivals.total == turns * burst })
            #expect(bus.dropCount(subscription: id) == 0)
            #expect(arrivals.damagedCount == 0)
            #expect(arrivals.sequences(of: 0) == Array(0..<(turns * burst)))
        }
    }

    @Test(
        "a slow C consumer behind a small mailbox: delivered once in order or counted as dropped",
        arguments: [OverflowPolicy.dropNewest, .dropOldest])
    func slowConsumer(policy: OverflowPolicy) async throws {
        try await withBus { bus, metrics in
            let publishers = 4
            let each = 5_000
            let arrivals = CArrivals()
            let handled = Atomic<Int>(0)
            let sources = Set((0..<publishers).map { "p\($0)" })
            let id = try bus.endpoint(owner: "slow").subscribeC("compact.slow", capacity: 64, overflow: policy) {
                arrivals.record($0, topic: "compact.slow", sources: sources)
                if handled.add(1, ordering: .relaxed).newValue % 64 == 0 { usleep(200) }
                return true
            }
            concurrently(publishers) { index in
                let endpoint = bus.endpoint(owner: "p\(index)")
                for sequence in 0..<each {
                    _ = try? endpoint.publishC("compact.slow", tagged(publisher: index, sequence: sequence, extra: 56))
                }
            }
            let drops = try #require(bus.dropCount(subscription: id))
            #expect(drops > 0)
            #expect(await eventually(timeout: .seconds(120)) { arrivals.total + drops == publishers * each })
            #expect(arrivals.inOrderOnce)
            #expect(arrivals.damagedCount == 0)
            #expect(
                try metrics.expectCounter("jamey_bus_dropped_total", [("plugin", "slow")]).totalValue == Int64(drops))
            if policy == .dropOldest {
                // The newest events survive: the last publisher to finish had its last one
                // delivered.
                #expect((0..<publishers).contains { arrivals.sequences(of: $0).last == each - 1 })
            }
        }
    }

    @Test("events as C bytes and messages with headers from one publisher arrive in one order")
    func compactAndBoxedKeepOneOrder() async throws {
        try await withBus { bus, _ in
            let order = LockedBox<[String]>([])
            try bus.endpoint(owner: "sink").subscribeC("compact.mixed", capacity: 10_000) { message in
                let m = message.pointee
                let bytes = [UInt8](UnsafeRawBufferPointer(start: m.payload, count: m.payload_len))
                let header = m.header_count == 1 ? String(cString: m.headers![0].value) : "-"
                order.append("\(bytes.first ?? 0)/\(header)/\(String(cString: m.source))")
                return true
            }
            let publisher = bus.endpoint(owner: "mixed")
            var expected: [String] = []
            for index in 0..<200 {
                let byte = UInt8(index % 250)
                if index % 3 == 0 {
                    try publisher.publish(
                        BusMessage(topic: "compact.mixed", payload: [byte], headers: [BusHeader(key: "n", value: "\(index)")]))
                    expected.append("\(byte)/\(index)/mixed")
                } else {
                    #expect(try publisher.publishC("compact.mixed", [byte]))
                    expected.append("\(byte)/-/mixed")
                }
            }
            #expect(await eventually { order.value.count == expected.count })
            #expect(order.value == expected)
        }
    }

    @Test("a C handler that publishes back, to itself and to another C handler: every event counted once")
    func handlerPublishesBack() async throws {
        try await withBus { bus, _ in
            let endpoint = bus.endpoint(owner: "loop")
            let echoes = Atomic<Int>(0)
            let bounces = Atomic<Int>(0)
            let rounds = 2_000
            try endpoint.subscribeC("compact.echo", capacity: 100_000) { _ in
                echoes.add(1, ordering: .relaxed)
                return true
            }
            try endpoint.subscribeC("compact.bounce", capacity: 100_000) { message in
                let m = message.pointee
                let bytes = [UInt8](UnsafeRawBufferPointer(start: m.payload, count: m.payload_len))
                bounces.add(1, ordering: .relaxed)
                // Forward to the other subscription, and once back to this one.
                _ = try? endpoint.publishC("compact.echo", bytes)
                if bytes.first == 0 { _ = try? endpoint.publishC("compact.bounce", [1]) }
                return true
            }
            for _ in 0..<rounds { try endpoint.publishC("compact.bounce", [0]) }
            #expect(await eventually(timeout: .seconds(60)) { echoes.load(ordering: .relaxed) == 2 * rounds })
            #expect(bounces.load(ordering: .relaxed) == 2 * rounds)
        }
    }

    @Test("shutdown with a full C mailbox: every event delivered once or counted as dropped")
    func shutdownWithAFullMailbox() async throws {
        let metrics = TestMetrics()
        let bus = MessageBus(configuration: BusConfiguration(workerCount: 2), metricsFactory: metrics)
        let gate = BusGate()
        let started = LockedBox(false)
        let handled = Atomic<Int>(0)
        let endpoint = bus.endpoint(owner: "full")
        let capacity = 1_000
        let id = try endpoint.subscribeC("compact.full", capacity: capacity) { _ in
            started.set(true)
            gate.wait()
            handled.add(1, ordering: .relaxed)
            return true
        }
        let subscription = try #require(bus.routes.subscription(id: id))
        try endpoint.publishC("compact.full", [0])
        #expect(await eventually { started.value })
        var published = 1
        for index in 1...(3 * capacity) where (try? endpoint.publishC("compact.full", [UInt8(index % 256)])) != nil {
            published += 1
        }
        #expect(subscription.dropCount == published - 1 - capacity)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { gate.open() }
        bus.shutdown(deadline: .milliseconds(1))
        #expect(await eventually { !subscription.isRunning })
        #expect(handled.load(ordering: .relaxed) + subscription.dropCount == published)
        #expect(throws: BusError.shutdown) { try endpoint.publishC("compact.full", [1]) }
    }

    @Test("a C handler that closes its own subscription mid-batch: the rest is counted as dropped")
    func closeFromOwnHandler() async throws {
        try await withBus { bus, _ in
            let endpoint = bus.endpoint(owner: "closer")
            let handled = Atomic<Int>(0)
            let gate = BusGate()
            let id = Mutex<UInt64>(0)
            let subscriptionID = try endpoint.subscribeC("compact.close", capacity: 1_000) { _ in
                gate.wait()
                if handled.add(1, ordering: .relaxed).newValue == 10 { endpoint.unsubscribe(id.withLock { $0 }) }
                return true
            }
            id.withLock { $0 = subscriptionID }
            let subscription = try #require(bus.routes.subscription(id: subscriptionID))
            for index in 0..<500 { try endpoint.publishC("compact.close", [UInt8(index % 256)]) }
            gate.open()
            #expect(await eventually { handled.load(ordering: .relaxed) == 10 && !subscription.isRunning })
            #expect(subscription.dropCount == 490)
        }
    }

    @Test("a direct C subscription runs on the publisher's thread; a Swift subscriber on the route takes the general path")
    func directAndMixedRoutes() async throws {
        try await withBus { bus, _ in
            let endpoint = bus.endpoint(owner: "direct")
            let thread = LockedBox<pthread_t?>(nil)
            try endpoint.subscribeC("compact.direct", direct: true) { message in
                thread.set(pthread_self())
                return message.pointee.payload_len == 3 && String(cString: message.pointee.source) == "direct"
            }
            #expect(try endpoint.publishC("compact.direct", [1, 2, 3]))
            #expect(thread.value.map { pthread_equal($0, pthread_self()) != 0 } == true)

            let swiftSeen = LockedBox<[BusMessage]>([])
            let cSeen = Atomic<Int>(0)
            try endpoint.subscribe("compact.both") { message in
                swiftSeen.append(message)
                return true
            }
            try endpoint.subscribeC("compact.both") { _ in
                cSeen.add(1, ordering: .relaxed)
                return true
            }
            // Not compact: a Swift handler matches. The host then publishes a BusMessage.
            #expect(try endpoint.publishC("compact.both", [9]) == false)
            try endpoint.publish(BusMessage(topic: "compact.both", payload: [9]))
            #expect(await eventually { swiftSeen.value.count == 1 && cSeen.load(ordering: .relaxed) == 1 })
            #expect(swiftSeen.value.first?.payload == [9])
        }
    }

    @Test("a bad topic is refused on the compact path as on the general one")
    func badTopics() async throws {
        try await withBus { bus, _ in
            let endpoint = bus.endpoint(owner: "bad")
            try endpoint.subscribeC("compact.>") { _ in true }
            for topic in ["", "compact..x", "compact.*", "compact.>"] {
                #expect(throws: BusError.self) { try endpoint.publishC(topic, [1]) }
            }
            // Invalid UTF-8 is left to the general path (which repairs it).
            let invalid: [CChar] = [0x63, CChar(bitPattern: 0xff), 0]
            let compact = invalid.withUnsafeBufferPointer { t in
                try? endpoint.publishCompact(topic: t.baseAddress!, payload: UnsafeRawBufferPointer(start: nil, count: 0))
            }
            #expect(compact == false)
        }
    }

    @Test("a drained C burst far beyond the usual depth releases the lane's blocks")
    func drainedBurstReleasesStorage() async throws {
        try await withBus { bus, _ in
            let gate = BusGate()
            let started = LockedBox(false)
            let handled = Atomic<Int>(0)
            let endpoint = bus.endpoint(owner: "burst")
            let payload = [UInt8](repeating: 7, count: 64)
            let burst = 2 * Subscription.keptBytes / CompactRing.recordSize(topicLength: 13, payloadLength: 64)
            let id = try endpoint.subscribeC("compact.burst", capacity: burst + 1) { _ in
                started.set(true)
                gate.wait()
                handled.add(1, ordering: .relaxed)
                return true
            }
            try endpoint.publishC("compact.burst", payload)
            #expect(await eventually { started.value })
            for _ in 0..<burst { try endpoint.publishC("compact.burst", payload) }
            let subscription = try #require(bus.routes.subscription(id: id))
            let lane = try #require(subscription.lane)
            #expect(lane.blockBytes > Subscription.keptBytes)
            gate.open()
            #expect(await eventually(timeout: .seconds(120)) { handled.load(ordering: .relaxed) == burst + 1 })
            // The burst's blocks are freed as they are consumed; the lane keeps the producer's
            // current block and one spare.
            #expect(await eventually { lane.blockBytes <= 2 * Lane.standardBlockBytes })
            #expect(bus.dropCount(subscription: id) == 0)
        }
    }
}

@Suite("CompactRing")
struct CompactRingTests {
    @Test("random appends and removals match a reference queue, through wraps and growth")
    func matchesAReferenceQueue() {
        var generator = SystemRandomNumberGenerator()
        var ring = CompactRing()
        var reference: [(kind: CompactRing.Kind, payload: [UInt8], topic: String)] = []
        var batch = CompactBatch()
        let source = OwnerNames.cString("ring-test")
        for step in 0..<20_000 {
            let action = Int.random(in: 0..<10, using: &generator)
            if action < 6 {
                if action == 5 {
                    ring.appendBoxed()
                    reference.append((.boxed, [], ""))
                } else {
                    let payload = (0..<Int.random(in: 0..<200, using: &generator)).map { UInt8(truncatingIfNeeded: $0 &+ step) }
                    let topic = "t.\(step % 97)"
                    topic.withCString { t in
                        payload.withUnsafeBytes {
                            ring.appendEvent(topic: t, topicLength: strlen(t), payload: $0, source: source)
                        }
                    }
                    reference.append((.event, payload, topic))
                }
            } else if action < 8 {
                let kind = ring.dropFirst()
                #expect(kind == reference.first?.kind)
                if !reference.isEmpty { reference.removeFirst() }
            } else {
                // Half the takes exchange storage with the batch (all records, wrapped and padded
                // as they lie in the ring), half copy up to a limit; the batch is reused, so the
                // ring goes on in storage a batch gave it.
                let limit = action == 9 ? reference.count : Int.random(in: 1...40, using: &generator)
                let boxed = action == 9 ? ring.takeAll(into: &batch) : ring.popFirst(upTo: limit, into: &batch)
                let taken = Array(reference.prefix(limit))
                reference.removeFirst(taken.count)
                #expect(boxed == taken.filter { $0.kind == .boxed }.count)
                var index = 0
                let accepted = batch.forEach { kind, message in
                    let expected = taken[index]
                    index += 1
                    guard kind == expected.kind else { return false }
                    if kind == .boxed { return true }
                    let m = message.pointee
                    return [UInt8](UnsafeRawBufferPointer(start: m.payload, count: m.payload_len)) == expected.payload
                        && String(cString: m.topic) == expected.topic && m.source == source
                }
                #expect(accepted == taken.count)
                let skip = Int.random(in: 0...taken.count, using: &generator)
                let left = batch.remaining(skipping: skip)
                #expect(left.events == taken.dropFirst(skip).filter { $0.kind == .event }.count)
                #expect(left.boxed == taken.dropFirst(skip).filter { $0.kind == .boxed }.count)
                batch.removeAll()
            }
            #expect(ring.count == reference.count)
            #expect(ring.boxedCount == reference.filter { $0.kind == .boxed }.count)
        }
        let events = reference.filter { $0.kind == .event }.count
        #expect(ring.removeAll() == events)
        #expect(ring.isEmpty)
        #expect(ring.shrinkIfEmpty(above: 0) > 0)
        #expect(ring.capacity == 0)
    }
}
