import CJameyABI
import Foundation
import JameyTestKit
import Logging
import Testing

@testable import JameyKernel

/// Every hook runs under a deadline: a plugin whose hook outlives it is marked failed with a
/// sentence naming the hook and the deadline, and the kernel goes on without it.
@Suite struct HookDeadlineTests {
    let log: String

    init() throws {
        log = try TemporaryDirectory.make() + "/events.log"
    }

    func plugin(_ name: String, required: Bool = false, configure: (inout CPluginSource) -> Void = { _ in }) throws
        -> TestKernel.Plugin
    {
        var s = CPluginSource(name: name)
        s.eventLog = log
        configure(&s)
        return .init(name, path: try TestPlugins.buildC(name: name, source: s.render()), required: required)
    }

    func events() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Short enough for a test, long enough that the healthy bystanders meet them on a loaded
    /// machine (200 ms did not leave that margin).
    static let shortDeadlines = "hooks:\n  init_timeout_ms: 3000\n  start_timeout_ms: 3000\n"

    @Test func initThatDoesNotReturnMarksThePluginFailedAndStartUpGoesOn() async throws {
        try await onThread { [self] in
            let slow = try plugin("slowinit") { $0.initDelayMilliseconds = 40_000 }
            let clock = ContinuousClock()
            let began = clock.now
            let k = try TestKernel.boot(plugins: [slow, try plugin("bystander")], extra: Self.shortDeadlines)
            defer { k.shutdown() }
            // Start-up did not wait for the hook (it sleeps 40 s).
            #expect(clock.now - began < .seconds(30))
            let status = try #require(k.kernel.plugin(named: "slowinit"))
            #expect(status.state == .failed)
            let failure = status.failure ?? ""
            #expect(failure.hasPrefix("init did not return within its deadline of 3 s (hooks.init_timeout_ms)"), "\(failure)")
            #expect(failure.contains(slow.path!), "names the file: \(failure)")
            #expect(k.kernel.plugin(named: "bystander")?.state == .started)
            #expect(!events().contains("start slowinit"))
        }
    }

