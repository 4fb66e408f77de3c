import Foundation
import JameyTestKit
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
