import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// An isolated plugin's `check` hook (ABI 1.6) runs in a runner process of its own, as every
/// other hook of an `isolation: process` plugin does: the kernel did not run it at all, so
/// `jamey config check`, a reload and a deploy passed sections its init then refused.
@Suite struct IsolatedCheckTests {
    let log: ProbeEvents

    init() throws { log = try ProbeEvents(prefix: "jamey-isolated-check") }

    func events() -> [String] { log.read() }

    /// Records the process it runs in; refuses "no" (two problems) and crashes on "crash"; tries
    /// what a check may not do.
    static let check = #"""
        char line[64];
        snprintf(line, sizeof line, "check pid %d", (int)getpid());
        record(line);
        const char *greeting = NULL;
        if (api->config_string(host, "greeting", &greeting) != JAMEY_OK) {
            snprintf(err, cap, "greeting: cannot be read");
            return JAMEY_E_INVALID;
        }
        if (strcmp(greeting, "crash") == 0) raise(SIGSEGV);
        if (strcmp(greeting, "hang") == 0) sleep(30);
        if (strcmp(greeting, "nosy") == 0) {
            record(api->data_dir(host) == NULL ? "data_dir refused" : "data_dir given");
            jamey_message m = { sizeof(jamey_message), 0, "nosy.out", "x", 1, "text/plain", NULL, 0, NULL, 0, NULL };
            record(api->publish(host, &m) != JAMEY_OK ? "publish refused" : "publish done");
            record(api->hook_time_left(host) > 0 ? "time left" : "no time left");
        }
        if (strcmp(greeting, "no") == 0) {
            snprintf(err, cap, "greeting: 'no' is not a greeting\nfarewell: nor is this one");
            return JAMEY_E_INVALID;
        }
        return JAMEY_OK;
        """#

    func probe(_ name: String, config: String) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: name)
        s.eventLog = log.path
        s.extraCode = "#include <signal.h>\n#include <unistd.h>"
        s.configFields = [
            #"{ .struct_size = sizeof(jamey_config_field), .type = JAMEY_CONFIG_STRING, .key = "greeting", .flags = 0, .default_value = "hi", .description = "what to say" }"#
        ]
        s.checkCode = Self.check
        var plugin = TestKernel.Plugin(name, path: try TestPlugins.buildC(name: name, source: s.render()), config: config)
        plugin.isolation = "process"
        return plugin
    }

    /// The pids the check recorded, in order.
    func checkPIDs() -> [Int32] {
        events().compactMap { line in
            line.hasPrefix("check pid ") ? Int32(line.dropFirst("check pid ".count).split(separator: " ").first ?? "") : nil
        }
    }

    @Test func whatTheCheckFindsInItsOwnProcessFailsThePluginBeforeInit() throws {
        let refused = try probe("refused", config: "greeting: \"no\"")
        let k = try TestKernel.boot(plugins: [refused])
        defer { k.shutdown() }
        let failure = k.kernel.plugin(named: "refused")?.failure ?? ""
        #expect(k.kernel.plugin(named: "refused")?.state == .failed)
        #expect(failure.contains("jamey.yaml: plugins.refused.config: greeting: 'no' is not a greeting"), "\(failure)")
        #expect(failure.contains("jamey.yaml: plugins.refused.config: farewell: nor is this one"), "\(failure)")
        #expect(!events().contains("init refused"), "\(events())")
        let pids = checkPIDs()
        #expect(pids.count == 1 && pids[0] != getpid(), "the check ran in another process: \(pids)")
    }

    @Test func aCheckThatCrashesIsAProblemNotACrashOfTheKernel() throws {
        let crashing = try probe("crashing", config: "greeting: crash")
        let fine = try probe("fine", config: "greeting: hello")
        let k = try TestKernel.boot(plugins: [crashing, fine])
        defer { k.shutdown() }
        let failure = k.kernel.plugin(named: "crashing")?.failure ?? ""
        #expect(k.kernel.plugin(named: "crashing")?.state == .failed)
        #expect(
            failure.contains(
                "plugins.crashing.config: the plugin's check hook did not finish (its process: killed by signal 11 (SIGSEGV)); the section was not checked"
            ), "\(failure)")
        #expect(k.kernel.plugin(named: "fine")?.state == .started)
        let fine2 = try #require(k.kernel.isolation(of: "fine")?.pid)
        #expect(checkPIDs().count == 2 && !checkPIDs().contains(fine2), "each check had a process of its own, not the plugin's")
    }

    @Test func aReloadAnIsolatedCheckRefusesStopsNothing() throws {
        let plugin = try probe("iso", config: "greeting: hello")
        let k = try TestKernel.boot(plugins: [plugin])
        defer { k.shutdown() }
        let pid = try #require(k.kernel.isolation(of: "iso")?.pid)
        let before = events().count
        var changed = plugin
        changed.configYAML = "greeting: \"no\""
        #expect {
            try k.reload(plugins: [changed])
        } throws: { error in
            ((error as? KernelError)?.problems.joined(separator: "\n") ?? "\(error)")
                .contains("plugins.iso.config: greeting: 'no' is not a greeting")
        }
        #expect(events()[before...].allSatisfy { $0.hasPrefix("check") }, "\(events()[before...])")
        #expect(k.kernel.plugin(named: "iso")?.state == .started)
        #expect(k.kernel.isolation(of: "iso")?.pid == pid, "the running process was not touched")
    }

    /// The context is read-only in the runner too: no data directory, publish refused, the
    /// deadline known.
    @Test func anIsolatedCheckMayReadItsSectionAndNothingElse() throws {
        let nosy = try probe("nosy", config: "greeting: nosy")
        let k = try TestKernel.boot(plugins: [nosy])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "nosy")?.state == .started)
        let list = events().filter { !$0.hasPrefix("check") }
        #expect(
            Array(list.prefix(4)) == ["data_dir refused nosy", "publish refused nosy", "time left nosy", "init nosy"], "\(list)")
    }

    /// `jamey config check` (a real process) reports what an isolated plugin's check finds.
    @Test func configCheckReportsAnIsolatedPluginsProblems() throws {
        let directory = try TemporaryDirectory.make(prefix: "jamey-isolated-check-cli")
        let path = directory + "/jamey.yaml"
        try TestKernel.yaml(plugins: [try probe("cli", config: "greeting: \"no\"")])
            .write(toFile: path, atomically: true, encoding: .utf8)
        let refused = try Run.command(TestPlugins.buildDirectory + "/jamey", ["config", "check", "--config", path])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stderr.contains("\(path): plugins.cli.config: greeting: 'no' is not a greeting"), "\(refused.stderr)")
        try TestKernel.yaml(plugins: [try probe("cli", config: "greeting: hello")])
            .write(toFile: path, atomically: true, encoding: .utf8)
        let accepted = try Run.command(TestPlugins.buildDirectory + "/jamey", ["config", "check", "--config", path])
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(!events().contains("init cli"), "config check inits nothing")
    }

    /// A deploy refused by the new build's check leaves the running build in charge: a later
    /// restart of the isolated plugin (a reload of its section) ran the refused build, whose
    /// settings the kernel had already recorded for the plugin's name.
    @Test func aRefusedDeployLeavesTheRunningBuildForLaterRestarts() throws {
        func build(_ label: String, check: String) throws -> String {
            var s = CPluginSource(name: "iso")
            s.eventLog = log.path
            s.version = label == "a" ? "1.0.0" : "2.0.0"
            s.configFields = [
                #"{ .struct_size = sizeof(jamey_config_field), .type = JAMEY_CONFIG_STRING, .key = "greeting", .flags = 0, .default_value = "hi", .description = "what to say" }"#
            ]
            s.checkCode = check
            s.startCode = #"record("start build \#(label)");"#
            return try TestPlugins.buildC(name: "iso-\(label)", source: s.render())
        }
        var plugin = TestKernel.Plugin("iso", path: try build("a", check: "return JAMEY_OK;"), config: "greeting: hello")
        plugin.isolation = "process"
        let k = try TestKernel.boot(plugins: [plugin])
        defer { k.shutdown() }
        let strict = try build("b", check: #"snprintf(err, cap, "greeting: build b wants salut"); return JAMEY_E_INVALID;"#)
        #expect {
            try k.kernel.deploy(plugin: "iso", path: strict)
        } throws: { error in "\(error)".contains("greeting: build b wants salut") }
        var changed = plugin
        changed.configYAML = "greeting: bonjour"
        _ = try k.reload(plugins: [changed])
        #expect(k.kernel.plugin(named: "iso")?.state == .started)
        let starts = events().filter { $0.hasPrefix("start build") }
        #expect(starts == ["start build a iso", "start build a iso"], "\(events())")
    }

    /// A check that does not return is killed before the kernel's deadline and reported as such.
    @Test func aCheckThatHangsIsKilledAndReported() throws {
        let hanging = try probe("hanging", config: "greeting: hang")
        let k = try TestKernel.boot(plugins: [hanging], extra: "hooks:\n  init_timeout_ms: 3000\n")
        defer { k.shutdown() }
        let failure = k.kernel.plugin(named: "hanging")?.failure ?? ""
        #expect(
            failure.contains(
                "plugins.hanging.config: the plugin's check hook did not finish (its process: killed: the check did not return within"
            ), "\(failure)")
    }
}
