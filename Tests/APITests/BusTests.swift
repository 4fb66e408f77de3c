import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// `/v1/bus/publish`, `/v1/bus/request` and the Server-Sent Events stream.
@Suite struct BusTests {
    @Test func publishDeliversTheBodyWithItsContentType() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let seen = LockedBox<[BusMessage]>([])
            _ = try k.test.bus.subscribe("sensors.>") { m in
                seen.withLock { $0.append(m) }
                return true
            }
            let (id, key) = try await k.createKey(scope: "write")
            let r = try await HTTP.post(
                k.port, "/v1/bus/publish/sensors.kitchen.temp", key: key, body: "21.5", type: "text/plain")
            #expect(r.status == 202)
            #expect(r.json["topic"] as? String == "sensors.kitchen.temp")
            #expect(await eventually(timeout: .seconds(5)) { seen.count == 1 })
            let m = try #require(seen.withLock { $0.first })
            #expect(String(decoding: m.payload, as: UTF8.self) == "21.5")
            #expect(m.contentType == "text/plain")
            #expect(m.source == "api")
            #expect(m.headers.contains { $0.key == "auth.key_id" && $0.value == id })
            let bad = try await HTTP.post(k.port, "/v1/bus/publish/sensors.*", key: key, body: "x", type: "text/plain")
            #expect(bad.status == 400)
            #expect(bad.header("content-type") == "application/problem+json")
        }
    }

    @Test func requestReturnsTheReplyBodyAndType() async throws {
        try await APIKernel.with(.init(probe: false)) { k in
            let r = try await HTTP.post(
                k.port, "/v1/bus/request/hello.c.greet", key: APIKernel.adminKey, body: "Ada", type: "text/plain")
            #expect(r.status == 200, "\(r.text)")
            #expect(r.text == "Hello, Ada!")
            #expect(r.header("content-type") == "text/plain; charset=utf-8")
            // A responder that throws: the kit's status 500 becomes problem+json with its sentence.
            let failed = try await HTTP.post(
                k.port, "/v1/bus/request/hello.swift.sum", key: APIKernel.adminKey, body: "x", type: "text/plain")
            #expect(failed.status == 500)
            #expect(failed.header("content-type") == "application/problem+json")
            #expect(failed.json["detail"] as? String == "expected two integers separated by a comma")
        }
    }

    /// The bus routes are write routes, but a topic behind a route of a higher scope needs that
    /// scope through them too: a plugin's admin route's topic, and the kernel's topics (deploy,
    /// canary, reload). A write key reached a vault restore or a deployment of any library path
    /// this way. An event stream (read) carries events, not the requests sent on its topics.
    @Test func theBusRoutesNeedTheScopeOfTheRoutesBehindTheTopic() async throws {
        try await APIKernel.with(.init()) { k in
            let (_, writer) = try await k.createKey(scope: "write")
            let (_, reader) = try await k.createKey(scope: "read")
            func post(_ path: String, _ key: String, _ body: String = "x") async throws -> HTTPReply {
                try await HTTP.post(k.port, path, key: key, body: body, type: "text/plain")
            }
            // probe.echo answers GET /v1/probe/admin (admin) among others.
            let denied = try await post("/v1/bus/request/probe.echo", writer)
            #expect(denied.status == 403)
            #expect(denied.json["type"] as? String == "urn:jamey:problem:insufficient-scope")
            #expect(try await post("/v1/bus/publish/probe.echo", writer).status == 403)
            #expect(try await post("/v1/bus/request/probe.echo", APIKernel.adminKey).status == 200)
            #expect(try await post("/v1/bus/request/probe.direct", writer).status != 403, "a read route's topic")
            #expect(try await post("/v1/bus/request/hello.c.greet", writer, "Ada").status == 200, "no route's topic")
            #expect(try await post("/v1/bus/request/kernel.plugins.deploy", writer, "{}").status == 403)
            #expect(try await post("/v1/bus/publish/kernel.config.reload", writer, "{}").status == 403)
            let admin = try await post("/v1/bus/request/kernel.plugins.deploy", APIKernel.adminKey, "{}")
            #expect(admin.status != 403 && admin.status >= 400, "the kernel refuses an empty deploy: \(admin.status)")

            let c = try await HTTPConnection.open(port: k.port)
            try await c.send(
                "GET /v1/bus/subscribe?topic=probe.%3E HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(reader)\r\n\r\n")
            #expect(try await c.readLine() == "HTTP/1.1 200 OK")
            while try await !c.readLine().hasPrefix(": subscribed") {}
            #expect(try await post("/v1/bus/request/probe.echo", APIKernel.adminKey, "secret").status == 200)
            try k.test.bus.publish(BusMessage(topic: "probe.news", payload: Array("event".utf8), contentType: "text/plain"))
            var first: [String: Any]?
            while first == nil {
                let line = try await c.readLine()
                if line.hasPrefix("data: ") {
                    first = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
                }
            }
            #expect(first?["topic"] as? String == "probe.news", "the request on probe.echo is not in the stream")
        }
    }

    /// An event stream never takes a request: on a topic answered by a plain subscription, a
    /// stream open on it took every other request, which then timed out (504).
    @Test func anEventStreamTakesNoRequest() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            _ = try k.test.bus.subscribe("plain.ask") { request in
                guard let to = request.replyTo else { return true }
                try? k.test.bus.reply(
                    to: to, correlationID: request.correlationID, BusMessage(topic: to, payload: Array("yes".utf8)))
                return true
            }
            let c = try await HTTPConnection.open(port: k.port)
            try await c.send(
                "GET /v1/bus/subscribe?topic=plain.%3E HTTP/1.1\r\nHost: x\r\nX-API-Key: \(APIKernel.adminKey)\r\n\r\n")
            #expect(try await c.readLine() == "HTTP/1.1 200 OK")
            while try await !c.readLine().hasPrefix(": subscribed") {}
            for _ in 0..<6 {
                let r = try await HTTP.post(
                    k.port, "/v1/bus/request/plain.ask?timeout_ms=2000", key: APIKernel.adminKey, body: "", type: "text/plain")
                #expect(r.status == 200 && r.text == "yes")
            }
        }
    }

    /// A stream whose client does not read holds at most `EventStreams.bufferBytes` (4 MiB) of
    /// events beyond what the socket takes; past it events are dropped, and the client is told
    /// how many before the next event it gets. (Counted in events, a stalled reader held 1 024
    /// events of up to a MiB each, in every stream.)
    @Test func aStreamThatIsNotReadHoldsABoundedNumberOfBytes() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let c = try await HTTPConnection.open(port: k.port)
            try await c.send(
                "GET /v1/bus/subscribe?topic=big.%3E HTTP/1.1\r\nHost: x\r\nX-API-Key: \(APIKernel.adminKey)\r\n\r\n")
            #expect(try await c.readLine() == "HTTP/1.1 200 OK")
            while try await !c.readLine().hasPrefix(": subscribed") {}
            let big = [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
            for _ in 0..<32 { try k.test.bus.publish(BusMessage(topic: "big.one", payload: big, contentType: "text/plain")) }
            try await Task.sleep(for: .seconds(1))
            let bus = k.test.bus
            let tails = Task {
                while !Task.isCancelled {
                    try? bus.publish(BusMessage(topic: "big.tail", payload: Array("tail".utf8), contentType: "text/plain"))
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { tails.cancel() }
            var received = 0
            var dropped = 0
            while true {
                let line = try await c.readLine()
                if line.hasPrefix("data: "), line.contains(#""topic":"big.one""#) { received += 1 }
                // One comment before each event that follows drops (a slow socket may let some
                // big events through between drops): their counts add up.
                if line.hasPrefix(": dropped "), let n = Int(line.split(separator: " ")[2]) { dropped += n }
                if line.hasPrefix("data: "), line.contains(#""topic":"big.tail""#) { break }
            }
            #expect(received < 32, "\(received) of 32 big events reached the client")
            #expect(dropped >= 32 - received, "the comments count the events dropped: \(dropped)")
        }
    }

    @Test func requestWithoutResponderIs404AndTimeoutIs504() async throws {
        try await APIKernel.with(.init(hello: false)) { k in
            let none = try await HTTP.post(
                k.port, "/v1/bus/request/nobody.home", key: APIKernel.adminKey, body: "", type: "text/plain")
            #expect(none.status == 404)
            #expect(none.json["type"] as? String == "urn:jamey:problem:no-responder")
            // A subscriber that never replies.
            _ = try k.test.bus.subscribe("silent.topic") { _ in true }
            let slow = try await HTTP.post(
                k.port, "/v1/bus/request/silent.topic?timeout_ms=150", key: APIKernel.adminKey, body: "", type: "text/plain")
            #expect(slow.status == 504)
            #expect(slow.header("content-type") == "application/problem+json")
            #expect(slow.json["type"] as? String == "urn:jamey:problem:timeout")
            let badTimeout = try await HTTP.post(
                k.port, "/v1/bus/request/silent.topic?timeout_ms=0", key: APIKernel.adminKey, body: "", type: "text/plain")
            #expect(badTimeout.status == 400)
        }
    }

    /// A stream carries only events its caller's scope may see (the kernel's topics need admin)
    /// and never another caller's key id: a read key's stream of `>` carried both.
    @Test func aStreamShowsOnlyWhatItsCallersScopeMaySee() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let (_, reader) = try await k.createKey(scope: "read")
            func open(_ key: String) async throws -> HTTPConnection {
                let c = try await HTTPConnection.open(port: k.port)
                try await c.send("GET /v1/bus/subscribe?topic=%3E HTTP/1.1\r\nHost: x\r\nX-API-Key: \(key)\r\n\r\n")
                #expect(try await c.readLine() == "HTTP/1.1 200 OK")
                while try await c.readLine() != ": subscribed to >" {}
                return c
            }
            func events(_ c: HTTPConnection, until topic: String) async throws -> [[String: Any]] {
                var events: [[String: Any]] = []
                while events.last?["topic"] as? String != topic {
                    let line = try await c.readLine()
                    if line.hasPrefix("data: "),
                        let object = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
                    {
                        events.append(object)
                    }
                }
                return events
            }
            let readerStream = try await open(reader)
            let adminStream = try await open(APIKernel.adminKey)
            for topic in ["kernel.audit.test", "news.seen"] {
                let r = try await HTTP.post(k.port, "/v1/bus/publish/" + topic, key: APIKernel.adminKey, body: "{}")
                #expect(r.status == 202, "\(topic): \(r.text)")
            }
            let seenByReader = try await events(readerStream, until: "news.seen")
            #expect(!seenByReader.contains { $0["topic"] as? String == "kernel.audit.test" }, "\(seenByReader)")
            let headers = seenByReader.last?["headers"] as? [String: Any] ?? [:]
            #expect(!headers.keys.contains { $0.hasPrefix("auth.") }, "\(headers)")
            let seenByAdmin = try await events(adminStream, until: "news.seen")
            #expect(seenByAdmin.contains { $0["topic"] as? String == "kernel.audit.test" })
            #expect((seenByAdmin.last?["headers"] as? [String: Any])?["auth.key_id"] != nil)
        }
    }

    @Test func subscribeStreamsPublishedEventsAsServerSentEvents() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let (_, reader) = try await k.createKey(scope: "read")
            let c = try await HTTPConnection.open(port: k.port)
            try await c.send(
                "GET /v1/bus/subscribe?topic=news.%3E HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(reader)\r\n\r\n")
            #expect(try await c.readLine() == "HTTP/1.1 200 OK")
            var headers: [String] = []
            while true {
                let line = try await c.readLine()
                if line.isEmpty { break }
                headers.append(line.lowercased())
            }
            #expect(headers.contains("content-type: text/event-stream"))
            // The first chunk is the subscription comment: the subscription exists from here on.
            _ = try await c.readLine()  // chunk size
            #expect(try await c.readLine() == ": subscribed to news.>")
            try k.test.bus.publish(
                BusMessage(topic: "news.local", payload: Array("hello\nworld".utf8), contentType: "text/plain"))
            try k.test.bus.publish(BusMessage(topic: "other.topic", payload: Array("not for us".utf8)))
            try k.test.bus.publish(BusMessage(topic: "news.world.today", payload: [0xFF, 0x00]))
            var events: [[String: Any]] = []
            while events.count < 2 {
                let line = try await c.readLine()
                if line.hasPrefix("data: "),
                    let object = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
                {
                    events.append(object)
                }
            }
            #expect(events[0]["topic"] as? String == "news.local")
            #expect(events[0]["payload"] as? String == "hello\nworld")
            #expect(events[0]["content_type"] as? String == "text/plain")
            #expect(events[0]["source"] as? String == "test")
            #expect(events[1]["topic"] as? String == "news.world.today")
            #expect(events[1]["payload_base64"] as? String == "/wA=")
            let bad = try await HTTP.get(k.port, "/v1/bus/subscribe?topic=a..b", key: reader)
            #expect(bad.status == 400)
            let missing = try await HTTP.get(k.port, "/v1/bus/subscribe", key: reader)
            #expect(missing.status == 400)
        }
    }

    /// One key holds at most `max_sse_streams_per_caller` streams (429 beyond), so it cannot
    /// take every stream; another caller still opens one, and a closed stream frees its place.
    @Test func oneCallerHoldsABoundedNumberOfStreams() async throws {
        try await APIKernel.with(
            .init(config: "limits:\n  max_sse_streams_per_caller: 2\n  sse_heartbeat_ms: 200\n", probe: false, hello: false)
        ) { k in
            let (_, reader) = try await k.createKey(scope: "read")
            func open(_ key: String) async throws -> (HTTPConnection, String) {
                let c = try await HTTPConnection.open(port: k.port)
                try await c.send("GET /v1/bus/subscribe?topic=a.b HTTP/1.1\r\nHost: x\r\nX-API-Key: \(key)\r\n\r\n")
                return (c, try await c.readLine())
            }
            var first: (HTTPConnection, String)? = try await open(reader)
            let second = try await open(reader)
            #expect(first?.1 == "HTTP/1.1 200 OK" && second.1 == "HTTP/1.1 200 OK")
            let third = try await HTTP.get(k.port, "/v1/bus/subscribe?topic=a.b", key: reader)
            #expect(third.status == 429)
            #expect(third.json["type"] as? String == "urn:jamey:problem:too-many-streams")
            #expect(try await open(APIKernel.adminKey).1 == "HTTP/1.1 200 OK", "another caller")
            first = nil  // closes its socket
            #expect(first == nil)
            let again = try await eventually(timeout: .seconds(20)) { try await open(reader).1 == "HTTP/1.1 200 OK" }
            #expect(again, "a closed stream frees its place")
        }
    }

    /// A stream whose client goes away frees its place when the connection closes, not at the
    /// next keep-alive (here an hour away): a client that reconnects is not refused with 429 by
    /// its own dead streams, and the open-streams gauge falls back.
    @Test func aClosedConnectionFreesItsStreamAtOnce() async throws {
        try await APIKernel.with(
            .init(
                config: "limits:\n  max_sse_streams_per_caller: 1\n  sse_heartbeat_ms: 3600000\n", probe: false, hello: false)
        ) { k in
            let (_, reader) = try await k.createKey(scope: "read")
            for round in 0..<4 {
                var status = ""
                let reopened = await eventually(timeout: .seconds(20)) {
                    guard let c = try? await HTTPConnection.open(port: k.port) else { return false }
                    try? await c.send("GET /v1/bus/subscribe?topic=a.b HTTP/1.1\r\nHost: x\r\nX-API-Key: \(reader)\r\n\r\n")
                    status = (try? await c.readLine()) ?? ""
                    return status == "HTTP/1.1 200 OK"
                }  // the connection closes as c goes
                #expect(reopened, "round \(round): \(status)")
            }
            let drained = await eventually(timeout: .seconds(20)) {
                let metrics = try? await HTTP.get(k.port, "/metrics", key: APIKernel.adminKey)
                return metrics.flatMap { metricValue($0.text, #"api_sse_streams{plugin="api"}"#) } == 0
            }
            #expect(drained, "every stream closed")
        }
    }

    @Test func tooManyStreamsIs503() async throws {
        try await APIKernel.with(.init(config: "limits:\n  max_sse_streams: 1\n", probe: false, hello: false)) { k in
            let head = try await HTTP.request(
                k.port, "HEAD", "/v1/bus/subscribe?topic=a.b", headers: ["X-API-Key": APIKernel.adminKey])
            #expect(head.status == 200)
            #expect(head.header("content-type") == "text/event-stream")
            // HEAD opened no stream, so the one allowed stream is still free.
            let c = try await HTTPConnection.open(port: k.port)
            try await c.send("GET /v1/bus/subscribe?topic=a.b HTTP/1.1\r\nHost: x\r\nX-API-Key: \(APIKernel.adminKey)\r\n\r\n")
            #expect(try await c.readLine() == "HTTP/1.1 200 OK")
            let second = try await HTTP.get(k.port, "/v1/bus/subscribe?topic=a.b", key: APIKernel.adminKey)
            #expect(second.status == 503)
            #expect(second.json["type"] as? String == "urn:jamey:problem:too-many-streams")
        }
    }
}
