import Foundation
import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

#if canImport(Glibc)
    import Glibc
#endif

/// Direct subscriptions (`JAMEY_SUBSCRIBE_DIRECT`): the handler runs on the sender's thread,
/// inside its call, with no mailbox.
@Suite struct BusDirectTests {
    /// The calling thread, as a number that can be compared across threads.
    static func currentThread() -> UInt { UInt(pthread_self()) }

    @Test func publishCallsADirectHandlerOnThePublishersThreadBeforeReturning() async throws {
        try await withBus { bus, metrics in
            let seen = LockedBox<[(UInt, [UInt8])]>([])
            try bus.endpoint(owner: "fast").subscribe("direct.events", direct: true) { message in
                seen.append((Self.currentThread(), message.payload))
                return message.payload != [0]
            }
            let (thread, countAfterPublish) = await onThread { () -> (UInt, Int) in
                let publisher = bus.endpoint(owner: "pub")
                try? publisher.publish(BusMessage(topic: "direct.events", payload: [1]))
                let count = seen.count
                try? publisher.publish(BusMessage(topic: "direct.events", payload: [0]))
                return (Self.currentThread(), count)
            }
            #expect(countAfterPublish == 1, "delivered inside publish, before it returned")
            #expect(seen.value.map(\.0) == [thread, thread])
            #expect(seen.value.map(\.1) == [[1], [0]])
            let fast = [("plugin", "fast")]
            #expect(try metrics.expectCounter("jamey_bus_messages_in_total", fast).totalValue == 2)
            #expect(try metrics.expectCounter("jamey_bus_handler_errors_total", fast).totalValue == 1)
            #expect(try metrics.expectTimer("jamey_bus_handler_duration_seconds", fast).values.count == 2)
        }
    }

    @Test func aDirectResponderAnswersOnTheRequestersThreadWithoutAHop() async throws {
        try await withBus { bus, _ in
            let responder = bus.endpoint(owner: "responder")
            let handlerThread = Atomic<UInt>(0)
            try responder.subscribe("direct.sum", responder: true, direct: true) { request in
                handlerThread.store(Self.currentThread(), ordering: .relaxed)
                guard let to = request.replyTo else { return false }
                let sum = request.payload.reduce(0, &+)
                try? responder.reply(to: to, correlationID: request.correlationID, BusMessage(topic: to, payload: [sum]))
                return true
            }
            // Completion on any thread: it runs inside the call.
            let (caller, completedInside, replyThread) = await onThread { () -> (UInt, Bool, UInt) in
                let done = Atomic<UInt>(0)
                try? bus.endpoint(owner: "client").request(BusMessage(topic: "direct.sum", payload: [2, 3]), anyThread: true) {
                    if case .success(let reply) = $0, reply.payload == [5] {
                        done.store(Self.currentThread(), ordering: .relaxed)
                    }
                }
                let thread = done.load(ordering: .relaxed)
                return (Self.currentThread(), thread != 0, thread)
            }
            #expect(completedInside)
            #expect(replyThread == caller)
            #expect(handlerThread.load(ordering: .relaxed) == caller)
            // Without it, the completion still never runs on the caller's thread.
            let (caller2, completion2) = await onThread { () -> (UInt, UInt) in
                let gate = BusGate()
                let done = Atomic<UInt>(0)
                try? bus.endpoint(owner: "client").request(BusMessage(topic: "direct.sum", payload: [1])) { _ in
                    done.store(Self.currentThread(), ordering: .relaxed)
                    gate.open()
                }
                gate.wait()
                return (Self.currentThread(), done.load(ordering: .relaxed))
            }
            #expect(completion2 != 0 && completion2 != caller2)
            // Async and blocking requests work too.
            let reply = try await bus.endpoint(owner: "client").request(BusMessage(topic: "direct.sum", payload: [4, 4]))
            #expect(reply.payload == [8])
            let sync = await onThread {
                try? bus.endpoint(owner: "client").requestSync(BusMessage(topic: "direct.sum", payload: [9]))
            }
            #expect(sync?.payload == [9])
        }
    }