    @Test func startThatHangsMarksThePluginFailedAndItsHooksAreNeverCalledAgain() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(
                plugins: [try plugin("slowstart") { $0.startDelayMilliseconds = 40_000 }, try plugin("bystander")],
                extra: Self.shortDeadlines)
            let status = try #require(k.kernel.plugin(named: "slowstart"))
            #expect(status.state == .failed)
            #expect(
                status.failure?.hasPrefix("start did not return within its deadline of 3 s (hooks.start_timeout_ms)") == true)
            #expect(k.kernel.plugin(named: "bystander")?.state == .started)
            k.shutdown()
            // Abandoned: neither stop nor deinit is called on it, while the bystander stops cleanly.
            #expect(!events().contains("stop slowstart"))
            #expect(!events().contains("deinit slowstart"))
            #expect(events().contains("deinit bystander"))
        }
    }

    /// A bus handler that never returns does not hold the stop: the plugin is abandoned (its
    /// deinit would free what the handler uses) and the others stop. The stop waited for the
    /// handler for good, inside the lifecycle lock (every later reload and deploy behind it).
    @Test func aHandlerThatNeverReturnsDoesNotHoldTheStop() async throws {
        try await onThread { [self] in
            let stuck = try plugin("stuck") {
                $0.extraCode = """
                    static int32_t on_hang(void *u, const jamey_message *m) { (void)u; (void)m; record("handling"); probe_sleep(20000); return JAMEY_OK; }
                    """
                $0.startCode = #"api->subscribe(s->host, "probe.hang", NULL, on_hang, s, &s->sub);"#
            }
            let k = try TestKernel.boot(
                plugins: [try plugin("bystander"), stuck], extra: "hooks:\n  stop_timeout_ms: 1000\n")
            try k.bus.publish(BusMessage(topic: "probe.hang"))
            #expect(TestKernel.eventually { events().contains { $0.hasPrefix("handling") } })
            let stopped = LockedBox(false)
            Thread {
                k.shutdown(deadline: .seconds(4))
                stopped.set(true)
            }.start()
            #expect(TestKernel.eventually(timeout: .seconds(30)) { stopped.value }, "the stop returned")
            #expect(
                k.kernel.plugin(named: "stuck")?.failure?.contains("bus handler") == true,
                "\(k.kernel.plugin(named: "stuck")?.failure ?? "-")")
            #expect(events().contains("deinit bystander"), "\(events())")
            #expect(!events().contains("deinit stuck"), "never deinitialised under its handler")
        }
    }

    @Test func requiredPluginPastItsDeadlineStopsStartUp() async throws {
        try await onThread { [self] in
            do {
                let k = try TestKernel.boot(
                    plugins: [
                        try plugin("bystander"), try plugin("mustrun", required: true) { $0.startDelayMilliseconds = 40_000 },
                    ],
                    extra: Self.shortDeadlines)
                k.shutdown()
                Issue.record("expected start-up to fail")
            } catch let error as KernelError {
                #expect(
                    error.description.contains(
                        "required plugin 'mustrun' failed: start did not return within its deadline of 3 s"), "\(error)")
            }
            #expect(events().contains("deinit bystander"), "the plugins already started were stopped again")
        }
    }

    @Test func healthIsCachedSoASlowHookDelaysNobody() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(
                plugins: [try plugin("sleepyhealth") { $0.healthDelayMilliseconds = 6000 }],
                extra: "hooks:\n  health_timeout_ms: 10000\n  health_interval_ms: 50\n")
            defer { k.shutdown() }
            let clock = ContinuousClock()
            var slowest = Duration.zero
            for _ in 0..<20 {
                let began = clock.now
                let status = k.kernel.plugin(named: "sleepyhealth")
                slowest = max(slowest, clock.now - began)
                #expect(status?.state == .started)
                #expect(status?.health == nil, "unknown until the first health call returns")
            }
            // Reading status never calls the hook (which sleeps 6 s).
            #expect(slowest < .seconds(3))
        }
    }

    @Test func healthIsRefreshedInTheBackground() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(
                plugins: [try plugin("quickhealth") { $0.healthDelayMilliseconds = 0 }],
                extra: "hooks:\n  health_interval_ms: 50\n")
            defer { k.shutdown() }
            #expect(
                TestKernel.eventually(timeout: .seconds(10)) {
                    k.kernel.plugin(named: "quickhealth")?.health == PluginHealth(status: "ok", detail: "probe healthy")
                })
        }
    }

    @Test func deinitNeverRunsWhileAHealthCallIsInFlight() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(
                plugins: [try plugin("busyhealth") { $0.healthDelayMilliseconds = 400 }],
                extra: "hooks:\n  health_interval_ms: 20\n  health_timeout_ms: 5000\n")
            #expect(TestKernel.eventually(timeout: .seconds(10)) { events().contains("health busyhealth") })
            usleep(100_000)  // the next health call is running now
            k.shutdown()
            usleep(600_000)  // longer than a health call: one still running after deinit would show
            let log = events()
            let deinitialized = try #require(log.lastIndex(of: "deinit busyhealth"))
            #expect(log.lastIndex(of: "health busyhealth").map { $0 < deinitialized } == true, "\(log)")
        }
    }

    @Test func healthPastItsDeadlineMarksThePluginFailed() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(
                plugins: [try plugin("hunghealth") { $0.healthDelayMilliseconds = 8000 }, try plugin("bystander")],
                // Generous enough that a loaded machine does not fail the bystander's quick hook.
                extra: "hooks:\n  health_timeout_ms: 1500\n  health_interval_ms: 50\n")
            defer { k.shutdown() }
            #expect(TestKernel.eventually(timeout: .seconds(20)) { k.kernel.plugin(named: "hunghealth")?.state == .failed })
            #expect(
                k.kernel.plugin(named: "hunghealth")?.failure?.hasPrefix(
                    "health did not return within its deadline of 1.5 s (hooks.health_timeout_ms)") == true)
            #expect(k.kernel.plugin(named: "bystander")?.state == .started)
        }
    }

    @Test func shutdownRequestedDuringStartInterruptsTheWait() async throws {
        try await onThread { [self] in
            let yaml = TestKernel.yaml(
                plugins: [try plugin("forever") { $0.startDelayMilliseconds = 40_000 }, try plugin("after")],
                extra: "hooks:\n  start_timeout_ms: 60000\n")
            let dir = try TemporaryDirectory.make()
            try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
            let config = try KernelConfig.load(path: dir + "/jamey.yaml", defaultYAML: "", environment: [:])
            let kernel = try Kernel(config: config, logger: Logger(label: "test"), environment: [:])
            try kernel.load()
            let requester = Thread {
                _ = TestKernel.eventually(timeout: .seconds(60)) { events().contains("starting forever") }
                kernel.requestShutdown()
            }
            requester.start()
            let clock = ContinuousClock()
            let began = clock.now
            try kernel.start()
            #expect(clock.now - began < .seconds(30), "start returned before the 40 s hook")
            #expect(kernel.plugin(named: "forever")?.failure?.hasPrefix("shutdown was requested while start was running") == true)
            #expect(kernel.plugin(named: "after")?.failure == "not started: shutdown was requested during start-up")
            kernel.stop(deadline: .seconds(1))
        }
    }

    /// A reload or deploy that would stop a plugin whose snapshot (a backup) is running is
    /// refused until it is done: the stop waited behind the snapshot on the plugin's queue,
    /// missed the stop deadline, and the plugin was abandoned for good.
    @Test func aReloadWaitsForNoSnapshotButIsRefusedDuringOne() async throws {
        try await onThread { [self] in
            let slow = try plugin("slowsnap") { $0.snapshotDelayMilliseconds = 1500 }
            var disabled = slow
            disabled.enabled = false
            let k = try TestKernel.boot(plugins: [slow], extra: "hooks:\n  stop_timeout_ms: 500\n")
            defer { k.shutdown() }
            let target = try TemporaryDirectory.make()
            let snapped = LockedBox<String?>("running")
            Thread {
                do {
                    try k.kernel.snapshot(plugin: "slowsnap", into: target)
                    snapped.set(nil)
                } catch { snapped.set("\(error)") }
            }.start()
            #expect(TestKernel.eventually { k.kernel.snapshotting.withLock { $0["slowsnap"] != nil } })
            #expect { try k.reload(plugins: [disabled], extra: "hooks:\n  stop_timeout_ms: 500\n") } throws: {
                "\($0)".contains("being snapshotted") && ($0 as? KernelError)?.code == JAMEY_E_STATE
            }
            let path = try #require(slow.path)
            #expect { try k.kernel.deploy(plugin: "slowsnap", path: path) } throws: { "\($0)".contains("being snapshotted") }
            #expect(TestKernel.eventually(timeout: .seconds(20)) { snapped.value == nil }, "\(snapped.value ?? "")")
            #expect(k.kernel.plugin(named: "slowsnap")?.state == .started)
            try k.reload(plugins: [disabled], extra: "hooks:\n  stop_timeout_ms: 500\n")
            #expect(k.kernel.plugin(named: "slowsnap")?.state == .disabled)
            #expect(events().contains("deinit slowsnap"), "stopped cleanly: \(events())")
        }
    }

    @Test func snapshotAndRestoreRunUnderTheirDeadlines() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(
                plugins: [
                    try plugin("backed") { $0.snapshotDelayMilliseconds = 0 },
                    try plugin("stuck") { $0.snapshotDelayMilliseconds = 40_000 },
                    try plugin("plain"),
                ],
                extra: "hooks:\n  snapshot_timeout_ms: 3000\n  restore_timeout_ms: 3000\n")
            defer { k.shutdown() }
            let dir = try TemporaryDirectory.make()
            try k.kernel.snapshot(plugin: "backed", into: dir)
            #expect(try String(contentsOfFile: dir + "/state.txt", encoding: .utf8) == "backed")
            try k.kernel.restore(plugin: "backed", from: dir)
            #expect(events().contains("restore backed"))
            do {
                try k.kernel.restore(plugin: "backed", from: try TemporaryDirectory.make())
                Issue.record("expected the plugin's error")
            } catch {
                #expect("\(error)".contains("plugin 'backed' restore failed (JAMEY_E_PLUGIN): no state.txt in"), "\(error)")
            }
            #expect(throws: KernelError.self) { try k.kernel.snapshot(plugin: "plain", into: dir) }
            do {
                try k.kernel.snapshot(plugin: "stuck", into: try TemporaryDirectory.make())
                Issue.record("expected the deadline")
            } catch {
                #expect("\(error)".contains("snapshot did not return within its deadline of 3 s (hooks.snapshot_timeout_ms)"))
            }
            #expect(k.kernel.plugin(named: "stuck")?.state == .failed)
            #expect(k.kernel.plugin(named: "backed")?.state == .started)
        }
    }

    @Test func deadlinesComeFromConfigWithStatedDefaults() async throws {
        try await onThread { [self] in
            let defaults = try KernelConfig.parse(yaml: "data_dir: d", source: "t", baseDirectory: "/tmp", environment: [:])
            #expect(defaults.hooks == HookDeadlines.defaults)
            let set = try KernelConfig.parse(
                yaml: "hooks:\n  init_timeout_ms: 1500\n  health_interval_ms: 250\n", source: "t", baseDirectory: "/tmp",
                environment: ["JAMEY_HOOKS_STOP_TIMEOUT_MS": "700"])
            #expect(set.hooks.initialize == .milliseconds(1500))
            #expect(set.hooks.healthInterval == .milliseconds(250))
            #expect(set.hooks.stop == .milliseconds(700))
            #expect(set.hooks.start == HookDeadlines.defaults.start)
            #expect(throws: ConfigErrors.self) {
                _ = try KernelConfig.parse(
                    yaml: "hooks:\n  init_timeout_ms: 1\n", source: "t", baseDirectory: "/tmp", environment: [:])
            }
        }
    }

    /// `hook_time_left` (ABI 1.6): within a hook, what its deadline leaves; outside one, -1.
    @Test func aHookLearnsHowLongItMayStillRun() async throws {
        try await onThread { [self] in
            let source = CPluginSource.hookTimeProbe(name: "timed", eventLog: log)
            let timed = TestKernel.Plugin("timed", path: try TestPlugins.buildC(name: "timed", source: source.render()))
            let k = try TestKernel.boot(
                plugins: [timed], extra: "hooks:\n  start_timeout_ms: 20000\n  stop_timeout_ms: 4000\n")
            let reply = try k.bus.requestSync(BusMessage(topic: "timed.left", payload: []), timeout: .seconds(30))
            #expect(String(decoding: reply.payload, as: UTF8.self) == "-1", "a bus handler runs in no hook")
            k.shutdown(deadline: .seconds(30))
            let start = try #require(CPluginSource.timeLeft("start-left", in: events()), "\(events())")
            let stop = try #require(CPluginSource.timeLeft("stop-left", in: events()), "\(events())")
            #expect(start > 4_000_000_000 && start <= 20_000_000_000, "start: \(start) ns of 20 s")
            #expect(stop > 0 && stop <= 4_000_000_000, "stop: \(stop) ns of 4 s")
        }
    }
}
