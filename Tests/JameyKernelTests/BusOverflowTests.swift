import JameyTestKit
import Testing

@testable import JameyKernel

@Suite("Bus mailbox overflow")
struct BusOverflowTests {
    /// Blocks the handler on message 0, publishes 1...10 into a mailbox of 4, then releases it.
    private func overflow(_ policy: OverflowPolicy) async throws -> (received: [Int], drops: Int?, metric: Int64) {
        try await withBus { bus, metrics in
            let gate = BusGate()
            let started = LockedBox(false)
            let received = LockedBox<[Int]>([])
            let id = try bus.endpoint(owner: "slow").subscribe("jobs.run", capacity: 4, overflow: policy) { message in
                if message.number == 0 {
                    started.set(true)
                    gate.wait()
                }
                received.append(message.number)
                return true
            }
            let publisher = bus.endpoint(owner: "producer")
            try publisher.publish(.numbered("jobs.run", 0))
            #expect(await eventually { started.value })
            for index in 1...10 { try publisher.publish(.numbered("jobs.run", index)) }
            let drops = bus.dropCount(subscription: id)
            let metric = try metrics.expectCounter("jamey_bus_dropped_total", [("plugin", "slow")]).totalValue
            gate.open()
            #expect(await eventually { received.count == 5 })
            return (received.value, drops, metric)
        }
    }

    @Test("dropNewest drops the arriving messages and counts them")
    func dropNewest() async throws {
        let result = try await overflow(.dropNewest)
        #expect(result.drops == 6)
        #expect(result.metric == 6)
        #expect(result.received == [0, 1, 2, 3, 4])
    }

    @Test("dropOldest evicts the oldest queued messages and counts them")
    func dropOldest() async throws {
        let result = try await overflow(.dropOldest)
        #expect(result.drops == 6)
        #expect(result.metric == 6)
        #expect(result.received == [0, 7, 8, 9, 10])
    }

    @Test(
        "a full responder refuses requests with queueFull, whatever its policy",
        arguments: [OverflowPolicy.dropNewest, .dropOldest])
    func requestToFullMailbox(policy: OverflowPolicy) async throws {
        try await withBus { bus, _ in
            let gate = BusGate()
            let started = LockedBox(false)
            let responder = bus.endpoint(owner: "busy")
            let id = try responder.subscribe("svc.busy", capacity: 1, overflow: policy) { request in
                started.set(true)
                gate.wait()
                try? responder.reply(to: request.replyTo!, correlationID: request.correlationID, BusMessage(topic: "r"))
                return true
            }
            let client = bus.endpoint(owner: "client")
            let first = LockedBox<Result<BusMessage, BusError>?>(nil)
            let second = LockedBox<Result<BusMessage, BusError>?>(nil)
            try client.request(BusMessage(topic: "svc.busy")) { first.set($0) }
            #expect(await eventually { started.value })
            try client.request(BusMessage(topic: "svc.busy")) { second.set($0) }
            await #expect(throws: BusError.queueFull) { try await client.request(BusMessage(topic: "svc.busy")) }
            #expect(bus.dropCount(subscription: id) == 0)
            gate.open()
            #expect(await eventually { first.value != nil && second.value != nil })
            #expect((try? first.value?.get())?.source == "busy")
            #expect((try? second.value?.get())?.source == "busy")
        }
    }

    @Test("a queued request evicted by dropOldest fails with queueFull")
    func evictedRequest() async throws {
        try await withBus { bus, _ in
            let gate = BusGate()
            let started = LockedBox(false)
            try bus.endpoint(owner: "svc").subscribe("mixed.topic", capacity: 1, overflow: .dropOldest) { _ in
                started.set(true)
                gate.wait()
                return true
            }
            let client = bus.endpoint(owner: "client")
            try client.publish(BusMessage(topic: "mixed.topic"))
            #expect(await eventually { started.value })
            let outcome = LockedBox<Result<BusMessage, BusError>?>(nil)
            try client.request(BusMessage(topic: "mixed.topic")) { outcome.set($0) }
            try client.publish(BusMessage(topic: "mixed.topic"))
            #expect(await eventually { outcome.value != nil })
            #expect(throws: BusError.queueFull) { try outcome.value?.get() }
            gate.open()
        }
    }
}
