import Foundation
import JameyTestKit
import Testing

/// Graceful shutdown: in-flight requests finish, then the port is closed.
@Suite struct ShutdownTests {
    /// A grace period of two minutes (and kernel deadlines past it): what held shutdown for the
    /// grace period would hold it that long; what does not lets it finish in moments, however
    /// loaded the machine.
    static func longGrace(probe: Bool, stopTimeoutMs: Int = 180_000, limits: String = "") -> APIKernel.Options {
        var options = APIKernel.Options(probe: probe, hello: false)
        options.config = "limits:\n  shutdown_grace_ms: 120000\n" + limits
        options.kernelYAML = """
            hooks:
              stop_timeout_ms: \(stopTimeoutMs)
              health_interval_ms: 50
              init_timeout_ms: 60000
              start_timeout_ms: 60000
            shutdown:
              timeout_ms: 200000

            """
        return options
    }

    @Test func inFlightRequestsFinishDuringShutdown() async throws {
        let k = try await APIKernel.boot(Self.longGrace(probe: true))
        let port = k.port
        async let reply = HTTP.get(port, "/v1/probe/items/delay/parts/x", key: APIKernel.adminKey)
        // The probe logs delay-start once it holds the request (and replies 400 ms later).
        #expect(
            await eventually(timeout: .seconds(5)) {
                (try? String(contentsOfFile: k.eventLog, encoding: .utf8))?.contains("delay-start") == true
            })
        let clock = ContinuousClock()
        let began = clock.now
        await k.stop()
        let took = clock.now - began
        let answered = try await reply
        #expect(answered.status == 200)
        #expect(answered.text == #"{"delayed":true}"#)
        #expect(took < .seconds(60), "shutdown waited for the request, not for the grace period")
        #expect((try? await HTTP.get(port, "/healthz")) == nil, "the port is closed after shutdown")
    }

    @Test func eventStreamsEndAtShutdown() async throws {
        let k = try await APIKernel.boot(Self.longGrace(probe: false))
        let c = try await HTTPConnection.open(port: k.port)
        try await c.send("GET /v1/bus/subscribe?topic=x.y HTTP/1.1\r\nHost: x\r\nX-API-Key: \(APIKernel.adminKey)\r\n\r\n")
        #expect(try await c.readLine() == "HTTP/1.1 200 OK")
        let clock = ContinuousClock()
        let began = clock.now
        await k.stop()
        #expect(clock.now - began < .seconds(60), "an open stream does not hold shutdown for the grace period")
        #expect(await c.isClosedByPeer())
    }

    /// A grace period longer than what the kernel's stop deadline leaves ends with that deadline:
    /// a request still in flight held the stop for the whole grace period, and past it for its
    /// bus request's timeout (a cancelled task went on waiting for the reply), so the kernel
    /// abandoned the gateway (state failed, its connections left open).
    @Test func theGraceEndsWithinTheStopDeadline() async throws {
        let options = Self.longGrace(probe: false, stopTimeoutMs: 3000, limits: "  request_timeout_ms: 120000\n")
        let k = try await APIKernel.boot(options)
        let arrived = LockedBox(false)
        // A responder that never answers: the HTTP request stays in flight.
        _ = try k.test.bus.subscribe("held.forever", responder: true) { _ in
            arrived.set(true)
            return true
        }
        let port = k.port
        let reply = Task { try? await HTTP.post(port, "/v1/bus/request/held.forever", key: APIKernel.adminKey, body: "{}") }
        #expect(await eventually(timeout: .seconds(30)) { arrived.value }, "the request reached the bus")
        let clock = ContinuousClock()
        let began = clock.now
        await k.stop()
        let api = k.test.kernel.plugin(named: "api")
        #expect(api?.state == .stopped, "\(api?.state.description ?? "") \(api?.failure ?? "")")
        #expect(clock.now - began < .seconds(15), "the stop ended with its deadline, not the grace period")
        reply.cancel()
    }
}
