import Dispatch
import JameyTestKit
import MetricsTestKit
import Synchronization
import Testing

@testable import JameyKernel

/// The pending requests' lock-free table (jamey_pending.h) and its overflow: a request whose
/// slot (its correlation id modulo ``RequestTimer/tableCapacity``) still holds an older pending
/// one is kept under the lock, and must be answered, timed out and failed at shutdown exactly as
/// one in the table.
@Suite("Bus pending requests: table and overflow")
struct BusPendingTableTests {
    /// A mute responder that keeps every request's reply address, and an echo responder.
    private struct Responders {
        let held = LockedBox<[UInt64]>([])
        let mute: BusEndpoint
        let client: BusEndpoint

        init(_ bus: MessageBus) throws {
            mute = bus.endpoint(owner: "mute")
            client = bus.endpoint(owner: "client")
            let held = self.held
            try mute.subscribe("svc.mute") { request in
                held.append(request.correlationID)
                return true
            }
            try busSubscribeEcho(bus.endpoint(owner: "echo"), "svc.echo")
        }

        /// `count` answered requests in a row (each takes the next correlation id).
        func echo(_ count: Int) async throws {
            let client = self.client
            try await onThread { () throws(BusError) in
                for i in 0..<count {
                    let reply = try client.requestSync(BusMessage(topic: "svc.echo", payload: [UInt8(i & 0xff), 1]))
                    guard reply.payload == [1, UInt8(i & 0xff)] else { throw BusError.notFound }
                }
            }
        }
    }

