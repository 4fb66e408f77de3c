import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// Config reload on a running kernel, with plain C plugins loaded with dlopen: what is applied,
/// what is refused with nothing changed, and what is rolled back.
@Suite struct ReloadTests {
    let log: ProbeEvents

    init() throws { log = try ProbeEvents(prefix: "jamey-reload-events") }

    func events() -> [String] { log.read() }

    /// A probe with a string setting `greeting` (default "hi"); `configure` sets more knobs.
    func probe(
        _ name: String, enabled: Bool = true, config: String? = nil, configure: (inout CPluginSource) -> Void = { _ in }
    ) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: name)
        s.eventLog = log.path
        s.configFields = [
            #"{ .struct_size = sizeof(jamey_config_field), .type = JAMEY_CONFIG_STRING, .key = "greeting", .flags = JAMEY_CONFIG_HAS_MIN | JAMEY_CONFIG_HAS_MAX, .default_value = "hi", .min = 1, .max = 32, .description = "what to say" }"#
        ]
        configure(&s)
        return .init(name, path: try TestPlugins.buildC(name: name, source: s.render()), enabled: enabled, config: config)
    }

    /// The same library with another `config:` section (a rebuilt library has a new path).
    func with(_ plugin: TestKernel.Plugin, config: String?) -> TestKernel.Plugin {
        var copy = plugin
        copy.configYAML = config
        return copy
    }

    /// A reload while start() is still initialising plugins is refused, not run beside it: it
    /// took a plugin start() had not reached yet (loaded, unchanged) for one to try again and
    /// initialised it, then start() initialised it a second time; two instances, the first
    /// never stopped.
    @Test func aReloadDuringStartIsRefused() throws {
        let slow = try probe("slow") { $0.initDelayMilliseconds = 600 }
        let later = try probe("later")
        let k = try TestKernel.boot(plugins: [slow, later], start: false)
        defer { k.shutdown() }
        let started = LockedBox<String?>(nil)
        let done = LockedBox(false)
        Thread {
            do { try k.kernel.start() } catch { started.set("\(error)") }
            done.set(true)
        }.start()
        #expect(TestKernel.eventually { k.kernel.starting.load(ordering: .acquiring) })
        #expect { try k.reload(plugins: [slow, later]) } throws: { "\($0)".contains("still starting") }
        #expect(TestKernel.eventually(timeout: .seconds(20)) { done.value })
        #expect(started.value == nil)
        #expect(events().filter { $0.hasPrefix("init") }.count == 2, "each plugin once: \(events())")
        #expect(k.kernel.plugin(named: "later")?.state == .started)
        // Once started, a reload runs.
        #expect(throws: Never.self) { try k.reload(plugins: [slow, later]) }
    }

    func greeting(_ k: TestKernel, _ name: String) -> String? {
        guard let section = k.kernel.validatedSections[name] else { return nil }
        if case .success(let value) = section.string(at: "greeting") { return value }
        return nil
    }

    @Test func enablingDisablingAddingAndRemovingPluginsIsAppliedInOrder() throws {
        let a = try probe("alpha")
        let b = try probe("beta", enabled: false)
        let k = try TestKernel.boot(plugins: [a, b])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "beta")?.state == .disabled)

        var enabled = b
        enabled.enabled = true
        let gamma = try probe("gamma")
        let report = try k.reload(plugins: [a, enabled, gamma])
        #expect(report.changes.contains("plugins.beta: enabled"))
        #expect(report.changes.contains("plugins.gamma: added"))
        #expect(k.kernel.plugin(named: "beta")?.state == .started)
        #expect(k.kernel.plugin(named: "gamma")?.state == .started)
        #expect(k.kernel.plugin(named: "alpha")?.state == .started)
        #expect(!events().contains("stop alpha"), "an unchanged plugin is left alone")

        let before = events().count
        var disabled = b
        disabled.enabled = false
        let second = try k.reload(plugins: [a, disabled])
        #expect(second.changes.contains("plugins.beta: disabled"))
        #expect(second.changes.contains("plugins.gamma: removed"))
        #expect(k.kernel.plugin(named: "beta")?.state == .disabled)
        #expect(k.kernel.plugin(named: "gamma") == nil)
        #expect(Set(events()[before...]) == ["stop beta", "deinit beta", "stop gamma", "deinit gamma"])
        #expect(k.kernel.metrics.exposition().contains(#"jamey_config_reloads_total{result="applied"} 2"#))

        // The same file again: nothing to do.
        #expect(try k.reload(plugins: [a, disabled]).changes.isEmpty)
        #expect(k.kernel.metrics.exposition().contains(#"jamey_config_reloads_total{result="unchanged"} 1"#))
    }

    @Test func anInvalidFileIsRefusedWithEveryProblemNamedAndNothingChanges() throws {
        let a = try probe("alpha", config: "greeting: hello")
        let k = try TestKernel.boot(plugins: [a], extra: "hooks:\n  stop_timeout_ms: 5000\n")
        defer { k.shutdown() }
        let beforeEvents = events()
        let before = k.kernel.config

        // A section value out of range and a plugin that does not exist, in one file.
        let bad = with(a, config: "greeting: \"\"")
        let ghost = TestKernel.Plugin("ghost", path: "/nonexistent/libghost.so")
        do {
            try k.reload(plugins: [bad, ghost], extra: "hooks:\n  stop_timeout_ms: 7000\n")
            Issue.record("expected the reload to be refused")
        } catch let error as KernelError {
            let text = error.problems.joined(separator: "\n")
            #expect(text.contains("plugins.alpha.config.greeting"), "\(text)")
            #expect(text.contains("/nonexistent/libghost.so"), "\(text)")
        }
        // A file that is not even YAML.
        try "plugins: [oops\n".write(toFile: k.directory + "/jamey.yaml", atomically: true, encoding: .utf8)
        #expect(throws: KernelError.self) { try k.kernel.reloadFromSource() }

        #expect(k.kernel.config == before, "the kernel's settings are unchanged")
        #expect(greeting(k, "alpha") == "hello")
        #expect(events() == beforeEvents, "no hook ran")
        #expect(k.kernel.plugins.map(\.name) == ["alpha"])
        #expect(k.kernel.metrics.exposition().contains(#"jamey_config_reloads_total{result="invalid"} 2"#))
    }

    @Test func disablingAProviderADependentStillNeedsIsRefused() throws {
        let provider = try probe("store") { $0.provides = [("store.data", "1.0.0")] }
        let user = try probe("reader") { $0.requires = [("store.data", "^1.0")] }
        let k = try TestKernel.boot(plugins: [provider, user])
        defer { k.shutdown() }
        var off = provider
        off.enabled = false
        #expect {
            try k.reload(plugins: [off, user])
        } throws: { error in
            "\(error)".contains("after this reload plugin 'reader' could not run: requires 'store.data ^1.0'")
        }
        #expect(k.kernel.plugin(named: "store")?.state == .started)
        // Disabling both is fine: the dependent stops first.
        var userOff = user
        userOff.enabled = false
        let before = events().count
        try k.reload(plugins: [off, userOff])
        #expect(Array(events()[before...]) == ["stop reader", "deinit reader", "stop store", "deinit store"])
    }

    @Test func aChangedSectionGoesToReconfigureOrElseRestartsThePluginAndItsDependents() throws {
        let hooked = try probe("hooked", config: "greeting: hello") { $0.reconfigureCode = "return JAMEY_OK;" }
        let plain = try probe("plain", config: "greeting: hello") { $0.provides = [("plain.api", "1.0.0")] }
        let user = try probe("user") { $0.requires = [("plain.api", "^1.0")] }
        let k = try TestKernel.boot(plugins: [hooked, plain, user])
        defer { k.shutdown() }
        let before = events().count
        let report = try k.reload(plugins: [
            with(hooked, config: "greeting: bonjour"), with(plain, config: "greeting: salut"), user,
        ])
        #expect(report.changes.contains("plugins.hooked.config: reconfigured (greeting)"), "\(report.changes)")
        #expect(report.changes.contains("plugins.plain.config: restarted with the new settings (greeting)"))
        #expect(greeting(k, "hooked") == "bonjour")
        #expect(greeting(k, "plain") == "salut")
        #expect(
            Array(events()[before...]) == [
                "reconfigure hooked", "stop user", "deinit user", "stop plain", "deinit plain", "init plain", "start plain",
                "init user", "start user",
            ])
        for name in ["hooked", "plain", "user"] { #expect(k.kernel.plugin(named: name)?.state == .started) }
    }

    /// plugin.h: once `reconfigure` returned OK, the config_* host functions return the new
    /// values. `config_string` handed out the copy it made for the first value for good.
    /// The reload source survives any number of reads: kept as a bare closure in a `Mutex`,
    /// every read wrapped it in another pair of reabstraction thunks (in debug builds, what
    /// `scripts/run.sh` runs), and the server crashed on a 28 000-frame stack after about 7 000
    /// reloads (a soak run). 300 000 reads overflowed the stack.
    @Test func theReloadSourceDoesNotGrowWithReads() throws {
        let k = try TestKernel.boot(plugins: [])
        defer { k.shutdown() }
        let config = k.kernel.config
        k.kernel.setReloadSource { config }
        for _ in 0..<300_000 { _ = k.kernel.reloadSource.withLock { $0 } }
        let source = try #require(k.kernel.reloadSource.withLock { $0 })
        #expect(try source.read().nodeName == config.nodeName)
    }

    /// Keeps the plugin's host in `told_host` and answers `told.say` by recording
    /// `says <greeting>`, read with config_string on a bus thread.
    static func answerWithTheGreeting(_ source: inout CPluginSource) {
        source.extraCode = """
            static jamey_host *told_host;
            static int32_t say(void *user, const jamey_message *m) {
                (void)user; (void)m;
                const char *value = NULL;
                char line[128];
                snprintf(line, sizeof line, "says %s", api->config_string(told_host, "greeting", &value) == JAMEY_OK ? value : "?");
                record(line);
                return JAMEY_OK;
            }
            """
        source.startCode = """
            told_host = s->host;
            uint64_t id;
            api->subscribe(s->host, "told.say", NULL, say, NULL, &id);
            """
    }

    /// config_string gives the value a reconfigure took (it kept the copy made for the first
    /// value). Inside its `reconfigure` hook a plugin reads the offered values with config_*, as
    /// in init: they gave the old ones, so a C plugin had to parse the JSON by hand. Other
    /// threads, and everything after a refusal, read the values in force.
    @Test func configFunctionsFollowAReconfigureAndTheHookReadsTheOfferedValues() throws {
        let hooked = try probe("told", config: "greeting: hello") {
            $0.reconfigureCode = """
                const char *offered = NULL;
                char line[128];
                int32_t rc = api->config_string(told_host, "greeting", &offered);
                snprintf(line, sizeof line, "offered %s", rc == JAMEY_OK ? offered : "?");
                record(line);
                if (rc == JAMEY_OK && strcmp(offered, "never") == 0) { snprintf(err, cap, "not that"); return JAMEY_E_PLUGIN; }
                return JAMEY_OK;
                """
            Self.answerWithTheGreeting(&$0)
        }
        let k = try TestKernel.boot(plugins: [hooked])
        defer { k.shutdown() }
        let say = { (text: String) -> Bool in
            try? k.bus.publish(BusMessage(topic: "told.say"))
            return TestKernel.eventually(timeout: .seconds(10)) { events().contains("says \(text) told") }
        }
        #expect(say("hello"))
        let report = try k.reload(plugins: [with(hooked, config: "greeting: bonjour")])
        #expect(report.changes.contains("plugins.told.config: reconfigured (greeting)"), "\(report.changes)")
        #expect(events().contains("offered bonjour told"), "\(events())")
        #expect(say("bonjour"), "config_string still gives the value before the reconfigure: \(events())")
        #expect(throws: KernelError.self) { try k.reload(plugins: [with(hooked, config: "greeting: never")]) }
        #expect(events().contains("offered never told"), "\(events())")
        #expect(say("bonjour"), "a refused offer is not read afterwards: \(events())")
    }

    /// A path key (`JAMEY_CONFIG_PATH`) resolves against the config file's directory on a reload
    /// as at start: a reload that left it as written saw it change on every reload, and
    /// restarted the plugin with a path relative to the working directory.
    @Test func aPathKeyIsResolvedOnAReloadAsAtStart() throws {
        let pathy = try probe("pathy", config: "greeting: hello\nfile: keys/a.pem") {
            $0.reconfigureCode = "return JAMEY_OK;"
            $0.configFields.append(
                #"{ .struct_size = sizeof(jamey_config_field), .type = JAMEY_CONFIG_STRING, .key = "file", .flags = JAMEY_CONFIG_PATH, .default_value = "\"\"", .description = "a file" }"#
            )
        }
        let k = try TestKernel.boot(plugins: [pathy])
        defer { k.shutdown() }
        let file = { () -> String? in
            guard case .success(let value)? = k.kernel.validatedSections["pathy"]?.string(at: "file") else { return nil }
            return value
        }
        let expected = k.directory + "/keys/a.pem"
        #expect(file() == expected)
        let report = try k.reload(plugins: [with(pathy, config: "greeting: bonjour\nfile: keys/a.pem")])
        #expect(report.changes.contains("plugins.pathy.config: reconfigured (greeting)"), "\(report.changes)")
        #expect(file() == expected)
        let same = try k.reload(plugins: [with(pathy, config: "greeting: bonjour\nfile: keys/a.pem")])
        #expect(same.changes.isEmpty, "\(same.changes)")
    }

    @Test func aRefusedReconfigureRollsTheWholeReloadBack() throws {
        let picky = try probe("picky", config: "greeting: hello") {
            $0.reconfigureCode = #"snprintf(err, cap, "greeting cannot change while busy"); return JAMEY_E_PLUGIN;"#
        }
        let other = try probe("other", enabled: false)
        let k = try TestKernel.boot(plugins: [picky, other], logLevel: "critical")
        defer { k.shutdown() }
        var on = other
        on.enabled = true
        do {
            try k.reload(plugins: [with(picky, config: "greeting: bye"), on])
            Issue.record("expected a rollback")
        } catch let error as KernelError {
            #expect("\(error)".contains("plugin 'picky' refused its new config"), "\(error)")
            #expect("\(error)".contains("rolled back"))
        }
        #expect(greeting(k, "picky") == "hello")
        #expect(k.kernel.plugin(named: "other")?.state == .disabled, "the plugin the reload would have enabled")
        #expect(k.kernel.metrics.exposition().contains(#"jamey_config_reloads_total{result="rolled_back"} 1"#))
    }

    @Test func aPluginThatFailsToStartRollsBackWhatTheReloadStoppedAndStarted() throws {
        let a = try probe("alpha", config: "greeting: hello")
        let b = try probe("beta")
        let broken = try probe("broken", enabled: false) { $0.startError = "cannot open its port" }
        let k = try TestKernel.boot(plugins: [a, b, broken], logLevel: "critical")
        defer { k.shutdown() }
        var on = broken
        on.enabled = true
        var betaOff = b
        betaOff.enabled = false
        let before = events().count
        do {
            try k.reload(plugins: [with(a, config: "greeting: changed"), betaOff, on])
            Issue.record("expected a rollback")
        } catch let error as KernelError {
            #expect("\(error)".contains("plugin 'broken' did not start"), "\(error)")
            #expect("\(error)".contains("cannot open its port"))
        }
        for name in ["alpha", "beta"] { #expect(k.kernel.plugin(named: name)?.state == .started, "\(name)") }
        #expect(greeting(k, "alpha") == "hello", "alpha restarted with its old section")
        let hooks = Array(events()[before...])
        // Applied: beta stopped, alpha restarted with its new section, broken failed to start;
        // rolled back: alpha restarted with its old section, beta started again.
        #expect(
            hooks == [
                "stop beta", "deinit beta", "stop alpha", "deinit alpha", "init alpha", "start alpha", "init broken",
                "start broken", "deinit broken", "stop alpha", "deinit alpha", "init alpha", "start alpha", "init beta",
                "start beta",
            ])
        #expect(k.kernel.plugin(named: "broken")?.state != .started)
    }

    @Test func aPluginThatHadFailedIsTriedAgainAndAStillFailingOneDoesNotBlockTheReload() throws {
        let gate = NSTemporaryDirectory() + "jamey-reload-gate-\(UUID().uuidString)"
        let flaky = try probe("flaky") {
            $0.startCode =
                "FILE *g = fopen(\"\(gate)\", \"r\"); if (g == NULL) { snprintf(err, cap, \"gate closed\"); return JAMEY_E_PLUGIN; } fclose(g);"
        }
        let a = try probe("alpha")
        let k = try TestKernel.boot(plugins: [flaky, a], logLevel: "critical")
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "flaky")?.state == .failed)
        let still = try k.reload(plugins: [flaky, with(a, config: "greeting: again")])
        #expect(still.stillFailing.contains { $0.contains("gate closed") }, "\(still)")
        #expect(greeting(k, "alpha") == "again", "the rest of the reload applied")
        FileManager.default.createFile(atPath: gate, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: gate) }
        let retried = try k.reload(plugins: [flaky, with(a, config: "greeting: again")])
        #expect(retried.changes == ["plugins.flaky: started (it had failed before)"])
        #expect(k.kernel.plugin(named: "flaky")?.state == .started)
    }

    @Test func aNewBuildAtAnotherPathReplacesThePluginAndRestartsItsDependents() throws {
        let store = try probe("store") { $0.provides = [("store.data", "1.0.0")] }
        let reader = try probe("reader") { $0.requires = [("store.data", "^1.0")] }
        let k = try TestKernel.boot(plugins: [store, reader])
        defer { k.shutdown() }
        let rebuilt = try probe("store") {
            $0.provides = [("store.data", "1.0.0")]
            $0.version = "1.1.0"
        }
        #expect(rebuilt.path != store.path)
        let before = events().count
        let report = try k.reload(plugins: [rebuilt, reader])
        #expect(
            report.changes == [
                "plugins.store: replaced by \(rebuilt.path ?? "")", "plugins.reader: restarted with 'store', which it requires",
            ])
        #expect(k.kernel.plugin(named: "store")?.version == "1.1.0")
        #expect(k.kernel.plugin(named: "store")?.path == rebuilt.path)
        #expect(
            Array(events()[before...]) == [
                "stop reader", "deinit reader", "stop store", "deinit store", "init store", "start store", "init reader",
                "start reader",
            ])
        // A build that is not a plugin at all is refused before anything stops.
        let junk = try TemporaryDirectory.make(prefix: "jamey-junk") + "/junk.so"
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: junk))
        #expect(throws: KernelError.self) { try k.reload(plugins: [.init("store", path: junk), reader]) }
        #expect(k.kernel.plugin(named: "store")?.version == "1.1.0")
        #expect(k.kernel.plugin(named: "reader")?.state == .started)
    }

    @Test func kernelSettingsApplyOrWaitForARestartAndSaySo() throws {
        let a = try probe("alpha")
        let k = try TestKernel.boot(plugins: [a])
        defer { k.shutdown() }
        let report = try k.reload(
            plugins: [a],
            extra: "hooks:\n  stop_timeout_ms: 1234\nbus:\n  workers: 3\n  queue_capacity: 7\n  request_timeout_ms: 250\n",
            logLevel: "error")
        #expect(report.changes.contains("log.level: warning → error"))
        #expect(report.changes.contains("hooks: updated"))
        #expect(report.changes.contains("bus.queue_capacity: 1024 → 7 (for subscriptions made from now on)"), "\(report.changes)")
        #expect(report.changes.contains("bus.request_timeout_ms: 5 s → 250 ms"), "\(report.changes)")
        #expect(report.pending == ["bus.workers: takes effect at the next start"])
        #expect(k.kernel.config.hooks.stop == .milliseconds(1234))
        #expect(k.kernel.bus.defaultQueueCapacity == 7)
        #expect(k.kernel.bus.defaultRequestTimeout == .milliseconds(250))
        // Still pending while the file says so; put back, nothing is (it was reported again).
        let again = try k.reload(plugins: [a], extra: "bus:\n  workers: 3\n", logLevel: "error")
        #expect(again.pending == ["bus.workers: takes effect at the next start"])
        let back = try k.reload(plugins: [a], logLevel: "error")
        #expect(back.pending.isEmpty, "\(back.pending)")
    }
}
