import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Routes follow the kernel's plugin state events (ABI 1.3): a plugin's routes are served from
/// the moment it starts until it stops or fails, and its declared operation id and JSON Schemas
/// are in `/openapi.json`.
@Suite struct RouteLifecycleTests {
    static let requestSchema = #"{\"type\":\"object\",\"required\":[\"n\"],\"properties\":{\"n\":{\"type\":\"integer\"}}}"#
    static let responseSchema = #"{\"type\":\"object\",\"properties\":{\"doubled\":{\"type\":\"integer\"}}}"#

    /// A C plugin declaring one documented 1.3 route, configured after the api plugin.
    func latePlugin(_ name: String, configure: (inout CPluginSource) -> Void = { _ in }) throws -> TestKernel.Plugin {
        var source = CPluginSource(name: name)
        source.routes = [
            #"{sizeof(jamey_route), 0, "POST", "/v1/\#(name)/double", "\#(name).double", "write", "Double a number", "\#(name)Double", "\#(Self.requestSchema)", "\#(Self.responseSchema)", "Doubles n."}"#
        ]
        configure(&source)
        return .init(name, path: try TestPlugins.buildC(name: name, source: source.render()))
    }

    func document(_ port: Int) async throws -> [String: [String: Any]] {
        let r = try await HTTP.get(port, "/openapi.json")
        return r.json["paths"] as? [String: [String: Any]] ?? [:]
    }