    @Test("a request whose slot holds an older pending one gets its reply, its timeout, and the older its reply")
    func overflowAnsweredAndTimedOut() async throws {
        try await withBus { bus, metrics in
            let r = try Responders(bus)
            let capacity = Int(RequestTimer.tableCapacity)
            let first = LockedBox<Result<BusMessage, BusError>?>(nil)
            try r.client.request(BusMessage(topic: "svc.mute")) { first.set($0) }
            #expect(await eventually { r.held.value.count == 1 })
            let firstID = r.held.value[0]

            // The request capacity ids later lands on the first one's slot: overflow, answered.
            try await r.echo(capacity - 1)
            #expect(bus.requests.overflowPendingCount == 0)
            let answered = await busRequestWithCompletion(r.client, BusMessage(topic: "svc.echo", payload: [9, 8]))
            #expect(try answered.get().payload == [8, 9])
            #expect(bus.requests.overflowPendingCount == 0)

            // Again, to the mute responder with a short timeout: overflow, timed out by the timer.
            try await r.echo(capacity - 1)
            let timedOut = await busRequestWithCompletion(r.client, BusMessage(topic: "svc.mute"), timeout: .milliseconds(30))
            #expect(throws: BusError.timeout) { try timedOut.get() }
            #expect(r.held.value.count == 2)
            #expect(r.held.value[1] == firstID + 2 * UInt64(capacity))
            #expect(try metrics.expectCounter("jamey_bus_request_timeouts_total", [("plugin", "client")]).totalValue == 1)
            // A reply after the timeout finds nobody; the first request is still pending, in its slot.
            #expect(throws: BusError.notFound) {
                try r.mute.reply(to: RequestTimer.replyAddress, correlationID: r.held.value[1], BusMessage(topic: "late"))
            }
            #expect(bus.pendingRequestCount == 1)
            #expect(first.value == nil)

            try r.mute.reply(to: RequestTimer.replyAddress, correlationID: firstID, BusMessage(topic: "at last", payload: [1]))
            #expect(await eventually { first.value != nil })
            #expect(try first.value?.get().payload == [1])
            #expect(bus.pendingRequestCount == 0)
        }
    }

    @Test("shutdown fails the requests of the table and of the overflow, each once")
    func shutdownFailsBoth() async throws {
        let bus = MessageBus(
            configuration: BusConfiguration(defaultRequestTimeout: .seconds(120), workerCount: 2),
            metricsFactory: TestMetrics())
        let r = try Responders(bus)
        let outcomes = LockedBox<[Result<BusMessage, BusError>]>([])
        try r.client.request(BusMessage(topic: "svc.mute")) { outcomes.append($0) }
        try await r.echo(Int(RequestTimer.tableCapacity) - 1)
        try r.client.request(BusMessage(topic: "svc.mute")) { outcomes.append($0) }
        #expect(await eventually { r.held.value.count == 2 })
        #expect(bus.requests.overflowPendingCount == 1)
        #expect(bus.pendingRequestCount == 2)

        bus.shutdown(deadline: .seconds(5))
        #expect(await eventually { outcomes.value.count == 2 })
        for outcome in outcomes.value { #expect(throws: BusError.shutdown) { try outcome.get() } }
        #expect(bus.pendingRequestCount == 0)
        try await Task.sleep(for: .milliseconds(20))
        #expect(outcomes.value.count == 2)
    }

    @Test("threads racing requests, replies, timeouts and late replies: every completion exactly once")
    func racingCompletions() async throws {
        try await withBus { bus, _ in
            let responder = bus.endpoint(owner: "racer")
            // Odd payloads are answered twice (the second finds nobody); payloads divisible by 5 are
            // never answered and time out; the rest are answered once.
            try responder.subscribe("svc.race", capacity: 1 << 16) { request in
                let n = request.payload[0]
                if n % 5 == 0 { return true }
                let reply = BusMessage(topic: "r", payload: request.payload)
                _ = try? responder.reply(to: request.replyTo!, correlationID: request.correlationID, reply)
                if n % 2 == 1 {
                    _ = try? responder.reply(to: request.replyTo!, correlationID: request.correlationID, reply)
                }
                return true
            }
            let threads = 4
            let perThread = 1_500
            let tally = Tally()
            let client = bus.endpoint(owner: "client")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for t in 0..<threads {
                    group.addTask {
                        try await onThread { () throws(BusError) in
                            for i in 0..<perThread {
                                let n = UInt8((i * 7 + t) & 0xff)
                                let seen = Tally()
                                try client.request(BusMessage(topic: "svc.race", payload: [n]), timeout: .milliseconds(200)) {
                                    result in
                                    if seen.completions.wrappingAdd(1, ordering: .relaxed).newValue != 1 { tally.count(.wrong) }
                                    switch result {
                                    case .success(let reply): if reply.payload != [n] { tally.count(.wrong) }
                                    // An answered request may time out too on a loaded machine (its
                                    // responder held off the CPU past 200 ms): late, not wrong.
                                    case .failure(.timeout): tally.count(n % 5 == 0 ? .timeouts : .late)
                                    case .failure: tally.count(.wrong)
                                    }
                                    tally.count(.completions)
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = threads * perThread
            #expect(await eventually(timeout: .seconds(30)) { tally.completions.load(ordering: .relaxed) == total })
            #expect(tally.wrong.load(ordering: .relaxed) == 0)
            var unanswered = 0
            for t in 0..<threads {
                for i in 0..<perThread where UInt8((i * 7 + t) & 0xff) % 5 == 0 { unanswered += 1 }
            }
            #expect(tally.timeouts.load(ordering: .relaxed) == unanswered, "every unanswered request timed out")
            #expect(tally.late.load(ordering: .relaxed) < total - unanswered, "most answered requests were answered")
            #expect(bus.pendingRequestCount == 0)
        }
    }

    /// Counts shared by the racing threads' completions.
    private final class Tally: Sendable {
        let completions = Atomic<Int>(0)
        let wrong = Atomic<Int>(0)
        let timeouts = Atomic<Int>(0)
        let late = Atomic<Int>(0)

        enum Counter { case completions, wrong, timeouts, late }

        func count(_ counter: Counter) {
            switch counter {
            case .completions: completions.wrappingAdd(1, ordering: .relaxed)
            case .wrong: wrong.wrappingAdd(1, ordering: .relaxed)
            case .timeouts: timeouts.wrappingAdd(1, ordering: .relaxed)
            case .late: late.wrappingAdd(1, ordering: .relaxed)
            }
        }
    }
}
