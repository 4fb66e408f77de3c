import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// A busy server has more than a thousand descriptors open (keep-alive connections, databases).
/// libmosquitto's own loop waits with `select`, which cannot watch a descriptor numbered 1024 or
/// above: its every call failed, and a bridge whose socket got such a number never read its
/// CONNACK. The bridge's loop uses `poll`; this runs it with the socket numbered above 1024.
@Suite struct ManyDescriptorsTests {
    @Test func theBridgeWorksWithItsSocketAboveDescriptor1024() async throws {
        let broker = try await Broker.make()
        // Hold descriptors until the next one the process opens is numbered above 1100.
        var held: [Int32] = []
        defer { for fd in held { close(fd) } }
        while true {
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            try #require(fd >= 0, "cannot open /dev/null: \(String(cString: strerror(errno)))")
            held.append(fd)
            if fd > 1100 { break }
        }
        let node = try await Node.boot(
            "fds", port: broker.port,
            config: """
                outbound:
                  - bus: "fd.out.>"
                    qos: 1
                inbound:
                  - mqtt: "fd/in/#"
                    qos: 1
                """)
        #expect(await node.waitReady(), "\(node.healthDetail)")
        let client = try await TestClient.make(port: broker.port)
        try await client.subscribe("jamey/fd/out/#")
        let imported = try node.collect("fd.in.>")

        for i in 0..<50 { try node.publish("fd.out.n", "m\(i)") }
        #expect(await eventually { client.messages(on: "jamey/fd/out/").count == 50 })
        #expect(client.messages(on: "jamey/fd/out/").map(\.text) == (0..<50).map { "m\($0)" })
        for i in 0..<50 { try client.publish("jamey/fd/in/x", "n\(i)") }
        #expect(await eventually { imported.count == 50 })
        #expect(imported.texts == (0..<50).map { "n\($0)" })
    }
}
