import JameyTestKit
import MetricsTestKit
import Testing

@testable import JameyKernel

@Suite("Bus shutdown")
struct BusShutdownTests {
    @Test("shutdown fails pending requests and rejects new work")
    func failsPendingAndRejects() async throws {
        let bus = MessageBus(
            configuration: BusConfiguration(defaultRequestTimeout: .seconds(120), workerCount: 2), metricsFactory: TestMetrics())
        let responder = bus.endpoint(owner: "mute")
        let held = LockedBox<(String, UInt64)?>(nil)
        try responder.subscribe("svc.mute") {
            held.set(($0.replyTo!, $0.correlationID))
            return true
        }
        let client = bus.endpoint(owner: "client")
        let outcome = LockedBox<Result<BusMessage, BusError>?>(nil)
        try client.request(BusMessage(topic: "svc.mute"), timeout: .seconds(60)) { outcome.set($0) }
        #expect(await eventually { held.value != nil })

        bus.shutdown(deadline: .seconds(5))
        bus.shutdown(deadline: .seconds(5))
        #expect(bus.isShutDown)

        #expect(await eventually { outcome.value != nil })
        #expect(throws: BusError.shutdown) { try outcome.value?.get() }
        #expect(bus.pendingRequestCount == 0)
        let (replyTo, correlationID) = held.value!
        #expect(throws: BusError.notFound) {
            try responder.reply(to: replyTo, correlationID: correlationID, BusMessage(topic: "r"))
        }
        #expect(throws: BusError.shutdown) { try client.publish(BusMessage(topic: "svc.mute")) }
        #expect(throws: BusError.shutdown) { try client.subscribe("svc.>") { _ in true } }
        #expect(throws: BusError.shutdown) { try client.request(BusMessage(topic: "svc.mute")) { _ in } }
        #expect(throws: BusError.shutdown) { try client.requestSync(BusMessage(topic: "svc.mute")) }
        await #expect(throws: BusError.shutdown) { try await client.request(BusMessage(topic: "svc.mute")) }
    }

    @Test("shutdown lets queued messages drain before it returns")
    func drainsQueuedMessages() async throws {
        let bus = MessageBus(
            configuration: BusConfiguration(defaultRequestTimeout: .seconds(120), workerCount: 2), metricsFactory: TestMetrics())
        let gate = BusGate()
        let started = LockedBox(false)
        let handled = LockedBox<[Int]>([])
        try bus.endpoint(owner: "slow").subscribe("queue.work") { message in
            started.set(true)
            gate.wait()
            handled.append(message.number)
            return true
        }
        let producer = bus.endpoint(owner: "producer")
        for index in 0..<6 { try producer.publish(.numbered("queue.work", index)) }
        #expect(await eventually { started.value })
        async let shutDown: [Int] = onThread {
            bus.shutdown(deadline: .seconds(30))
            return handled.value
        }
        #expect(await eventually { bus.isShutDown })
        #expect(throws: BusError.shutdown) { try producer.publish(.numbered("queue.work", 99)) }
        gate.open()
        #expect(await shutDown == Array(0..<6))
    }

    @Test("shutdown may be called from inside a handler")
    func shutdownFromHandler() async throws {
        let bus = MessageBus(
            configuration: BusConfiguration(defaultRequestTimeout: .seconds(120), workerCount: 2), metricsFactory: TestMetrics())
        let done = LockedBox(false)
        try bus.endpoint(owner: "killer").subscribe("kill.now") { _ in
            bus.shutdown(deadline: .seconds(5))
            done.set(true)
            return true
        }
        try bus.endpoint(owner: "kernel").publish(BusMessage(topic: "kill.now"))
        #expect(await eventually { done.value })
        #expect(bus.isShutDown)
    }
}
