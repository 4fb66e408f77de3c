import CJameyABI
import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// Requests go to declared responders; passive wildcard listeners never swallow them.
@Suite struct BusResponderTests {
    @Test func passiveWildcardListenerDoesNotTakeRequests() async throws {
        try await withBus { bus, _ in
            let listener = bus.endpoint(owner: "listener")
            let seen = LockedBox<[BusMessage]>([])
            try listener.subscribe("svc.>") {
                seen.append($0); return true
            }
            let responder = bus.endpoint(owner: "responder")
            try responder.subscribe("svc.sum", responder: true) { request in
                guard let to = request.replyTo else { return false }
                try? responder.reply(to: to, correlationID: request.correlationID, BusMessage(topic: to, payload: [42]))
                return true
            }
            let client = bus.endpoint(owner: "client")
            for _ in 0..<20 {
                let reply = try await client.request(BusMessage(topic: "svc.sum"), timeout: .seconds(30))
                #expect(reply.payload == [42])
                #expect(reply.source == "responder")
            }
            #expect(seen.count == 0, "the passive listener saw no request")
            // Events still reach both.
            try client.publish(BusMessage(topic: "svc.sum"))
            #expect(await eventually { seen.count == 1 })
        }
    }

    @Test func withoutDeclaredRespondersAnyMatchingSubscriptionAnswers() async throws {
        try await withBus { bus, _ in
            let plain = bus.endpoint(owner: "plain")
            try busSubscribeEcho(plain, "echo.*")
            let reply = try await bus.endpoint(owner: "c").request(
                BusMessage(topic: "echo.x", payload: [1, 2]), timeout: .seconds(30))
            #expect(reply.payload == [2, 1])
        }
    }

    /// An events-only subscription (`JAMEY_SUBSCRIBE_EVENTS_ONLY`) never takes a request, even on
    /// a topic whose only answer is a plain subscription: a plain listener there took every other
    /// request, which then timed out (an HTTP event stream on `cache.get`). It still sees events,
    /// and a topic it alone matches has no responder.
    @Test func anEventsOnlyListenerNeverTakesARequest() async throws {
        try await withBus { bus, _ in
            let listener = bus.endpoint(owner: "listener")
            let seen = LockedBox<[BusMessage]>([])
            try listener.subscribe("echo.>", eventsOnly: true) {
                seen.append($0); return true
            }
            try busSubscribeEcho(bus.endpoint(owner: "plain"), "echo.x")
            let client = bus.endpoint(owner: "client")
            for i in 0..<20 {
                let reply = try await client.request(BusMessage(topic: "echo.x", payload: [1, UInt8(i)]), timeout: .seconds(5))
                #expect(reply.payload == [UInt8(i), 1])
            }
            #expect(seen.count == 0)
            try client.publish(BusMessage(topic: "echo.y"))
            #expect(await eventually { seen.count == 1 })
            await #expect(throws: BusError.noResponders) {
                try await client.request(BusMessage(topic: "echo.y"), timeout: .seconds(5))
            }
        }
    }

    /// A responder whose handler fails (returns false) without replying answers the request at
    /// once with `handlerFailed`, queued or direct: the requester waited out its whole timeout
    /// (an integrator's C route took 5 s to a 504). A handler that replied, then failed, has its
    /// reply delivered; events are not affected.
    @Test func aHandlerThatFailsWithoutReplyingAnswersTheRequestAtOnce() async throws {
        try await withBus { bus, metrics in
            let responder = bus.endpoint(owner: "responder")
            for direct in [false, true] {
                try responder.subscribe(direct ? "svc.direct" : "svc.queued", responder: true, direct: direct) { _ in false }
            }
            try responder.subscribe("svc.replied", responder: true) { request in
                guard let to = request.replyTo else { return false }
                try? responder.reply(to: to, correlationID: request.correlationID, BusMessage(topic: to, payload: [7]))
                return false
            }
            let client = bus.endpoint(owner: "client")
            for topic in ["svc.queued", "svc.direct"] {
                for _ in 0..<3 {
                    // The timeout is far beyond the test's: an answer at all is the point.
                    await #expect(throws: BusError.handlerFailed) {
                        try await client.request(BusMessage(topic: topic), timeout: .seconds(600))
                    }
                }
            }
            #expect(try await client.request(BusMessage(topic: "svc.replied"), timeout: .seconds(600)).payload == [7])
            #expect(BusError.handlerFailed.abiCode == JAMEY_E_PLUGIN)
            #expect(
                await eventually {
                    (try? metrics.expectCounter("jamey_bus_handler_errors_total", [("plugin", "responder")]).totalValue) == 7
                })
        }
    }
}