    @Test func aPluginsRouteAppearsWhenItStartsWithItsOperationIDAndSchemas() async throws {
        // "late" stays in its start hook until the test opens the gate (at most 30 s).
        let gate = try TemporaryDirectory.make() + "/open"
        let late = try latePlugin("late") {
            $0.startCode = """
                for (int i = 0; i < 3000; i++) {
                    FILE *g = fopen(\(String(reflecting: gate)), "r");
                    if (g != NULL) { fclose(g); break; }
                    struct timespec ts = {0, 10000000L};
                    nanosleep(&ts, NULL);
                }
                """
        }
        let k = try await APIKernel.boot(.init(probe: false, hello: false, after: [late], start: false))
        let kernel = k.test.kernel
        async let started: Void = onThread { try kernel.start() }
        let port = try await k.waitForPort()
        // While "late" is still starting, its route is not served: 503, not 404 (a client
        // would take a 404 for "gone").
        #expect(try await document(port)["/v1/late/double"] == nil)
        let starting = try await HTTP.post(port, "/v1/late/double", key: APIKernel.adminKey, body: #"{"n":2}"#)
        #expect(starting.status == 503, "\(starting.text)")
        #expect(
            starting.json["detail"] as? String
                == "plugin 'late', which serves /v1/late/double, is not running (starting); retry later")
        FileManager.default.createFile(atPath: gate, contents: Data())
        try await started
        // The state event rebuilds the table at once, not at the next poll.
        #expect(await eventually(timeout: .seconds(4)) { (try? await document(port)["/v1/late/double"]) != nil })
        let operation = try #require(try await document(port)["/v1/late/double"]?["post"] as? [String: Any])
        #expect(operation["operationId"] as? String == "lateDouble")
        #expect((operation["description"] as? String)?.hasPrefix("Doubles n.") == true)
        let body = operation["requestBody"] as? [String: Any]
        let content = (body?["content"] as? [String: Any])?["application/json"] as? [String: Any]
        #expect((content?["schema"] as? [String: Any])?["required"] as? [String] == ["n"], "\(operation)")
        let ok = ((operation["responses"] as? [String: Any])?["200"] as? [String: Any])?["content"] as? [String: Any]
        let okSchema = (ok?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
        #expect(((okSchema?["properties"] as? [String: Any])?["doubled"]) != nil, "\(operation)")
        await k.stop()
    }

    @Test func aPluginThatFailsLosesItsRoutesAtOnceAndTheyAnswer503() async throws {
        let gate = try TemporaryDirectory.make() + "/hang"
        let flaky = try latePlugin("flaky") {
            $0.healthDelayMilliseconds = 10000
            $0.healthGate = gate
        }
        try await APIKernel.with(
            .init(
                probe: false, hello: false, after: [flaky],
                kernelYAML: "hooks:\n  health_timeout_ms: 3000\n  health_interval_ms: 50\n  start_timeout_ms: 60000\n")
        ) { k in
            // Served while it runs (the health deadline is generous: a loaded machine may
            // stall a healthy hook for a while, and this test is about the hang, not the stall) ...
            #expect(k.test.kernel.plugin(named: "flaky")?.state == .started)
            // The gateway rebuilds its table on the state event, on its own task: promptly, not
            // necessarily before the boot helper returns.
            #expect(await eventually(timeout: .seconds(5)) { (try? await document(k.port)["/v1/flaky/double"]) != nil })
            // ... until its health hook hangs past its deadline and the kernel marks it failed.
            FileManager.default.createFile(atPath: gate, contents: Data())
            #expect(await eventually(timeout: .seconds(20)) { k.test.kernel.plugin(named: "flaky")?.state == .failed })
            #expect(await eventually(timeout: .seconds(4)) { (try? await document(k.port)["/v1/flaky/double"]) == nil })
            let (_, key) = try await k.createKey(scope: "write")
            // Its paths say it is down, with a time to retry after (a 404 read as "deleted" or
            // "a miss" to a client); only to a caller who may use the route.
            let down = try await HTTP.post(k.port, "/v1/flaky/double", key: key, body: #"{"n":2}"#)
            #expect(down.status == 503, "\(down.text)")
            #expect(down.json["type"] as? String == "urn:jamey:problem:plugin-unavailable")
            #expect(
                down.json["detail"] as? String
                    == "plugin 'flaky', which serves /v1/flaky/double, is not running (failed); retry later")
            #expect(down.header("retry-after") == "5")
            #expect(try await HTTP.post(k.port, "/v1/flaky/double", body: #"{"n":2}"#).status == 401)
            let (_, reader) = try await k.createKey(scope: "read")
            #expect(try await HTTP.post(k.port, "/v1/flaky/double", key: reader, body: #"{"n":2}"#).status == 403)
            #expect(try await HTTP.post(k.port, "/v1/flaky/other", key: key, body: "{}").status == 404)
        }
    }

    /// A route flagged `JAMEY_ROUTE_LONG_RUNNING` (the vault's backup and restore, memory's
    /// consolidation) is waited for up to `limits.operation_timeout_ms`; the same handler behind
    /// a plain route is cut at `limits.request_timeout_ms` (504, the work going on regardless).
    @Test func aLongRunningRouteIsWaitedForUnderTheOperationTimeout() async throws {
        var source = CPluginSource(name: "slow")
        source.routes = [
            #"{sizeof(jamey_route), JAMEY_ROUTE_LONG_RUNNING, "POST", "/v1/slow/long", "slow.long", "write", "Long", "slowLong", NULL, NULL, NULL}"#,
            #"{sizeof(jamey_route), 0, "POST", "/v1/slow/short", "slow.short", "write", "Short", "slowShort", NULL, NULL, NULL}"#,
        ]
        let slow = TestKernel.Plugin("slow", path: try TestPlugins.buildC(name: "slow", source: source.render()))
        try await APIKernel.with(
            .init(
                config: "limits:\n  request_timeout_ms: 1000\n  operation_timeout_ms: 20000\n", probe: false, hello: false,
                before: [slow])
        ) { k in
            // Served once the gateway's table has the plugin's routes (a plugin still starting
            // answers 503).
            #expect(await eventually(timeout: .seconds(20)) { (try? await document(k.port)["/v1/slow/long"]) != nil })
            let bus = k.test.bus
            for topic in ["slow.long", "slow.short"] {
                _ = try bus.subscribe(topic) { request in
                    guard let to = request.replyTo else { return true }
                    let correlation = request.correlationID
                    DispatchQueue.global().asyncAfter(deadline: .now() + 2.5) {
                        try? bus.reply(to: to, correlationID: correlation, BusMessage(topic: to, payload: Array("done".utf8)))
                    }
                    return true
                }
            }
            let long = try await HTTP.post(k.port, "/v1/slow/long", key: APIKernel.adminKey, body: "{}")
            #expect(long.status == 200 && long.text == "done", "\(long.text)")
            let short = try await HTTP.post(k.port, "/v1/slow/short", key: APIKernel.adminKey, body: "{}")
            #expect(short.status == 504, "\(short.text)")
            let listed = try await HTTP.get(k.port, "/v1/plugins/slow", key: APIKernel.adminKey)
            let routes = listed.json["routes"] as? [[String: Any]] ?? []
            #expect(routes.map { $0["long_running"] as? Bool } == [true, false], "\(listed.text)")
        }
    }
}
