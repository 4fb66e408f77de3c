import JameyTestKit
import Testing

@testable import JameyKernel

@Suite("Bus unsubscribe")
struct BusSubscriptionTests {
    @Test("unsubscribe stops delivery; only the owner can unsubscribe")
    func unsubscribeStopsDelivery() async throws {
        try await withBus { bus, _ in
            let listener = bus.endpoint(owner: "listener")
            let received = LockedBox<[Int]>([])
            let marker = LockedBox<[Int]>([])
            let id = try listener.subscribe("news.>") {
                received.append($0.number)
                return true
            }
            try listener.subscribe("marker.x") {
                marker.append($0.number)
                return true
            }
            let publisher = bus.endpoint(owner: "publisher")
            try publisher.publish(.numbered("news.a", 1))
            #expect(await eventually { received.count == 1 })

            #expect(bus.endpoint(owner: "intruder").unsubscribe(id) == false)
            try publisher.publish(.numbered("news.a", 2))
            #expect(await eventually { received.count == 2 })

            #expect(listener.unsubscribe(id))
            #expect(listener.unsubscribe(id) == false)
            #expect(bus.dropCount(subscription: id) == nil)
            for index in 3..<10 { try publisher.publish(.numbered("news.a", index)) }
            try publisher.publish(.numbered("marker.x", 0))
            #expect(await eventually { marker.count == 1 })
            #expect(received.value == [1, 2])
        }
    }

    @Test("when unsubscribe returns, the running handler has finished")
    func unsubscribeWaitsForRunningHandler() async throws {
        try await withBus { bus, _ in
            let gate = BusGate()
            let started = LockedBox(false)
            let finished = LockedBox(false)
            let listener = bus.endpoint(owner: "listener")
            let id = try listener.subscribe("slow.job") { _ in
                started.set(true)
                gate.wait()
                finished.set(true)
                return true
            }
            try bus.endpoint(owner: "kernel").publish(BusMessage(topic: "slow.job"))
            try bus.endpoint(owner: "kernel").publish(BusMessage(topic: "slow.job"))
            #expect(await eventually { started.value })
            let unsubscribed = LockedBox(false)
            async let finishedWhenReturned: Bool = onThread {
                let removed = listener.unsubscribe(id)
                unsubscribed.set(true)
                return removed && finished.value
            }
            #expect(unsubscribed.value == false)
            gate.open()
            #expect(await finishedWhenReturned)
        }
    }

    @Test("a handler may unsubscribe itself; nothing is delivered after that")
    func unsubscribeFromOwnHandler() async throws {
        try await withBus { bus, _ in
            let listener = bus.endpoint(owner: "listener")
            let ownID = LockedBox<UInt64?>(nil)
            let handled = LockedBox<[Int]>([])
            let removed = LockedBox<Bool?>(nil)
            let id = try listener.subscribe("once.only", capacity: 100) { message in
                handled.append(message.number)
                if removed.value == nil, let id = ownID.value { removed.set(listener.unsubscribe(id)) }
                return true
            }
            ownID.set(id)
            for index in 0..<20 { try bus.endpoint(owner: "kernel").publish(.numbered("once.only", index)) }
            #expect(await eventually { removed.value != nil })
            #expect(removed.value == true)
            #expect(handled.value == [0])
            #expect(bus.dropCount(subscription: id) == nil)
        }
    }

    @Test("unsubscribeAll ends every subscription of the owner and no other")
    func unsubscribeAll() async throws {
        try await withBus { bus, _ in
            let plugin = bus.endpoint(owner: "plugin")
            let other = bus.endpoint(owner: "other")
            let pluginSeen = LockedBox<[String]>([])
            let otherSeen = LockedBox<[String]>([])
            let a = try plugin.subscribe("x.a") {
                pluginSeen.append($0.topic)
                return true
            }
            let b = try plugin.subscribe("x.>") {
                pluginSeen.append($0.topic)
                return true
            }
            let c = try other.subscribe("x.>") {
                otherSeen.append($0.topic)
                return true
            }
            plugin.unsubscribeAll()
            #expect(bus.dropCount(subscription: a) == nil)
            #expect(bus.dropCount(subscription: b) == nil)
            #expect(bus.dropCount(subscription: c) == 0)
            try bus.endpoint(owner: "kernel").publish(BusMessage(topic: "x.a"))
            #expect(await eventually { otherSeen.count == 1 })
            #expect(pluginSeen.count == 0)
        }
    }
}
