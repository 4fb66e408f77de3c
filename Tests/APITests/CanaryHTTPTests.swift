import Foundation
import JameyKernel
import JameyTestKit
import Synchronization
import Testing

/// Canary releases of a plugin that serves HTTP routes, under continuous HTTP load through the
/// api plugin: no request fails while canaries start, change weight, are promoted and rolled
/// back.
@Suite struct CanaryHTTPTests {
    @Test func canaryCyclesUnderContinuousHTTPLoadFailNoRequest() async throws {
        try await APIKernel.with(.init(hello: false)) { k in
            let builds = [
                try k.test.kernel.plugin(named: "probe")?.path ?? "", try ProbePlugin.build(eventLog: k.eventLog + ".next"),
            ]
            let port = k.port
            let failures = LockedBox<[String]>([])
            let load = ContinuousLoad(threads: 4) { client, i in
                let reply = try BlockingConnection(port: port).request(
                    "GET", "/v1/probe/items/\(client)/parts/\(i)",
                    headers: ["Authorization": "Bearer " + APIKernel.adminKey, "X-Canary-Key": "caller-\(i % 9)"])
                return reply.status == 200 ? nil : "\(client)-\(i): \(reply.status) \(reply.text)"
            }
            let kernel = k.test.kernel
            await onThread {
                func progress() { load.waitForProgress(20) }
                progress()
                var current = 0
                for round in 0..<4 {
                    do {
                        var manual = CanaryPolicy()
                        manual.autoRollback = false
                        try kernel.startCanary(plugin: "probe", path: builds[1 - current], weight: 20, policy: manual)
                        progress()
                        try kernel.setCanaryWeight(plugin: "probe", weight: 60)
                        progress()
                        if let status = kernel.canaryStatus(plugin: "probe") {
                            // Both sides serve (nine callers by key), and none with an error.
                            #expect(status.total[.canary].map { $0.requests > 0 } == true, "\(status.total)")
                            #expect(status.total[.stable].map { $0.errors == 0 } == true)
                        }
                        if round % 2 == 0 {
                            try kernel.promoteCanary(plugin: "probe")
                            current = 1 - current
                        } else {
                            try kernel.rollBackCanary(plugin: "probe")
                        }
                        progress()
                    } catch {
                        failures.append("round \(round): \(error)")
                    }
                }
                load.stop()
                #expect(kernel.plugin(named: "probe")?.path == builds[current])
            }
            let all = load.failures + failures.value
            #expect(all.isEmpty, "\(all.prefix(5))")
            #expect(load.answered > 200)
        }
    }
}
