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
    func pair() throws -> Pair {
        let broker = try Broker()
        let front = try Node(
            "front", port: broker.port,
            config: """
                remote:
                  - bus: "calc.>"
                    timeout_ms: 2000
                """)
        let back = try Node(
            "back", port: broker.port,
            config: """
                request_timeout_ms: 500
                inbound:
                  - mqtt: "calc/#"
                    bus: "calc.{1}"
                """)
        #expect(front.waitReady() && back.waitReady(), "\(front.healthDetail) / \(back.healthDetail)")
        let bus = back.bus
        _ = try bus.subscribe("calc.add") { request in
            let numbers = request.text.split(separator: ",").compactMap { Int($0) }
            var reply = BusMessage(topic: "reply", payload: Array(String(numbers.reduce(0, +)).utf8), contentType: "text/plain")
            reply.headers = [BusHeader(key: "computed-by", value: "back"), BusHeader(key: "echo", value: request.header("trace") ?? "")]
            try? bus.reply(to: request.replyTo ?? "", correlationID: request.correlationID, reply)
            return true
        }
        _ = try bus.subscribe("calc.slow") { _ in true }  // never answers
        return Pair(broker: broker, front: front, back: back)
    }

    @Test func requestIsAnsweredByTheOtherNode() throws {
        let p = try pair()
        defer {
            p.front.shutdown()
            p.back.shutdown()
        }
        var request = BusMessage(topic: "calc.add", payload: Array("40,2".utf8), contentType: "text/csv")
        request.headers = [BusHeader(key: "trace", value: "t-1")]
        let reply = try p.front.bus.requestSync(request, timeout: .seconds(5))
        #expect(reply.text == "42")
        #expect(reply.contentType == "text/plain")
        #expect(reply.header("computed-by") == "back")
        #expect(reply.header("echo") == "t-1")
        // Many in parallel, each to its own reply.
        let results = Collected()
        DispatchQueue.concurrentPerform(iterations: 20) { i in
            if let r = try? p.front.bus.requestSync(BusMessage(topic: "calc.add", payload: Array("\(i),1000".utf8)), timeout: .seconds(5)) {
                results.append(BusMessage(topic: "r", payload: Array("\(i):\(r.text)".utf8)))
            }
        }
        #expect(Set(results.texts) == Set((0..<20).map { "\($0):\($0 + 1000)" }))
    }

    @Test func remoteTimeoutIsTheBusTimeout() throws {
        let p = try pair()
        defer {
            p.front.shutdown()
            p.back.shutdown()
        }
        #expect(throws: BusError.timeout) {
            _ = try p.front.bus.requestSync(BusMessage(topic: "calc.slow"), timeout: .seconds(1))
        }
    }

    @Test func noRemoteResponderIsA503() throws {
        let p = try pair()
        defer {
            p.front.shutdown()
            p.back.shutdown()
        }
        let reply = try p.front.bus.requestSync(BusMessage(topic: "calc.missing"), timeout: .seconds(5))
        #expect(reply.header("status") == "503")
        #expect(reply.header("jamey.error") == "no_responders")
    }

    @Test func disconnectedBridgeAnswers503AtOnce() throws {
        let broker = try Broker(.init(start: false))
        let front = try Node("lonely", port: broker.port, config: "remote:\n  - bus: \"calc.>\"")
        defer { front.shutdown() }
        let reply = try front.bus.requestSync(BusMessage(topic: "calc.add"), timeout: .seconds(5))
        #expect(reply.header("status") == "503")
        #expect(reply.text.contains("not connected"))
    }
}
