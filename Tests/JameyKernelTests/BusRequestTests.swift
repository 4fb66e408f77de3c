import Dispatch
import JameyReplyWatch
import JameyTestKit
import Testing

@testable import JameyKernel

@Suite("Bus request and reply")
struct BusRequestTests {
    private static let question = BusMessage(topic: "svc.echo", payload: [1, 2, 3], contentType: "text/plain")

    private func checkReply(_ reply: BusMessage?, requests seen: LockedBox<[BusMessage]>) {
        #expect(reply?.payload == [3, 2, 1])
        #expect(reply?.contentType == "text/plain")
        #expect(reply?.headers == [BusHeader(key: "echo", value: "echo")])
        #expect(reply?.source == "echo")
        #expect(reply?.replyTo == nil)
        let request = seen.value.last
        #expect(request?.source == "client")
        #expect(request?.replyTo?.isEmpty == false)
        #expect(request?.correlationID != 0)
        #expect(reply?.correlationID == request?.correlationID)
    }

    @Test("round trip with a completion")
    func completionForm() async throws {
        try await withBus { bus, _ in
            let seen = LockedBox<[BusMessage]>([])
            try busSubscribeEcho(bus.endpoint(owner: "echo"), "svc.echo", seen: seen)
            let result = await busRequestWithCompletion(bus.endpoint(owner: "client"), Self.question)
            checkReply(try result.get(), requests: seen)
            #expect(bus.pendingRequestCount == 0)
        }
    }

    @Test("round trip with async/await")
    func asyncForm() async throws {
        try await withBus { bus, metrics in
            let seen = LockedBox<[BusMessage]>([])
            try busSubscribeEcho(bus.endpoint(owner: "echo"), "svc.echo", seen: seen)
            let reply = try await bus.endpoint(owner: "client").request(Self.question)
            checkReply(reply, requests: seen)
            #expect(try metrics.expectCounter("jamey_bus_messages_out_total", [("plugin", "client")]).totalValue == 1)
            #expect(try metrics.expectCounter("jamey_bus_messages_out_total", [("plugin", "echo")]).totalValue == 1)
        }
    }

