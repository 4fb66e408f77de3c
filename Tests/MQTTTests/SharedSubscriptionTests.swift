import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Two nodes on one shared subscription split a stream of work: each gets some, none is lost.
@Suite struct SharedSubscriptionTests {
    @Test func twoNodesSplitTheWork() async throws {
        let broker = try await Broker.make()
        let rules = """
            inbound:
              - mqtt: "jobs/#"
                bus: "work.{1}"
                share_group: workers
            """
        let one = try await Node.boot("worker-1", port: broker.port, config: rules)
        let two = try await Node.boot("worker-2", port: broker.port, config: rules)
        #expect(await one.waitReady(), "\(one.healthDetail)")
        #expect(await two.waitReady(), "\(two.healthDetail)")
        let first = try one.collect("work.>")
        let second = try two.collect("work.>")
        #expect((try one.status()["inbound"] as? [[String: Any]])?.first?["mqtt"] as? String == "$share/workers/jamey/jobs/#")

        let client = try await TestClient.make(port: broker.port)
        let total = 200
        for i in 0..<total { try client.publish("jamey/jobs/resize/\(i)", "job\(i)") }
        #expect(await eventually { first.count + second.count >= total })
        #expect(first.count > 0)
        #expect(second.count > 0)
        let all = first.texts + second.texts
        #expect(all.count == total)
        #expect(Set(all) == Set((0..<total).map { "job\($0)" }))
        #expect(first.messages.first?.topic.hasPrefix("work.resize.") == true)
    }
}
