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
}
