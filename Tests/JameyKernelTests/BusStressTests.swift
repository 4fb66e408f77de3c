import Foundation
import JameyTestKit
import MetricsTestKit
import Synchronization
import Testing

@testable import JameyKernel

/// A message carrying its publisher and its sequence number within that publisher.
private func tagged(_ topic: String, publisher: Int, sequence: Int) -> BusMessage {
    let value = UInt64(publisher) << 32 | UInt64(sequence)
    return BusMessage(topic: topic, payload: (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) })
}

extension Arrivals {
    /// Records a message made by ``tagged(_:publisher:sequence:)``.
    fileprivate func record(_ message: BusMessage) {
        let value = message.payload.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << ($1.offset * 8) }
        record(publisher: Int(value >> 32), sequence: Int(value & 0xffff_ffff))
    }
}

@Suite("Bus mailbox under stress")
struct BusStressTests {
    @Test("many publishers into one mailbox: every message once, each publisher's in order")
    func manyPublishers() async throws {
        try await withBus { bus, _ in
            let publishers = 8
            let each = 20_000
            let arrivals = Arrivals()
            let id = try bus.endpoint(owner: "sink").subscribe("stress.many", capacity: publishers * each) { message in
                arrivals.record(message)
                return true
            }
            concurrently(publishers) { index in
                let endpoint = bus.endpoint(owner: "p\(index)")
                for sequence in 0..<each { try? endpoint.publish(tagged("stress.many", publisher: index, sequence: sequence)) }
            }
            #expect(await eventually(timeout: .seconds(120)) { arrivals.total == publishers * each })
            #expect(bus.dropCount(subscription: id) == 0)
            #expect(arrivals.inOrderOnce)
            for index in 0..<publishers { #expect(arrivals.sequences(of: index) == Array(0..<each)) }
        }
    }

    @Test(
        "a slow consumer behind a small mailbox: delivered once in order or counted as dropped",
        arguments: [OverflowPolicy.dropNewest, .dropOldest])
    func slowConsumer(policy: OverflowPolicy) async throws {
        try await withBus { bus, metrics in
            let publishers = 4
            let each = 5_000
            let arrivals = Arrivals()
            let handled = Atomic<Int>(0)
            let id = try bus.endpoint(owner: "slow").subscribe("stress.slow", capacity: 64, overflow: policy) { message in
                arrivals.record(message)
                if handled.add(1, ordering: .relaxed).newValue % 64 == 0 { usleep(200) }
                return true
            }
            concurrently(publishers) { index in
                let endpoint = bus.endpoint(owner: "p\(index)")
                for sequence in 0..<each { try? endpoint.publish(tagged("stress.slow", publisher: index, sequence: sequence)) }
            }
            let published = publishers * each
            #expect(
                await eventually(timeout: .seconds(120)) {
                    arrivals.total + (bus.dropCount(subscription: id) ?? 0) == published
                })
            let drops = bus.dropCount(subscription: id) ?? -1
            #expect(drops > 0)
            #expect(arrivals.total + drops == published)
            #expect(try metrics.expectCounter("jamey_bus_dropped_total", [("plugin", "slow")]).totalValue == Int64(drops))
            #expect(arrivals.inOrderOnce)
        }
    }

    @Test("handlers that publish back to each other and to themselves deliver everything once, in order")
    func publishBack() async throws {
        try await withBus { bus, _ in
            let rounds = 20_000
            let ping = bus.endpoint(owner: "ping")
            let pong = bus.endpoint(owner: "pong")
            let pings = Mutex<[Int]>([])
            let pongs = Mutex<[Int]>([])
            try ping.subscribe("stress.ping") { message in
                pings.withLock { $0.append(message.number) }
                try? ping.publish(.numbered("stress.pong", message.number))
                return true
            }
            try pong.subscribe("stress.pong") { message in
                pongs.withLock { $0.append(message.number) }
                if message.number + 1 < rounds { try? pong.publish(.numbered("stress.ping", message.number + 1)) }
                return true
            }
            // And one subscription that feeds itself a burst of 8 per message while others run.
            let own = Mutex<[Int]>([])
            let selfish = bus.endpoint(owner: "self")
            try selfish.subscribe("stress.self", capacity: 100_000) { message in
                own.withLock { $0.append(message.number) }
                if message.number % 8 == 0 && message.number + 8 < 40_000 {
                    for next in (message.number + 1)...(message.number + 8) {
                        try? selfish.publish(.numbered("stress.self", next))
                    }
                }
                return true
            }
            try ping.publish(.numbered("stress.ping", 0))
            try selfish.publish(.numbered("stress.self", 0))
            #expect(await eventually(timeout: .seconds(120)) { pongs.withLock { $0.count } == rounds })
            #expect(pings.withLock { $0 } == Array(0..<rounds))
            #expect(pongs.withLock { $0 } == Array(0..<rounds))
            #expect(await eventually(timeout: .seconds(120)) { own.withLock { $0.count } == 40_000 - 7 })
            #expect(own.withLock { $0 } == Array(0..<(40_000 - 7)))
        }
    }

