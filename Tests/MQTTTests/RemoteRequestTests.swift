import Foundation
import JameyKernel
import Testing

/// A bus request on one node answered by a responder on another, through MQTT 5 request/response.
@Suite struct RemoteRequestTests {
    struct Pair {
        let broker: Broker
        let front: Node
        let back: Node
    }

    /// `front` forwards calc.* requests; `back` imports them and has the responder.
    func pair() async throws -> Pair {
        let broker = try await Broker.make()
        let front = try await Node.boot(
            "front", port: broker.port,
            config: """
                remote:
                  - bus: "calc.>"
                    timeout_ms: 30000
                """)
        let back = try await Node.boot(
            "back", port: broker.port,
            config: """
                request_timeout_ms: 30000
                inbound:
                  - mqtt: "calc/#"
                    bus: "calc.{1}"
                """)
        #expect(await front.waitReady(), "\(front.healthDetail)")
        #expect(await back.waitReady(), "\(back.healthDetail)")
        let bus = back.bus
        _ = try bus.subscribe("calc.add") { request in
            let numbers = request.text.split(separator: ",").compactMap { Int($0) }
            var reply = BusMessage(topic: "reply", payload: Array(String(numbers.reduce(0, +)).utf8), contentType: "text/plain")
            reply.headers = [
                BusHeader(key: "computed-by", value: "back"), BusHeader(key: "echo", value: request.header("trace") ?? ""),
            ]
            try? bus.reply(to: request.replyTo ?? "", correlationID: request.correlationID, reply)
            return true
        }
        _ = try bus.subscribe("calc.slow") { _ in true }  // never answers
        return Pair(broker: broker, front: front, back: back)
    }

    @Test func requestIsAnsweredByTheOtherNode() async throws {
        let p = try await pair()
        var request = BusMessage(topic: "calc.add", payload: Array("40,2".utf8), contentType: "text/csv")
        request.headers = [BusHeader(key: "trace", value: "t-1")]
        let reply = try await p.front.bus.request(request, timeout: .seconds(20))
        #expect(reply.text == "42")
        #expect(reply.contentType == "text/plain")
        #expect(reply.header("computed-by") == "back")
        #expect(reply.header("echo") == "t-1")
        // Many in parallel, each to its own reply.
        let bus = p.front.bus
        let results = await withTaskGroup(of: String.self) { group in
            for i in 0..<20 {
                group.addTask {
                    let r = try? await bus.request(
                        BusMessage(topic: "calc.add", payload: Array("\(i),1000".utf8)), timeout: .seconds(20))
                    return "\(i):\(r?.text ?? "failed")"
                }
            }
            return await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(results == Set((0..<20).map { "\($0):\($0 + 1000)" }))
    }

    @Test func remoteTimeoutIsTheBusTimeout() async throws {
        let p = try await pair()
        await #expect(throws: BusError.timeout) {
            _ = try await p.front.bus.request(BusMessage(topic: "calc.slow"), timeout: .seconds(1))
        }
    }

    @Test func noRemoteResponderIsA503() async throws {
        let p = try await pair()
        let reply = try await p.front.bus.request(BusMessage(topic: "calc.missing"), timeout: .seconds(20))
        #expect(reply.header("status") == "503")
        #expect(reply.header("jamey.error") == "no_responders")
    }

    @Test func disconnectedBridgeAnswers503AtOnce() async throws {
        let broker = try await Broker.make(.init(start: false))
        let front = try await Node.boot("lonely", port: broker.port, config: "remote:\n  - bus: \"calc.>\"")
        let reply = try await front.bus.request(BusMessage(topic: "calc.add"), timeout: .seconds(20))
        #expect(reply.header("status") == "503")
        #expect(reply.text.contains("not connected"))
    }
}
