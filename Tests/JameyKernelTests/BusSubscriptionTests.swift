import Testing

@testable import JameyKernel

@Suite("Bus unsubscribe")
struct BusSubscriptionTests {
    @Test("unsubscribe stops delivery; only the owner can unsubscribe")
    func unsubscribeStopsDelivery() async throws {
        try await withBus { bus, _ in
            let listener = bus.endpoint(owner: "listener")
            let received = BusInbox<Int>()
            let marker = BusInbox<Int>()
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
            #expect(await busEventually { received.count == 1 })

            #expect(bus.endpoint(owner: "intruder").unsubscribe(id) == false)
            try publisher.publish(.numbered("news.a", 2))
            #expect(await busEventually { received.count == 2 })

            #expect(listener.unsubscribe(id))
            #expect(listener.unsubscribe(id) == false)
            #expect(bus.dropCount(subscription: id) == nil)
            for index in 3..<10 { try publisher.publish(.numbered("news.a", index)) }
            try publisher.publish(.numbered("marker.x", 0))
            #expect(await busEventually { marker.count == 1 })
            #expect(received.all == [1, 2])
        }
    }

    @Test("when unsubscribe returns, the running handler has finished")
    func unsubscribeWaitsForRunningHandler() async throws {
        try await withBus { bus, _ in
            let gate = BusGate()
            let started = BusFlag()
            let finished = BusFlag()
            let listener = bus.endpoint(owner: "listener")
            let id = try listener.subscribe("slow.job") { _ in
                started.set()
                gate.wait()
                finished.set()
                return true
            }
            try bus.endpoint(owner: "kernel").publish(BusMessage(topic: "slow.job"))
            try bus.endpoint(owner: "kernel").publish(BusMessage(topic: "slow.job"))
            #expect(await busEventually { started.isSet })
            let unsubscribed = BusFlag()
            async let finishedWhenReturned: Bool = busOnThread {
                let removed = listener.unsubscribe(id)
                unsubscribed.set()
                return removed && finished.isSet
            }
            #expect(unsubscribed.isSet == false)
            gate.open()
            #expect(await finishedWhenReturned)
        }
    }

    @Test("a handler may unsubscribe itself; nothing is delivered after that")
    func unsubscribeFromOwnHandler() async throws {
        try await withBus { bus, _ in
            let listener = bus.endpoint(owner: "listener")
            let ownID = BusBox<UInt64>()
            let handled = BusInbox<Int>()
            let removed = BusBox<Bool>()
            let id = try listener.subscribe("once.only", capacity: 100) { message in
                handled.append(message.number)
                if removed.get == nil, let id = ownID.get { removed.set(listener.unsubscribe(id)) }
                return true
            }
            ownID.set(id)
            for index in 0..<20 { try bus.endpoint(owner: "kernel").publish(.numbered("once.only", index)) }
            #expect(await busEventually { removed.get != nil })
            #expect(removed.get == true)
            #expect(handled.all == [0])
            #expect(bus.dropCount(subscription: id) == nil)
        }
    }

    @Test("unsubscribeAll ends every subscription of the owner and no other")
    func unsubscribeAll() async throws {
        try await withBus { bus, _ in
            let plugin = bus.endpoint(owner: "plugin")
            let other = bus.endpoint(owner: "other")
            let pluginSeen = BusInbox<String>()
            let otherSeen = BusInbox<String>()
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
            #expect(await busEventually { otherSeen.count == 1 })
            #expect(pluginSeen.count == 0)
        }
    }
}
