import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// `JAMEY_DEPENDENCY_OPTIONAL` (ABI 1.7) with real C plugins that log their lifecycle: an
/// optional requirement orders start and stop when its provider is there, and is otherwise no
/// condition; the provider restarting does not restart the plugin.
@Suite struct OptionalDependencyTests {
    let log: ProbeEvents

    init() throws { log = try ProbeEvents(prefix: "jamey-optional") }

    func events() -> [String] { log.read() }

    /// A plugin optionally requiring each of `optional` (name, range) and requiring `required`.
    func plugin(
        _ name: String, optional: [(String, String)] = [], required: [(String, String)] = [],
        provides: [(String, String)] = [], configure: (inout CPluginSource) -> Void = { _ in }
    ) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: name)
        s.eventLog = log.path
        s.requires = optional + required
        for (dependency, _) in optional { s.requiresFlags[dependency] = "JAMEY_DEPENDENCY_OPTIONAL" }
        s.provides = provides
        configure(&s)
        return .init(name, path: try TestPlugins.buildC(name: name, source: s.render()))
    }

    /// The `requires` entries of `name` in `jamey plugins --json`'s form.
    func requires(_ k: TestKernel, _ name: String) throws -> [[String: Any]] {
        let all = try JSONSerialization.jsonObject(with: Data(k.kernel.pluginsJSON().utf8)) as? [[String: Any]] ?? []
        return all.first { $0["name"] as? String == name }?["requires"] as? [[String: Any]] ?? []
    }

    @Test func anOptionalRequirementOrdersStartAndStopWhenItsProviderIsThere() throws {
        // Config order is the reverse of the order the requirement asks for.
        let k = try TestKernel.boot(plugins: [
            try plugin("opt_user", optional: [("opt_store.api", "^1.0")]),
            try plugin("opt_store", provides: [("opt_store.api", "1.2.0")]),
        ])
        #expect(events() == ["init opt_store", "start opt_store", "init opt_user", "start opt_user"])
        let entry = try #require(try requires(k, "opt_user").first)
        #expect(entry["optional"] as? Bool == true)
        #expect(entry["met"] as? Bool == true)
        #expect(k.kernel.plugin(named: "opt_user")?.unmet == [])
        k.shutdown()
        #expect(
            Array(events().suffix(4)) == ["stop opt_user", "deinit opt_user", "stop opt_store", "deinit opt_store"],
            "\(events())")
    }

    @Test func anOptionalRequirementNoOneMeetsStartsThePluginAnyway() throws {
        let k = try TestKernel.boot(plugins: [
            try plugin("alone_user", optional: [("nowhere.api", "^1.0"), ("old_store", "^2.0")]),
            try plugin("old_store"),
        ])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "alone_user")?.state == .started)
        #expect(k.kernel.plugin(named: "alone_user")?.unmet == ["nowhere.api", "old_store"], "1.0.0 is not in ^2.0")
        #expect(try requires(k, "alone_user").map { $0["met"] as? Bool } == [false, false])
        // Out of range, old_store sets no order: config order stands.
        #expect(events() == ["init alone_user", "start alone_user", "init old_store", "start old_store"])
    }

    @Test func aProviderThatFailedDoesNotHoldBackAnOptionalDependent() throws {
        let broken = try plugin("broken_store", provides: [("broken.api", "1.0.0")]) { $0.startError = "disk full" }
        let k = try TestKernel.boot(plugins: [
            try plugin("hopeful", optional: [("broken.api", "^1")]),
            try plugin("strict", required: [("broken.api", "^1")]),
            broken,
        ])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "broken_store")?.state == .failed)
        #expect(k.kernel.plugin(named: "hopeful")?.state == .started)
        #expect(k.kernel.plugin(named: "hopeful")?.unmet == ["broken.api"])
        #expect(
            k.kernel.plugin(named: "strict")?.failure
                == "not started: it requires 'broken.api ^1', provided by 'broken_store', which is not running")
        #expect(events().firstIndex(of: "init broken_store")! < events().firstIndex(of: "init hopeful")!)
    }

    /// A provider restarted by a reload restarts the plugins that require it, not those that
    /// only optionally do.
    @Test func aProviderRestartedByAReloadLeavesOptionalDependentsRunning() throws {
        let field =
            #"{ .struct_size = sizeof(jamey_config_field), .type = JAMEY_CONFIG_STRING, .key = "greeting", .flags = 0, .default_value = "hi", .description = "what to say" }"#
        var provider = try plugin("restarted_store", provides: [("restarted.api", "1.0.0")]) { $0.configFields = [field] }
        provider.configYAML = "greeting: hello"
        let soft = try plugin("soft_user", optional: [("restarted.api", "^1")])
        let hard = try plugin("hard_user", required: [("restarted.api", "^1")])
        let k = try TestKernel.boot(plugins: [provider, soft, hard])
        defer { k.shutdown() }
        let before = events().count
        provider.configYAML = "greeting: bonjour"
        let report = try k.reload(plugins: [provider, soft, hard])
        #expect(
            report.changes.contains("plugins.hard_user: restarted with 'restarted_store', which it requires"), "\(report.changes)"
        )
        #expect(!report.changes.contains { $0.contains("soft_user") }, "\(report.changes)")
        let after = Array(events()[before...])
        #expect(after.contains("init hard_user") && after.contains("init restarted_store"), "\(after)")
        #expect(!after.contains { $0.hasSuffix(" soft_user") }, "\(after)")
        #expect(k.kernel.plugin(named: "soft_user")?.state == .started)
    }

    @Test func theFlagsOfAPluginBuiltBefore17AreNotRead() throws {
        let old = try plugin("old_user", optional: [("nowhere.api", "^1.0")]) { $0.abiMinor = "6" }
        let k = try TestKernel.boot(plugins: [old])
        defer { k.shutdown() }
        #expect(
            k.kernel.plugin(named: "old_user")?.failure == "requires 'nowhere.api ^1.0', which no enabled plugin provides",
            "flags were reserved (0) in 1.6: the entry is a plain requirement")
    }

    @Test func anUnknownFlagIsRefusedAtLoad() throws {
        let odd = try plugin("odd_user", required: [("nowhere.api", "^1.0")]) { $0.requiresFlags["nowhere.api"] = "0x6u" }
        let k = try TestKernel.boot(plugins: [odd])
        defer { k.shutdown() }
        let failure = k.kernel.plugin(named: "odd_user")?.failure ?? ""
        #expect(failure.contains("requires 'nowhere.api' with unknown flags 0x6"), "\(failure)")
    }

    /// An isolated plugin may optionally require a service: it goes without (a required one is
    /// refused, since a table cannot cross the process boundary).
    @Test func anIsolatedPluginMayOptionallyRequireAService() throws {
        var isolated = try plugin("isolated_user", optional: [("some_table.api", "^1.0")])
        isolated.isolation = "process"
        let k = try TestKernel.boot(plugins: [isolated])
        defer { k.shutdown() }
        #expect(
            k.kernel.plugin(named: "isolated_user")?.state == .started,
            "\(k.kernel.plugin(named: "isolated_user")?.failure ?? "")")
        #expect(k.kernel.isolation(of: "isolated_user")?.pid != nil)
    }

    /// The kit writes the flag: the conscience (built with the kit) optionally requires memory,
    /// and starts without it.
    @Test func aSwiftPluginsOptionalRequirementComesThroughTheKit() throws {
        let k = try TestKernel.boot(plugins: [.init("conscience", path: try TestPlugins.library("Conscience"))])
        defer { k.shutdown() }
        let conscience = try #require(k.kernel.plugin(named: "conscience"))
        #expect(conscience.state == .started, "\(conscience.failure ?? "")")
        #expect(conscience.requires == [PluginRequirement(name: "memory", range: "^1.0", optional: true)])
        #expect(conscience.unmet == ["memory"])
    }

    /// Two plugins optionally requiring each other: no order is possible, and neither condition
    /// holds them back, so both start (a hard cycle is still an error).
    @Test func optionalRequirementsThatWouldMakeACycleAreDropped() throws {
        let k = try TestKernel.boot(plugins: [
            try plugin("left_peer", optional: [("right_peer", "*")]),
            try plugin("right_peer", optional: [("left_peer", "*")]),
            try plugin("hard_peer", optional: [("left_peer", "*")], required: [("right_peer", "*")]),
        ])
        defer { k.shutdown() }
        for name in ["left_peer", "right_peer", "hard_peer"] {
            #expect(k.kernel.plugin(named: name)?.state == .started, "\(name): \(k.kernel.plugin(named: name)?.failure ?? "")")
        }
        let starts = events().filter { $0.hasPrefix("start ") }
        #expect(starts.firstIndex(of: "start right_peer")! < starts.firstIndex(of: "start hard_peer")!, "\(starts)")
    }
}
