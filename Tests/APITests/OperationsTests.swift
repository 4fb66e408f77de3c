import Foundation
import JameyTestKit
import Testing

/// `/healthz`, `/readyz`, `/metrics` and the headers every response carries.
@Suite struct OperationsTests {
    /// A config reload over HTTP that restarts the api plugin (its section changed) answers 202
    /// at once: the plugin's stop waited for requests in flight, this one among them, which
    /// waited for the reload, until the request timeout answered 504 (the reload went on).
    @Test func aReloadThatRestartsTheGatewayAnswersAtOnce() async throws {
        try await APIKernel.with(.init(config: "access_log: true\n", probe: false, hello: false)) { k in
            let file = k.test.directory + "/jamey.yaml"
            let yaml = try String(contentsOfFile: file, encoding: .utf8)
            #expect(yaml.contains("access_log: true"))
            try yaml.replacingOccurrences(of: "access_log: true", with: "access_log: false")
                .write(toFile: file, atomically: true, encoding: .utf8)
            let started = ContinuousClock.now
            let reply = try await HTTP.post(k.port, "/v1/config/reload", key: APIKernel.adminKey)
            #expect(reply.status == 202, "\(reply.text)")
            #expect(reply.json["status"] as? String == "continuing")
            #expect(ContinuousClock.now - started < .seconds(4), "answered before the request timeout (5 s)")
            let restarted = await eventually(timeout: .seconds(60)) {
                guard k.test.kernel.plugin(named: "api")?.state == .started,
                    let detail = k.test.kernel.plugin(named: "api")?.health?.detail,
                    let port = detail.split(separator: ":").last.flatMap({ Int($0) })
                else { return false }
                return (try? await HTTP.get(port, "/healthz"))?.status == 200
            }
            let api = k.test.kernel.plugin(named: "api")
            #expect(
                restarted,
                "api \(api?.state as Any), failure \(api?.failure ?? "none"), health \(api?.health?.detail ?? "none")")
        }
    }

    @Test func healthzIsPublicAndCarriesSecurityHeaders() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let r = try await HTTP.get(k.port, "/healthz")
            #expect(r.status == 200)
            #expect(r.text == #"{"status":"ok"}"#)
            #expect(r.header("content-type") == "application/json")
            #expect(r.header("x-content-type-options") == "nosniff")
            #expect(r.header("x-frame-options") == "DENY")
            #expect(r.header("referrer-policy") == "no-referrer")
            #expect(r.header("content-security-policy") == "default-src 'none'; frame-ancestors 'none'")
            #expect(r.header("strict-transport-security") == nil, "HSTS only with TLS")
            #expect(r.header("x-request-id")?.isEmpty == false)
            #expect(r.header("ratelimit-limit") == nil, "probes are never rate limited")
            let echoed = try await HTTP.get(k.port, "/healthz", headers: ["X-Request-Id": "abc-123"])
            #expect(echoed.header("x-request-id") == "abc-123")
        }
    }

    @Test func headAnswersWithoutABody() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let r = try await HTTP.request(k.port, "HEAD", "/healthz")
            #expect(r.status == 200)
            #expect(r.body.isEmpty)
        }
    }

    @Test func readyzIsReadyWhenEveryPluginStarted() async throws {
        try await APIKernel.with(.init(probe: false)) { k in
            let r = try await HTTP.get(k.port, "/readyz")
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["status"] as? String == "ready")
        }
    }

    @Test func readyzListsFailedOptionalPluginsWithoutBlocking() async throws {
        try await APIKernel.with(.init(probe: false, hello: false, before: [.init("ghost", path: "/nonexistent/libghost.so")])) {
            k in
            let r = try await HTTP.get(k.port, "/readyz")
            #expect(r.status == 200, "\(r.text)")
            #expect(r.json["failed_optional"] as? [String] == ["ghost"])
        }
    }

    /// A plugin's health counts for readiness and in the metrics: a quarantined isolated plugin
    /// still showed `jamey_plugin_state{state="started"} 1` and a ready node, and nothing in
    /// /metrics said it was unhealthy. A required plugin reporting unhealthy makes the node not
    /// ready; an optional one is listed.
    @Test func readyzAndMetricsFollowThePluginsHealth() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-readyz-health")
        func plugin(_ name: String) throws -> (String, String) {
            var source = CPluginSource(name: name)
            source.healthDelayMilliseconds = 0
            source.healthFile = dir + "/" + name
            return (try TestPlugins.buildC(name: name, source: source.render()), dir + "/" + name)
        }
        let (mustPath, must) = try plugin("must")
        let (mayPath, may) = try plugin("may")
        let options = APIKernel.Options(
            probe: false, hello: false,
            before: [.init("must", path: mustPath, required: true), .init("may", path: mayPath)])
        try await APIKernel.with(options) { k in
            func metric(_ series: String) async throws -> Double? {
                metricValue(try await HTTP.get(k.port, "/metrics", key: APIKernel.adminKey).text, series)
            }
            #expect(try await eventually { try await metric(#"jamey_plugin_health{plugin="must",status="ok"}"#) == 1 })
            try "unhealthy".write(toFile: may, atomically: true, encoding: .utf8)
            #expect(try await eventually { try await metric(#"jamey_plugin_health{plugin="may",status="unhealthy"}"#) == 1 })
            #expect(try await metric(#"jamey_plugin_health{plugin="may",status="ok"}"#) == 0)
            let listed = try await HTTP.get(k.port, "/readyz")
            #expect(listed.status == 200, "\(listed.text)")
            #expect(listed.json["unhealthy_optional"] as? [String] == ["may"])

            try "unhealthy".write(toFile: must, atomically: true, encoding: .utf8)
            #expect(await eventually { (try? await HTTP.get(k.port, "/readyz").status) == 503 })
            let refused = try await HTTP.get(k.port, "/readyz")
            #expect((refused.json["detail"] as? String)?.contains("required plugin 'must' is unhealthy: probe unhealthy") == true)
            try "degraded".write(toFile: must, atomically: true, encoding: .utf8)
            #expect(await eventually { (try? await HTTP.get(k.port, "/readyz").status) == 200 }, "degraded still serves")
            #expect(try await eventually { try await metric(#"jamey_plugin_health{plugin="must",status="degraded"}"#) == 1 })
        }
    }

    @Test func readyzIs503WithTheReasonUntilEveryPluginStarted() async throws {
        // "sleepy" comes after api in start order and stays in its start hook until the test
        // opens a gate: meanwhile the gateway answers, but is not ready.
        let gate = NSTemporaryDirectory() + "jamey-readyz-gate-\(UUID().uuidString)"
        var sleepy = CPluginSource(name: "sleepy")
        sleepy.startCode = """
            for (int i = 0; i < 6000; i++) {
                FILE *g = fopen("\(gate)", "r");
                if (g != NULL) { fclose(g); break; }
                probe_sleep(10);
            }
            """
        let library = try TestPlugins.buildC(name: "sleepy", source: sleepy.render())
        let k = try await APIKernel.boot(.init(probe: false, hello: false, after: [.init("sleepy", path: library)], start: false))
        let kernel = k.test.kernel
        async let started: Void = onThread { try kernel.start() }
        let port = try await k.waitForPort()
        let early = try await HTTP.get(port, "/readyz")
        #expect(early.status == 503)
        #expect(early.header("content-type") == "application/problem+json")
        #expect((early.json["detail"] as? String)?.contains("plugin 'sleepy' is") == true, "\(early.text)")
        FileManager.default.createFile(atPath: gate, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: gate) }
        #expect(await eventually(timeout: .seconds(30)) { (try? await HTTP.get(port, "/readyz").status) == 200 })
        try await started
        await k.stop()
    }

    @Test func metricsNeedsAReadKeyAndIncludesTheGatewaysOwnMetrics() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            #expect(try await HTTP.get(k.port, "/metrics").status == 401)
            _ = try await HTTP.get(k.port, "/healthz")
            _ = try await HTTP.get(k.port, "/nope")
            let r = try await HTTP.get(k.port, "/metrics", key: APIKernel.adminKey)
            #expect(r.status == 200)
            #expect(r.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(
                metricValue(r.text, #"api_http_requests_total{plugin="api",route="/healthz",method="GET",status="200"}"#) == 1,
                "\(r.text)")
            #expect(
                metricValue(r.text, #"api_http_requests_total{plugin="api",route="unmatched",method="GET",status="404"}"#) == 1)
            #expect(
                metricValue(
                    r.text, #"api_http_request_duration_seconds_count{plugin="api",route="/healthz",method="GET",status="200"}"#)
                    == 1)
            #expect(r.text.contains("jamey_plugin_state"))
        }
    }

    @Test func metricsCanBePublic() async throws {
        try await APIKernel.with(.init(config: "metrics_public: true\n", probe: false, hello: false)) { k in
            let r = try await HTTP.get(k.port, "/metrics")
            #expect(r.status == 200)
        }
    }
}
