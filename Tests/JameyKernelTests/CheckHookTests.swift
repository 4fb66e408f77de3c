import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// A plugin's own `check` hook (ABI 1.6), with plain C plugins loaded with dlopen: what it finds
/// is a config problem at load, refuses a reload before anything stops and a deploy before the
/// new build starts; an older plugin's slot is not read, and a check that hangs is reported.
@Suite struct CheckHookTests {
    let log: ProbeEvents

    init() throws { log = try ProbeEvents(prefix: "jamey-check-events") }

    func events() -> [String] { log.read() }

    /// Refuses a section whose greeting is "no", with two problems (two lines); reads the
    /// greeting through the host's config_string, as init would.
    static let refuseNo = #"""
        const char *greeting = NULL;
        if (api->config_string(host, "greeting", &greeting) != JAMEY_OK) {
            snprintf(err, cap, "greeting: cannot be read");
            return JAMEY_E_INVALID;
        }
        if (strcmp(greeting, "no") == 0) {
            snprintf(err, cap, "greeting: 'no' is not a greeting\nfarewell: nor is this one");
            return JAMEY_E_INVALID;
        }
        return JAMEY_OK;
        """#

    /// A probe with a string setting `greeting` (default "hi") and a check hook running `check`.
    func probe(
        _ name: String, config: String? = nil, check: String? = refuseNo, configure: (inout CPluginSource) -> Void = { _ in }
    ) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: name)
        s.eventLog = log.path
        s.configFields = [
            #"{ .struct_size = sizeof(jamey_config_field), .type = JAMEY_CONFIG_STRING, .key = "greeting", .flags = JAMEY_CONFIG_HAS_MIN | JAMEY_CONFIG_HAS_MAX, .default_value = "hi", .min = 1, .max = 32, .description = "what to say" }"#
        ]
        s.checkCode = check
        configure(&s)
        return .init(name, path: try TestPlugins.buildC(name: name, source: s.render()), config: config)
    }

    func hooks(_ k: TestKernel, _ name: String) -> Set<String> {
        k.kernel.records.first { $0.name == name }?.descriptor?.hooks ?? []
    }

    func with(_ plugin: TestKernel.Plugin, config: String?) -> TestKernel.Plugin {
        var copy = plugin
        copy.configYAML = config
        return copy
    }

    @Test func whatTheCheckFindsFailsThePluginAtLoadBeforeAnyInit() throws {
        let alpha = try probe("alpha", config: "greeting: \"no\"")
        let beta = try probe("beta", check: nil)
        let k = try TestKernel.boot(plugins: [alpha, beta])
        defer { k.shutdown() }
        let failure = k.kernel.plugin(named: "alpha")?.failure ?? ""
        #expect(k.kernel.plugin(named: "alpha")?.state == .failed)
        #expect(
            failure.contains("\(k.directory)/jamey.yaml: plugins.alpha.config: greeting: 'no' is not a greeting"), "\(failure)")
        #expect(failure.contains("jamey.yaml: plugins.alpha.config: farewell: nor is this one"), "\(failure)")
        #expect(k.kernel.plugin(named: "beta")?.state == .started)
        #expect(events().first == "check alpha", "checked at load, before any plugin's init: \(events())")
        #expect(!events().contains("init alpha"))
    }

    @Test func aSectionTheCheckAcceptsStartsAsBefore() throws {
        let k = try TestKernel.boot(plugins: [try probe("alpha", config: "greeting: hello")])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "alpha")?.state == .started)
        #expect(events() == ["check alpha", "init alpha", "start alpha"])
        #expect(hooks(k, "alpha").contains("check"))
    }

    @Test func aReloadTheCheckRefusesStopsNothing() throws {
        let alpha = try probe("alpha", config: "greeting: hello") { $0.provides = [("alpha.api", "1.0.0")] }
        let user = try probe("user", check: nil) { $0.requires = [("alpha.api", "^1.0")] }
        let k = try TestKernel.boot(plugins: [alpha, user])
        defer { k.shutdown() }
        let before = events().count
        #expect {
            try k.reload(plugins: [with(alpha, config: "greeting: \"no\""), user])
        } throws: { error in
            let text = (error as? KernelError)?.problems.joined(separator: "\n") ?? "\(error)"
            return text.contains("plugins.alpha.config: greeting: 'no' is not a greeting")
                && text.contains("plugins.alpha.config: farewell: nor is this one")
        }
        #expect(Array(events()[before...]) == ["check alpha"], "nothing stopped or started")
        #expect(k.kernel.plugin(named: "alpha")?.state == .started)
        #expect(k.kernel.plugin(named: "user")?.state == .started)
        #expect(k.kernel.metrics.exposition().contains(#"jamey_config_reloads_total{result="invalid"} 1"#))

        // A section it accepts restarts the plugin and its dependent as before.
        let next = events().count
        let report = try k.reload(plugins: [with(alpha, config: "greeting: bonjour"), user])
        #expect(report.changes.contains("plugins.alpha.config: restarted with the new settings (greeting)"), "\(report.changes)")
        #expect(Array(events()[next...]).first == "check alpha")
        #expect(events()[next...].contains("init alpha"))
    }

    @Test func aPluginEnabledByAReloadIsCheckedFirst() throws {
        var gamma = try probe("gamma", config: "greeting: \"no\"")
        gamma.enabled = false
        let k = try TestKernel.boot(plugins: [gamma])
        defer { k.shutdown() }
        gamma.enabled = true
        #expect {
            try k.reload(plugins: [gamma])
        } throws: { error in
            ((error as? KernelError)?.problems.joined(separator: "\n") ?? "").contains("plugins.gamma.config: greeting: 'no'")
        }
        #expect(events() == ["check gamma"])
        #expect(k.kernel.plugin(named: "gamma")?.state == .disabled)
    }

    @Test func aNewBuildWhoseCheckRefusesTheSectionIsNotDeployed() throws {
        let first = try probe("alpha", config: "greeting: hello", check: nil)
        let k = try TestKernel.boot(plugins: [first])
        defer { k.shutdown() }
        var strict = CPluginSource(name: "alpha")
        strict.version = "2.0.0"
        strict.eventLog = log.path
        strict.configFields = [
            #"{ .struct_size = sizeof(jamey_config_field), .type = JAMEY_CONFIG_STRING, .key = "greeting", .flags = 0, .default_value = "hi", .description = "what to say" }"#
        ]
        strict.checkCode = #"snprintf(err, cap, "greeting: this build wants 'salut'"); return JAMEY_E_INVALID;"#
        let path = try TestPlugins.buildC(name: "alpha-strict", source: strict.render())
        #expect {
            try k.kernel.deploy(plugin: "alpha", path: path)
        } throws: { error in
            "\(error)".contains("does not accept its current config") && "\(error)".contains("greeting: this build wants 'salut'")
        }
        #expect(k.kernel.plugin(named: "alpha")?.state == .started)
        #expect(k.kernel.plugin(named: "alpha")?.version == "1.0.0")
        #expect(events().filter { $0 == "init alpha" }.count == 1, "no second instance was started")
    }

    /// The check's context reads the section and logs; anything else is refused, and it is
    /// invalid once the check returned.
    @Test func aCheckMayReadItsSectionAndNothingElse() throws {
        let nosy = try probe(
            "nosy", config: "greeting: hello",
            check: #"""
                const char *greeting = NULL;
                int32_t read = api->config_string(host, "greeting", &greeting);
                record(read == JAMEY_OK && strcmp(greeting, "hello") == 0 ? "read hello" : "read failed");
                record(api->data_dir(host) == NULL ? "data_dir refused" : "data_dir given");
                jamey_message m = { sizeof(jamey_message), 0, "nosy.out", "x", 1, "text/plain", NULL, 0, NULL, 0, NULL };
                record(api->publish(host, &m) != JAMEY_OK ? "publish refused" : "publish done");
                record(api->hook_time_left(host) > 0 ? "time left" : "no time left");
                kept = host;
                return JAMEY_OK;
                """#
        ) {
            $0.extraCode = "static jamey_host *kept;"
            $0.startCode = #"record(api->node_name(kept) == NULL ? "kept host invalid" : "kept host valid");"#
        }
        let k = try TestKernel.boot(plugins: [nosy])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "nosy")?.state == .started)
        #expect(
            events().prefix(6) == [
                "check nosy", "read hello nosy", "data_dir refused nosy", "publish refused nosy", "time left nosy", "init nosy",
            ],
            "\(events())")
        #expect(events().contains("kept host invalid nosy"))
        #expect(!FileManager.default.fileExists(atPath: k.directory + "/data/nosy"))
    }

    @Test func anOlderPluginsSpareSlotIsNotCalledAsACheck() throws {
        // Built for 1.5 with the slot filled: a 1.5 plugin's slot was spare (NULL by the rules), so
        // whatever is there is not called.
        let old = try probe("old", config: "greeting: \"no\"") { $0.abiMinor = "5" }
        let k = try TestKernel.boot(plugins: [old])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "old")?.state == .started)
        #expect(!events().contains("check old"))
        #expect(!hooks(k, "old").contains("check"))
    }

    @Test func aCheckThatDoesNotReturnIsReportedNotWaitedFor() throws {
        let slow = try probe("slow", check: "probe_sleep(10000); return JAMEY_OK;")
        let began = ContinuousClock.now
        let k = try TestKernel.boot(plugins: [slow], extra: "hooks:\n  init_timeout_ms: 200\n")
        defer { k.shutdown() }
        let failure = k.kernel.plugin(named: "slow")?.failure ?? ""
        #expect(
            failure.contains("plugins.slow.config: the plugin's check hook did not return within 200 ms (hooks.init_timeout_ms)"),
            "\(failure)")
        #expect(ContinuousClock.now - began < .seconds(8), "the load went on without it")
    }
}