    @Test("async requests each get their own reply, whether it comes at once, within the watch or after suspending")
    func asyncRepliesRaceTheWatch() async throws {
        try await withBus { bus, _ in
            let responder = bus.endpoint(owner: "echo")
            // The first payload byte says when to answer: in the handler, from another thread at
            // once, or 2 ms later (past AsyncReply's watch, so the task has suspended).
            try responder.subscribe("svc.mixed") { request in
                let (replyTo, correlationID) = (request.replyTo!, request.correlationID)
                let answer: @Sendable () -> Void = {
                    _ = try? responder.reply(
                        to: replyTo, correlationID: correlationID, BusMessage(topic: "r", payload: request.payload))
                }
                switch request.payload[0] {
                case 0: answer()
                case 1: DispatchQueue.global().async { answer() }
                default: DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(2)) { answer() }
                }
                return true
            }
            let client = bus.endpoint(owner: "client")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<300 {
                    group.addTask {
                        let payload: [UInt8] = [UInt8(n % 3), UInt8(n & 0xFF), UInt8(n >> 8)]
                        let reply = try await client.request(BusMessage(topic: "svc.mixed", payload: payload))
                        #expect(reply.payload == payload)
                    }
                }
                try await group.waitForAll()
            }
            #expect(bus.pendingRequestCount == 0)
        }
    }

    @Test("an endpoint stops watching for replies that keep coming late, and probes now and then")
    func replySpinBacksOff() {
        let spin = ReplySpin()
        #expect((0..<8).allSatisfy { _ in spin.shouldWatch })
        for _ in 0..<4 { spin.record(hit: false) }
        let watched = (0..<64).filter { _ in spin.shouldWatch }.count
        #expect(watched == 2)
        spin.record(hit: true)
        #expect((0..<8).allSatisfy { _ in spin.shouldWatch })
    }

    @Test("round trip blocking the calling thread")
    func syncForm() async throws {
        try await withBus { bus, _ in
            let seen = LockedBox<[BusMessage]>([])
            try busSubscribeEcho(bus.endpoint(owner: "echo"), "svc.echo", seen: seen)
            let client = bus.endpoint(owner: "client")
            let result = await onThread { () -> Result<BusMessage, BusError> in
                Result { () throws(BusError) in try client.requestSync(Self.question) }
            }
            checkReply(try result.get(), requests: seen)
        }
    }

    @Test("a reply may come later from a thread that is not a bus thread")
    func lateReplyFromForeignThread() async throws {
        try await withBus { bus, _ in
            let responder = bus.endpoint(owner: "later")
            let held = LockedBox<(String, UInt64)?>(nil)
            try responder.subscribe("svc.later") { request in
                held.set((request.replyTo!, request.correlationID))
                return true
            }
            let outcome = LockedBox<Result<BusMessage, BusError>?>(nil)
            try bus.endpoint(owner: "client").request(BusMessage(topic: "svc.later")) { outcome.set($0) }
            #expect(await eventually { held.value != nil })
            let (replyTo, correlationID) = held.value!
            try responder.reply(to: replyTo, correlationID: correlationID, BusMessage(topic: "done", payload: [7]))
            #expect(await eventually { outcome.value != nil })
            #expect(try outcome.value?.get().payload == [7])
        }
    }

    @Test("a request nobody answers times out and is counted")
    func timeout() async throws {
        try await withBus { bus, metrics in
            let held = LockedBox<(String, UInt64)?>(nil)
            let responder = bus.endpoint(owner: "mute")
            try responder.subscribe("svc.mute") {
                held.set(($0.replyTo!, $0.correlationID))
                return true
            }
            let client = bus.endpoint(owner: "client")
            await #expect(throws: BusError.timeout) {
                try await client.request(BusMessage(topic: "svc.mute"), timeout: .milliseconds(20))
            }
            let completion = await busRequestWithCompletion(
                client, BusMessage(topic: "svc.mute"), timeout: .milliseconds(20))
            #expect(throws: BusError.timeout) { try completion.get() }
            let sync = await onThread { () -> Result<BusMessage, BusError> in
                Result { () throws(BusError) in
                    try client.requestSync(BusMessage(topic: "svc.mute"), timeout: .milliseconds(20))
                }
            }
            #expect(throws: BusError.timeout) { try sync.get() }
            #expect(
                try metrics.expectCounter("jamey_bus_request_timeouts_total", [("plugin", "client")]).totalValue == 3)
            #expect(bus.pendingRequestCount == 0)
            // Replying after the timeout finds nobody.
            let (replyTo, correlationID) = held.value!
            #expect(throws: BusError.notFound) {
                try responder.reply(to: replyTo, correlationID: correlationID, BusMessage(topic: "late"))
            }
        }
    }

    @Test("a request to a topic without subscribers fails fast with noResponders")
    func noResponders() async {
        await withBus { bus, _ in
            let client = bus.endpoint(owner: "client")
            let question = BusMessage(topic: "svc.none")
            await #expect(throws: BusError.noResponders) { try await client.request(question) }
            #expect(throws: BusError.noResponders) { try client.requestSync(question) }
            let completion = await busRequestWithCompletion(client, question)
            #expect(throws: BusError.noResponders) { try completion.get() }
        }
    }

    @Test("replying twice finds the requester gone the second time")
    func replyTwice() async throws {
        try await withBus { bus, _ in
            let responder = bus.endpoint(owner: "twice")
            let secondReply = LockedBox<Result<Void, BusError>?>(nil)
            try responder.subscribe("svc.twice") { request in
                try? responder.reply(
                    to: request.replyTo!, correlationID: request.correlationID, BusMessage(topic: "one"))
                secondReply.set(
                    Result { () throws(BusError) in
                        try responder.reply(
                            to: request.replyTo!, correlationID: request.correlationID, BusMessage(topic: "two"))
                    })
                return true
            }
            let reply = try await bus.endpoint(owner: "client").request(BusMessage(topic: "svc.twice"))
            #expect(reply.topic == "one")
            #expect(await eventually { secondReply.value != nil })
            #expect(throws: BusError.notFound) { try secondReply.value?.get() }
            #expect(throws: BusError.notFound) {
                try responder.reply(to: "_reply.12345", correlationID: 12345, BusMessage(topic: "nobody"))
            }
        }
    }

    @Test("requests alternate round-robin between two responders")
    func roundRobin() async throws {
        try await withBus { bus, _ in
            try busSubscribeEcho(bus.endpoint(owner: "r1"), "svc.rr")
            try busSubscribeEcho(bus.endpoint(owner: "r2"), "svc.rr")
            let client = bus.endpoint(owner: "client")
            var sources: [String] = []
            for _ in 0..<10 { sources.append(try await client.request(BusMessage(topic: "svc.rr")).source) }
            #expect(sources.filter { $0 == "r1" }.count == 5)
            #expect(sources.filter { $0 == "r2" }.count == 5)
            #expect(zip(sources, sources.dropFirst()).allSatisfy { $0 != $1 })
        }
    }

    @Test("a handler may send an asynchronous request and get its reply")
    func asyncRequestFromHandler() async throws {
        try await withBus { bus, _ in
            try busSubscribeEcho(bus.endpoint(owner: "echo"), "svc.echo")
            let worker = bus.endpoint(owner: "worker")
            let replies = LockedBox<[Result<BusMessage, BusError>]>([])
            try worker.subscribe("work.start") { message in
                (try? worker.request(BusMessage(topic: "svc.echo", payload: message.payload)) { replies.append($0) })
                    != nil
            }
            for index in 0..<50 { try bus.endpoint(owner: "kernel").publish(.numbered("work.start", index)) }
            #expect(await eventually { replies.count == 50 })
            #expect(replies.value.allSatisfy { (try? $0.get())?.source == "echo" })
        }
    }

    @Test("a handler may block in requestSync on a topic another subscription serves")
    func requestSyncFromHandler() async throws {
        try await withBus { bus, _ in
            try busSubscribeEcho(bus.endpoint(owner: "echo"), "svc.echo")
            let worker = bus.endpoint(owner: "worker")
            let replies = LockedBox<[Result<BusMessage, BusError>]>([])
            try worker.subscribe("work.sync") { message in
                replies.append(
                    Result { () throws(BusError) in
                        try worker.requestSync(BusMessage(topic: "svc.echo", payload: message.payload))
                    })
                return true
            }
            for index in 0..<20 { try bus.endpoint(owner: "kernel").publish(.numbered("work.sync", index)) }
            #expect(await eventually { replies.count == 20 })
            #expect(
                replies.value.compactMap { try? BusMessage(topic: "r", payload: $0.get().payload.reversed()).number }
                    == Array(0..<20))
        }
    }

    @Test("requestSync from a handler to its own subscription times out instead of deadlocking")
    func requestSyncToSelfTimesOut() async throws {
        try await withBus { bus, _ in
            let loop = bus.endpoint(owner: "loop")
            let outcome = LockedBox<Result<BusMessage, BusError>?>(nil)
            try loop.subscribe("self.loop") { message in
                if let replyTo = message.replyTo {
                    try? loop.reply(to: replyTo, correlationID: message.correlationID, BusMessage(topic: "late"))
                } else {
                    outcome.set(
                        Result { () throws(BusError) in
                            try loop.requestSync(BusMessage(topic: "self.loop"), timeout: .milliseconds(30))
                        })
                }
                return true
            }
            try bus.endpoint(owner: "kernel").publish(BusMessage(topic: "self.loop"))
            #expect(await eventually { outcome.value != nil })
            #expect(throws: BusError.timeout) { try outcome.value?.get() }
        }
    }

    @Test("requestSync inside a completion on the timer thread still times out")
    func requestSyncOnTimerThread() async throws {
        try await withBus { bus, _ in
            try bus.endpoint(owner: "mute").subscribe("svc.mute") { _ in true }
            let client = bus.endpoint(owner: "client")
            let outcome = LockedBox<Result<BusMessage, BusError>?>(nil)
            // noResponders is reported on the timer thread; block that thread in requestSync.
            try client.request(BusMessage(topic: "svc.none")) { _ in
                outcome.set(
                    Result { () throws(BusError) in
                        try client.requestSync(BusMessage(topic: "svc.mute"), timeout: .milliseconds(30))
                    })
            }
            #expect(await eventually { outcome.value != nil })
            #expect(throws: BusError.timeout) { try outcome.value?.get() }
        }
    }
}
