import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// What `isolation: process` refuses, and bad isolation settings.
@Suite("Crash isolation: load checks")
struct IsolationLoadTests {
    @Test func aServiceProvidingPluginIsRefusedWithIsolation() async throws {
        let yaml = IsolatedKernel.yaml(only: "hello_c", path: try TestPlugins.helloC())
        let test = try await onThread { try TestKernel.boot(yaml: yaml, start: false) }
        let status = try #require(test.kernel.plugin(named: "hello_c"))
        #expect(status.state == .failed)
        let failure = status.failure ?? ""
        #expect(failure.contains("plugin 'hello_c' cannot run with plugins.hello_c.isolation: process"))
        #expect(failure.contains("it provides 'hello.greeter"))
        #expect(failure.contains("cannot cross a process boundary"))
        await onThread { test.shutdown() }
    }

    @Test func anUnknownIsolationModeNamesTheKey() async throws {
        let yaml = try IsolatedKernel.yaml(isolation: "sideways")
        let error = await #expect(throws: ConfigErrors.self) { _ = try await onThread { try TestKernel.boot(yaml: yaml) } }
        #expect(error?.description.contains("plugins.fault_c.isolation") == true)
    }

    @Test func aNegativeLimitNamesTheKey() async throws {
        let yaml = try IsolatedKernel.yaml(limits: "memory_mb: -1")
        let error = await #expect(throws: ConfigErrors.self) { _ = try await onThread { try TestKernel.boot(yaml: yaml) } }
        #expect(error?.description.contains("plugins.fault_c.limits.memory_mb") == true)
    }

    @Test func aRestartDelayThatShrinksNamesTheKey() async throws {
        let yaml = try IsolatedKernel.yaml(restart: "delay_ms: 5000\nmax_delay_ms: 1000")
        let error = await #expect(throws: ConfigErrors.self) { _ = try await onThread { try TestKernel.boot(yaml: yaml) } }
        #expect(error?.description.contains("plugins.fault_c.restart.max_delay_ms") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("is below delay_ms (5000)") == true)
    }

    /// A backup reaches no plugin running isolated: asked for its snapshot, the kernel says why,
    /// naming the key, where it said the plugin had no hook (the vault skipped it without a word).
    @Test func aSnapshotOfAnIsolatedPluginSaysWhyItIsNotTaken() async throws {
        var source = CPluginSource(name: "stateful")
        source.snapshotDelayMilliseconds = 0
        let library = try TestPlugins.buildC(name: "stateful", source: source.render())
        let yaml = IsolatedKernel.yaml(only: "stateful", path: library)
        let test = try await onThread { try TestKernel.boot(yaml: yaml) }
        let directory = try TemporaryDirectory.make(prefix: "jamey-isolated-snapshot")
        let error = await #expect(throws: KernelError.self) {
            try await onThread { try test.kernel.snapshot(plugin: "stateful", into: directory) }
        }
        #expect(
            error?.description.contains("runs isolated (plugins.stateful.isolation: process)") == true,
            "\(error.map { "\($0)" } ?? "")")
        await onThread { test.shutdown() }
    }

    @Test func inProcessIsTheDefault() async throws {
        let yaml = try IsolatedKernel.yaml(isolation: "in_process")
        let test = try await onThread { try TestKernel.boot(yaml: yaml) }
        let reply = try await onThread { () throws(BusError) -> BusMessage in
            try test.bus.requestSync(BusMessage(topic: "fault_c.pid"), timeout: .seconds(30))
        }
        #expect(Int32(String(decoding: reply.payload, as: UTF8.self)) == getpid())
        #expect(test.kernel.isolation(of: "fault_c") == nil)
        await onThread { test.shutdown() }
    }
}

/// Turning isolation on and off with a config reload.
@Suite("Crash isolation: reload")
struct IsolationReloadTests {
    @Test func aReloadMovesAPluginIntoItsOwnProcessAndBack() async throws {
        let test = try await onThread { try TestKernel.boot(yaml: try IsolatedKernel.yaml(isolation: "in_process")) }
        let k = IsolatedKernel(test: test)
        #expect(try await k.faultPID() == getpid())
        for (mode, isolated) in [("process", true), ("in_process", false)] {
            try IsolatedKernel.yaml(isolation: mode).write(
                toFile: test.directory + "/jamey.yaml", atomically: true, encoding: .utf8)
            let kernel = test.kernel
            let report = try await onThread { () throws(KernelError) -> ReloadReport in try kernel.reloadFromSource() }
            #expect(report.changes.contains { $0.contains("plugins.fault_c") }, "\(report.changes)")
            let pid = try #require(await k.faultPID())
            #expect((pid != getpid()) == isolated)
            #expect((kernel.isolation(of: "fault_c") != nil) == isolated)
        }
        await onThread { test.shutdown() }
    }
}
