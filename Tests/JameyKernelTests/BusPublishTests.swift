import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

@Suite("Bus publish and subscribe")
struct BusPublishTests {
    @Test("publish delivers to every matching subscriber with its fields intact")
    func deliversToAllMatching() async throws {
        try await withBus { bus, _ in
            let listener = bus.endpoint(owner: "listener")
            let one = LockedBox<[BusMessage]>([])
            let rest = LockedBox<[BusMessage]>([])
            let exact = LockedBox<[BusMessage]>([])
            let other = LockedBox<[BusMessage]>([])
            try listener.subscribe("sensors.*.temp") {
                one.append($0)
                return true
            }
            try listener.subscribe("sensors.>") {
                rest.append($0)
                return true
            }
            try listener.subscribe("sensors.kitchen.temp") {
                exact.append($0)
                return true
            }
            try listener.subscribe("other.>") {
                other.append($0)
                return true
            }

            let publisher = bus.endpoint(owner: "thermo")
            var message = BusMessage(
                topic: "sensors.kitchen.temp", payload: [1, 2, 3], contentType: "application/json",
                headers: [BusHeader(key: "unit", value: "C"), BusHeader(key: "unit", value: "K")])
            message.replyTo = "ignored"
            message.correlationID = 99
            message.source = "spoofed"
            try publisher.publish(message)
            try publisher.publish(BusMessage(topic: "other.marker"))

            #expect(await eventually { one.count == 1 && rest.count == 1 && exact.count == 1 && other.count == 1 })
            for received in [one.value[0], rest.value[0], exact.value[0]] {
                #expect(received.topic == "sensors.kitchen.temp")
                #expect(received.payload == [1, 2, 3])
                #expect(received.contentType == "application/json")
                #expect(received.headers == [BusHeader(key: "unit", value: "C"), BusHeader(key: "unit", value: "K")])
                #expect(received.source == "thermo")
                #expect(received.replyTo == nil)
                #expect(received.correlationID == 0)
            }
            #expect(other.value.map(\.topic) == ["other.marker"])
        }
    }

    @Test("publishing with no subscribers succeeds")
    func noSubscribers() async throws {
        try await withBus { bus, metrics in
            try bus.endpoint(owner: "lonely").publish(BusMessage(topic: "nobody.listens"))
            #expect(try metrics.expectCounter("jamey_bus_messages_out_total", [("plugin", "lonely")]).totalValue == 1)
        }
    }

    @Test("each publisher's 10k messages arrive in order")
    func perPublisherOrdering() async throws {
        try await withBus { bus, _ in
            let count = 10_000
            let received = LockedBox<[(String, Int)]>([])
            try bus.endpoint(owner: "sink").subscribe("seq.>", capacity: 4 * count) {
                received.append(($0.source, $0.number))
                return true
            }
            let publishers = ["p1", "p2", "p3"].map { bus.endpoint(owner: $0) }
            await withTaskGroup(of: Void.self) { group in
                for publisher in publishers {
                    group.addTask {
                        for index in 0..<count {
                            try? publisher.publish(.numbered("seq.\(publisher.owner)", index))
                        }
                    }
                }
            }
            #expect(await eventually { received.count == publishers.count * count })
            let all = received.value
            for publisher in publishers {
                let sequence = all.filter { $0.0 == publisher.owner }.map(\.1)
                #expect(sequence == Array(0..<count), "order from \(publisher.owner)")
            }
        }
    }

    @Test("a handler never runs concurrently with itself")
    func noSelfConcurrency() async throws {
        try await withBus(BusConfiguration(workerCount: 4, deliveryBatchSize: 3)) { bus, _ in
            let inFlight = Atomic<Int>(0)
            let violations = Atomic<Int>(0)
            let handled = Atomic<Int>(0)
            let perPublisher = 5_000
            let publisherCount = 6
            try bus.endpoint(owner: "serial").subscribe("load.*", capacity: perPublisher * publisherCount) { _ in
                if inFlight.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue > 1 {
                    violations.wrappingAdd(1, ordering: .relaxed)
                }
                var spin = 0
                for value in 0..<50 { spin &+= value }
                _ = spin
                inFlight.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                handled.wrappingAdd(1, ordering: .relaxed)
                return true
            }
            // A second busy subscription so that several workers are active at once.
            try bus.endpoint(owner: "other").subscribe("load.>", capacity: perPublisher * publisherCount) { _ in true }
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<publisherCount {
                    let publisher = bus.endpoint(owner: "pub\(index)")
                    group.addTask {
                        for message in 0..<perPublisher { try? publisher.publish(.numbered("load.\(index)", message)) }
                    }
                }
            }
            #expect(await eventually { handled.load(ordering: .relaxed) == perPublisher * publisherCount })
            #expect(violations.load(ordering: .relaxed) == 0)
        }
    }

    @Test("a handler may publish without deadlocking")
    func publishFromHandler() async throws {
        try await withBus { bus, _ in
            let relay = bus.endpoint(owner: "relay")
            let sink = LockedBox<[Int]>([])
            try bus.endpoint(owner: "sink").subscribe("chain.b", capacity: 1_000) {
                sink.append($0.number)
                return true
            }
            try relay.subscribe("chain.a", capacity: 1_000) { message in
                (try? relay.publish(.numbered("chain.b", message.number))) != nil
            }
            let source = bus.endpoint(owner: "source")
            for index in 0..<500 { try source.publish(.numbered("chain.a", index)) }
            #expect(await eventually { sink.count == 500 })
            #expect(sink.value == Array(0..<500))
        }
    }
}
