import Foundation
import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

/// An isolated plugin that subscribes and unsubscribes (an event stream per connection) leaves
/// the kernel holding only the subscriptions it still has.
@Suite struct IsolationChurnTests {
    @Test func unsubscribedProxiesAreLetGo() async throws {
        try await IsolatedKernel.with { k in
            let supervisor = try #require(
                IsolatedPlugins.supervisors.withLock { $0[IsolatedPlugins.Key(k.kernel, "fault_c")] })
            let before = supervisor.proxiesKept
            for _ in 0..<3 {
                let reply = try await k.ask("fault_c.churn")
                #expect(String(decoding: reply.payload, as: UTF8.self) == "churned")
            }
            // 300 subscriptions made and ended: each kept its proxy for good before.
            #expect(supervisor.proxiesKept == before, "\(before) proxies before, \(supervisor.proxiesKept) after")
        }
    }
}

/// An isolated plugin may free a subscription's user data once unsubscribe returns: deliveries
/// the runner had already taken for it are not handed to its handler afterwards.
@Suite struct IsolationUnsubscribeTests {
    @Test func noHandlerRunsAfterUnsubscribeReturns() async throws {
        try await IsolatedKernel.with { k in
            let pid = try await k.faultPID()
            let bus = k.test.bus
            let stop = Atomic<Bool>(false)
            let publisher = Thread {
                while !stop.load(ordering: .relaxed) {
                    try? bus.publish(BusMessage(topic: "fault_c.churned", payload: [1]))
                }
            }
            publisher.start()
            defer { stop.store(true, ordering: .relaxed) }
            for _ in 0..<5 {
                let reply = try await k.ask("fault_c.churn")
                #expect(String(decoding: reply.payload, as: UTF8.self) == "churned")
            }
            stop.store(true, ordering: .relaxed)
            #expect(try await k.faultPID() == pid, "the plugin's process aborted: a handler ran after its unsubscribe")
        }
    }
}
