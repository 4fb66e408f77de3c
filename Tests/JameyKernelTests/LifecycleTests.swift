import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// Start order, reverse stop, dependency errors, failure propagation and the shutdown deadline,
/// with real C plugins that append their lifecycle events to a file.
@Suite struct LifecycleTests {
    let log: String

    init() throws {
        log = try TemporaryDirectory.make() + "/events.log"
    }

    func plugin(
        _ name: String, requires: [(String, String)] = [], provides: [(String, String)] = [],
        configure: (inout CPluginSource) -> Void = { _ in }
    ) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: name)
        s.requires = requires
        s.provides = provides
        s.eventLog = log
        configure(&s)
        return .init(name, path: try TestPlugins.buildC(name: name, source: s.render()))
    }

    func events() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func startsInDependencyOrderAndStopsInReverse() async throws {
        try await onThread { [self] in
            // Config order is the reverse of dependency order on purpose.
            let k = try TestKernel.boot(plugins: [
                try plugin("gamma", requires: [("beta.api", "^2.0")]),
                try plugin("beta", requires: [("alpha", "*")], provides: [("beta.api", "2.1.0")]),
                try plugin("alpha"),
            ])
            #expect(k.kernel.plugins.map(\.state) == [.started, .started, .started])
            #expect(events() == ["init alpha", "start alpha", "init beta", "start beta", "init gamma", "start gamma"])
            k.shutdown()
            #expect(
                Array(events().suffix(6)) == [
                    "stop gamma", "deinit gamma", "stop beta", "deinit beta", "stop alpha", "deinit alpha",
                ])
            #expect(k.kernel.plugins.map(\.state) == [.stopped, .stopped, .stopped])
        }
    }

    @Test func cycleIsAnErrorNamingIt() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [
                try plugin("ping", requires: [("pong", "*")]),
                try plugin("pong", requires: [("ping", "*")]),
                try plugin("bystander"),
            ])
            defer { k.shutdown() }
            let ping = try #require(k.kernel.plugin(named: "ping"))
            #expect(ping.state == .failed)
            #expect(ping.failure == "dependency cycle: ping → pong → ping")
            #expect(k.kernel.plugin(named: "pong")?.failure == "dependency cycle: pong → ping → pong")
            #expect(k.kernel.plugin(named: "bystander")?.state == .started)
            #expect(!events().contains("init ping"))
        }
    }

    @Test func missingDependencyNamesIt() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [try plugin("needy", requires: [("storage.api", "^1.0")])])
            defer { k.shutdown() }
            #expect(k.kernel.plugin(named: "needy")?.failure == "requires 'storage.api ^1.0', which no enabled plugin provides")
        }
    }

    @Test func unsatisfiedVersionNamesProviderAndVersion() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [
                try plugin("old", provides: [("store", "1.9.0")]),
                try plugin("picky", requires: [("store", ">=2.0.0 <3.0.0")]),
            ])
            defer { k.shutdown() }
            #expect(k.kernel.plugin(named: "old")?.state == .started)
            #expect(
                k.kernel.plugin(named: "picky")?.failure
                    == "requires 'store >=2.0.0 <3.0.0', but plugin 'old' provides version 1.9.0"
            )
        }
    }

    @Test func dependentsOfAFailedPluginAreNotStarted() async throws {
        try await onThread { [self] in
            let base = try plugin("base", provides: [("base.api", "1.0.0")]) { $0.startError = "port 80 in use" }
            let k = try TestKernel.boot(plugins: [
                base,
                try plugin("mid", requires: [("base.api", "^1")]),
                try plugin("top", requires: [("mid", "*")]),
                try plugin("free"),
            ])
            defer { k.shutdown() }
            #expect(
                k.kernel.plugin(named: "base")?.failure == "start failed (JAMEY_E_PLUGIN): port 80 in use (file \(base.path!))")
            #expect(
                k.kernel.plugin(named: "mid")?.failure
                    == "not started: it requires 'base.api ^1', provided by 'base', which is not running")
            #expect(
                k.kernel.plugin(named: "top")?.failure
                    == "not started: it requires 'mid', provided by 'mid', which is not running")
            #expect(k.kernel.plugin(named: "free")?.state == .started)
            #expect(!events().contains("init mid"))
            // base was initialised, so it is deinitialised after its failed start.
            #expect(events().contains("deinit base"))
        }
    }

    @Test func undeliveredProvidesFailsThePlugin() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [
                try plugin("liar", provides: [("liar.api", "1.0.0")]) { $0.skipRegistering = true }
            ]
            )
            defer { k.shutdown() }
            #expect(
                k.kernel.plugin(named: "liar")?.failure
                    == "declares that it provides 'liar.api 1.0.0' but did not register that service by the end of start")
            #expect(events().suffix(2) == ["stop liar", "deinit liar"])
        }
    }

    @Test func requiredPluginFailureStopsWhatStarted() async throws {
        try await onThread { [self] in
            let first = try plugin("first")
            let critical = try plugin("critical", requires: [("first", "*")]) { $0.initError = "license expired" }
            var p = critical
            p.required = true
            do {
                _ = try TestKernel.boot(plugins: [first, p])
                Issue.record("boot should fail")
            } catch let error as KernelError {
                #expect(
                    error.problems == [
                        "required plugin 'critical' failed: init failed (JAMEY_E_PLUGIN): license expired (file \(critical.path!))"
                    ])
            }
            #expect(events() == ["init first", "start first", "init critical", "stop first", "deinit first"])
        }
    }

    @Test func stopDeadlineAbandonsAHungPlugin() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [
                try plugin("quick"),
                try plugin("slow", requires: [("quick", "*")]) { $0.stopDelayMilliseconds = 40_000 },
            ])
            let clock = ContinuousClock()
            let began = clock.now
            k.shutdown(deadline: .seconds(1))
            // The kernel must not wait for the 40 s stop: it gives up at the deadline and goes on.
            #expect(clock.now - began < .seconds(30))
            #expect(k.kernel.plugin(named: "slow")?.state == .failed)
            #expect(
                k.kernel.plugin(named: "slow")?.failure?.contains(
                    "(hooks.stop_timeout_ms, within shutdown.timeout_ms of 1 s); the plugin is abandoned") == true)
            #expect(k.kernel.plugin(named: "quick")?.state == .stopped)
        }
    }

    @Test func gracefulStopDrainsQueuedMessagesFirst() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [
                try plugin("slowpoke") {
                    $0.extraCode = """
                        static int32_t slow_handler(void *u, const jamey_message *m) {
                            (void)u; (void)m;
                            struct timespec ts = {0, 2000000L};
                            nanosleep(&ts, NULL);
                            record("got");
                            return JAMEY_OK;
                        }
                        """
                    $0.startCode = "api->subscribe(s->host, \"work.items\", NULL, slow_handler, s, &s->sub);"
                }
            ])
            for _ in 0..<50 { try k.bus.publish(BusMessage(topic: "work.items")) }
            k.shutdown(deadline: .seconds(10))
            let e = events()
            #expect(e.filter { $0 == "got slowpoke" }.count == 50, "every queued message was handled")
            #expect(e.firstIndex(of: "stop slowpoke")! > e.lastIndex(of: "got slowpoke")!)
        }
    }

    @Test func disabledPluginIsNotLoaded() async throws {
        try await onThread { [self] in
            var p = try plugin("off")
            p.enabled = false
            let k = try TestKernel.boot(plugins: [p])
            defer { k.shutdown() }
            #expect(k.kernel.plugin(named: "off")?.state == .disabled)
            #expect(events().isEmpty)
        }
    }

    @Test func stateIsVisibleInMetrics() async throws {
        try await onThread { [self] in
            var off = try plugin("off")
            off.enabled = false
            let k = try TestKernel.boot(plugins: [try plugin("metered"), off])
            let text = k.kernel.metrics.exposition()
            // Series an alert needs exist before their first event (a disabled plugin never
            // changes state; no reload has happened).
            #expect(text.contains(#"jamey_plugin_state{plugin="off",state="disabled"} 1"#), "\(text)")
            #expect(text.contains(#"jamey_config_reloads_total{result="rolled_back"} 0"#))
            // A plugin without a health hook is healthy while started.
            #expect(text.contains(#"jamey_plugin_health{plugin="metered",status="ok"} 1"#))
            #expect(text.contains(#"jamey_plugin_state{plugin="metered",state="started"} 1"#))
            #expect(text.contains(#"jamey_plugin_state{plugin="metered",state="loaded"} 0"#))
            #expect(text.contains(#"jamey_plugin_hook_duration_seconds_count{plugin="metered",hook="init"} 1"#))
            #expect(text.contains(#"jamey_plugin_hook_duration_seconds_count{plugin="metered",hook="start"} 1"#))
            #expect(text.contains(#"jamey_plugin_info{plugin="metered",version="1.0.0",abi="1.7"} 1"#))
            k.shutdown()
            #expect(k.kernel.metrics.exposition().contains(#"jamey_plugin_state{plugin="metered",state="stopped"} 1"#))
        }
    }
}