    @Test("shutdown with a full mailbox: every message delivered once or counted as dropped")
    func shutdownWithFullQueue() async throws {
        let metrics = TestMetricsBox()
        let bus = MessageBus(
            configuration: BusConfiguration(defaultRequestTimeout: .seconds(120), workerCount: 2),
            metricsFactory: metrics.metrics)
        let gate = BusGate()
        let started = LockedBox(false)
        let arrivals = Arrivals()
        let capacity = 10_000
        let id = try bus.endpoint(owner: "full").subscribe("stress.full", capacity: capacity) { message in
            started.set(true)
            gate.wait()
            arrivals.record(message)
            return true
        }
        let publisher = bus.endpoint(owner: "p0")
        try publisher.publish(tagged("stress.full", publisher: 0, sequence: 0))
        #expect(await eventually { started.value })
        let published = 3 * capacity
        for sequence in 1..<published { try publisher.publish(tagged("stress.full", publisher: 0, sequence: sequence)) }
        let drops = bus.dropCount(subscription: id) ?? -1
        #expect(drops == published - capacity - 1)
        // Shutdown waits for the queue to drain (within its deadline) while the handler is released.
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { gate.open() }
        bus.shutdown(deadline: .seconds(60))
        #expect(arrivals.total + drops == published)
        #expect(arrivals.inOrderOnce)
        #expect(
            try metrics.metrics.expectCounter("jamey_bus_dropped_total", [("plugin", "full")]).totalValue == Int64(drops))
        #expect(throws: BusError.shutdown) { try publisher.publish(tagged("stress.full", publisher: 0, sequence: published)) }
    }

    @Test("a drained burst far beyond the usual depth releases the mailbox's storage")
    func drainedBurstReleasesStorage() async throws {
        try await withBus { bus, _ in
            let gate = BusGate()
            let started = LockedBox(false)
            let handled = Atomic<Int>(0)
            let endpoint = bus.endpoint(owner: "burst")
            let burst = 2 * Subscription.keptSlots
            let id = try endpoint.subscribe("stress.burst", capacity: burst + 1) { _ in
                started.set(true)
                gate.wait()
                handled.add(1, ordering: .relaxed)
                return true
            }
            try endpoint.publish(.numbered("stress.burst", 0))
            #expect(await eventually { started.value })
            let message = BusMessage.numbered("stress.burst", 1)
            for _ in 0..<burst { try endpoint.publish(message) }
            let subscription = try #require(bus.routes.subscription(id: id))
            #expect(subscription.mailbox.withLock { $0.queue.capacity } >= burst)
            gate.open()
            #expect(await eventually(timeout: .seconds(120)) { handled.load(ordering: .relaxed) == burst + 1 })
            #expect(await eventually { subscription.mailbox.withLock { $0.queue.capacity } == 0 })
            #expect(bus.dropCount(subscription: id) == 0)
        }
    }

    @Test("requestSync reuses its thread's waiter: replies never cross, after a timeout or when nested")
    func requestSyncOnOneThread() async throws {
        try await withBus { bus, _ in
            let responder = bus.endpoint(owner: "echo")
            try busSubscribeEcho(responder, "stress.echo")
            // A direct responder that itself makes a blocking request (nested on the same thread).
            try responder.subscribe("stress.nested", responder: true, direct: true) { request in
                guard let replyTo = request.replyTo,
                    let inner = try? responder.requestSync(.numbered("stress.echo", request.number + 1000))
                else { return false }
                try? responder.reply(
                    to: replyTo, correlationID: request.correlationID,
                    BusMessage(topic: replyTo, payload: inner.payload))
                return true
            }
            // A responder that answers late: its request times out, the reply arrives afterwards.
            let gate = BusGate()
            try responder.subscribe("stress.late", responder: true) { request in
                gate.wait()
                if let replyTo = request.replyTo {
                    try? responder.reply(to: replyTo, correlationID: request.correlationID, .numbered(replyTo, 99))
                }
                return true
            }
            let requester = bus.endpoint(owner: "requester")
            let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<[String], Never>) in
                Thread.detachNewThread {
                    var problems: [String] = []
                    for index in 0..<2_000 {
                        let reply = try? requester.requestSync(.numbered("stress.echo", index))
                        let expected = BusMessage.numbered("x", index).payload.reversed()
                        if reply.map({ Array($0.payload) }) != Array(expected) { problems.append("echo \(index)") }
                    }
                    do {
                        _ = try requester.requestSync(.numbered("stress.late", 0), timeout: .milliseconds(50))
                        problems.append("late: no timeout")
                    } catch {
                        if (error as? BusError) != .timeout { problems.append("late: \(error)") }
                    }
                    gate.open()
                    for index in 0..<200 {
                        let reply = try? requester.requestSync(.numbered("stress.nested", index))
                        let expected = BusMessage.numbered("x", index + 1000).payload.reversed()
                        if reply.map({ Array($0.payload) }) != Array(expected) { problems.append("nested \(index)") }
                        let echo = try? requester.requestSync(.numbered("stress.echo", index))
                        let echoed = BusMessage.numbered("x", index).payload.reversed()
                        if echo.map({ Array($0.payload) }) != Array(echoed) { problems.append("after nested \(index)") }
                    }
                    continuation.resume(returning: problems)
                }
            }
            #expect(outcome.isEmpty, "\(outcome.prefix(5))")
        }
    }

    @Test("a subscription closed with a full mailbox counts what it discards as dropped")
    func closeCountsDiscarded() async throws {
        try await withBus { bus, metrics in
            let gate = BusGate()
            let started = LockedBox(false)
            let handled = Atomic<Int>(0)
            let endpoint = bus.endpoint(owner: "closing")
            let id = try endpoint.subscribe("stress.close", capacity: 100) { _ in
                started.set(true)
                gate.wait()
                handled.add(1, ordering: .relaxed)
                return true
            }
            try endpoint.publish(.numbered("stress.close", 0))
            #expect(await eventually { started.value })
            for index in 1...150 { try endpoint.publish(.numbered("stress.close", index)) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { gate.open() }
            #expect(endpoint.unsubscribe(id))
            let dropped = try metrics.expectCounter("jamey_bus_dropped_total", [("plugin", "closing")]).totalValue
            #expect(Int64(handled.load(ordering: .relaxed)) + dropped == 151)
        }
    }
}

/// Test metrics for a bus the test shuts down itself.
private struct TestMetricsBox {
    let metrics = TestMetrics()
}