    @Test func aDirectHandlerRunsConcurrentlyWithItself() async throws {
        try await withBus { bus, _ in
            let inside = Atomic<Int>(0)
            let most = Atomic<Int>(0)
            let gate = BusGate()
            try bus.endpoint(owner: "fast").subscribe("direct.slow", direct: true) { _ in
                let now = inside.add(1, ordering: .sequentiallyConsistent).newValue
                _ = most.max(now, ordering: .sequentiallyConsistent)
                if now == 2 { gate.open() }
                gate.wait()
                inside.subtract(1, ordering: .sequentiallyConsistent)
                return true
            }
            async let first: Void = onThread { try? bus.endpoint(owner: "a").publish(BusMessage(topic: "direct.slow")) }
            async let second: Void = onThread { try? bus.endpoint(owner: "b").publish(BusMessage(topic: "direct.slow")) }
            _ = await (first, second)
            #expect(most.load(ordering: .relaxed) == 2)
        }
    }

    @Test func unsubscribeWaitsForCallsOnOtherThreadsAndNothingRunsAfter() async throws {
        try await withBus { bus, _ in
            let owner = bus.endpoint(owner: "fast")
            let entered = BusGate()
            let release = BusGate()
            let finished = Atomic<Bool>(false)
            let calls = Atomic<Int>(0)
            let id = try owner.subscribe("direct.held", direct: true) { _ in
                calls.add(1, ordering: .relaxed)
                entered.open()
                release.wait()
                finished.store(true, ordering: .sequentiallyConsistent)
                return true
            }
            async let publish: Void = onThread { try? bus.endpoint(owner: "p").publish(BusMessage(topic: "direct.held")) }
            await onThread { entered.wait() }
            async let unsubscribed: Bool = onThread {
                let ok = owner.unsubscribe(id)
                return ok && finished.load(ordering: .sequentiallyConsistent)
            }
            try await Task.sleep(for: .milliseconds(50))
            release.open()
            #expect(await unsubscribed, "unsubscribe returned only after the call in progress finished")
            await publish
            try bus.endpoint(owner: "p").publish(BusMessage(topic: "direct.held"))
            #expect(calls.load(ordering: .relaxed) == 1)
            // A request now finds nobody.
            await #expect(throws: BusError.noResponders) {
                try await bus.endpoint(owner: "p").request(BusMessage(topic: "direct.held"), timeout: .seconds(30))
            }
        }
    }

    @Test func aDirectHandlerMayUnsubscribeItselfWithoutDeadlock() async throws {
        try await withBus { bus, _ in
            let owner = bus.endpoint(owner: "fast")
            let ids = Mutex<UInt64>(0)
            let result = Atomic<Int>(-1)
            let id = try owner.subscribe("direct.once", direct: true) { _ in
                result.store(owner.unsubscribe(ids.withLock { $0 }) ? 1 : 0, ordering: .relaxed)
                return true
            }
            ids.withLock { $0 = id }
            await onThread { try? bus.endpoint(owner: "p").publish(BusMessage(topic: "direct.once")) }
            #expect(result.load(ordering: .relaxed) == 1)
            #expect(bus.routes.subscription(id: id) == nil)
        }
    }

    @Test func drainWaitsForDirectCallsInProgress() async throws {
        try await withBus { bus, _ in
            let owner = bus.endpoint(owner: "fast")
            let entered = BusGate()
            let release = BusGate()
            try owner.subscribe("direct.drain", direct: true) { _ in
                entered.open()
                release.wait()
                return true
            }
            async let publish: Void = onThread { try? bus.endpoint(owner: "p").publish(BusMessage(topic: "direct.drain")) }
            await onThread { entered.wait() }
            #expect(!owner.drain(timeout: .milliseconds(20)))
            release.open()
            await publish
            #expect(owner.drain(timeout: .seconds(20)))
        }
    }
}
