import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// fault_c in a child process fails in every way it knows; the kernel goes on serving.
@Suite("Crash isolation: faults")
struct IsolationFaultTests {
    /// What `lastExit` says after each fault. Out of memory, whichever thread of the process
    /// allocates next fails (fault_c's handler aborts; the runner's own code traps), or the
    /// process is too slow to answer health while it fills its limit and is killed as hung: each
    /// is the memory limit ending it.
    static let exits = [
        "crash": ["SIGSEGV"], "abort": ["SIGABRT"], "overflow": ["SIGSEGV"], "oom": ["killed by signal", "hung"],
        "hang": ["hung: a handler for 'fault_c.hang'"],
    ]

    /// What `lastExit` may also say in a round on a loaded machine: the process (the one the
    /// fault ended, or the restarted one before the fault reached it) was too slow to answer
    /// health, or to run the handler, and was killed as hung. The kernel's answer is the same
    /// restart either way. Seen in fresh-clone CI runs under the full suite's load: a stack
    /// overflow (2026-12-03, and twice before) and an abort (2026-12-04). Every kind must still
    /// end with its own exit in at least one of its three rounds.
    static let underLoad = "hung: "

    /// Whether `exit` is one of `kind`'s own exits (``exits``).
    static func isOwn(_ exit: String, _ kind: String) -> Bool { exits[kind]!.contains { exit.contains($0) } }

    @Test(arguments: ["crash", "abort", "overflow", "oom", "hang"])
    func faultRestartsThePluginWhileTheKernelServes(kind: String) async throws {
        try await IsolatedKernel.with { k in
            var pid = try #require(await k.faultPID())
            var exits: [String] = []
            for round in 1...3 {
                // The request that kills the process gets a clean 503, not a timeout.
                let failed = try await k.ask("fault_c.\(kind)")
                #expect(failed.status == "503")
                #expect(failed.text.contains("plugin-unavailable"))
                // Another plugin's requests keep working while fault_c is down.
                let greeting = try await k.ask("hello.c.greet", Array("round \(round)".utf8))
                #expect(greeting.text == "Hello, round \(round)!")
                // Requests to fault_c fail cleanly or are answered, never hang or get lost.
                let echo = try await k.ask("fault_c.echo", Array("e".utf8))
                #expect(echo.status == "503" || echo.text == "e")
                let next = try #require(await k.restarted(from: pid, restarts: round))
                #expect(next != getpid())
                pid = next
                let status = try #require(k.kernel.isolation(of: "fault_c"))
                let exit = status.lastExit ?? ""
                #expect(Self.isOwn(exit, kind) || exit.contains(Self.underLoad), "\(exit)")
                exits.append(exit)
                #expect(status.quarantine == nil)
            }
            #expect(exits.contains { Self.isOwn($0, kind) }, "\(exits)")
            #expect(k.kernel.isolation(of: "fault_c")?.restarts == 3)
            #expect(k.kernel.metrics.exposition().contains(#"jamey_plugin_restarts_total{plugin="fault_c"} 3"#))
        }
    }

    @Test func requestsConfigLogsAndMetricsCrossTheProcessBoundary() async throws {
        try await IsolatedKernel.with { k in
            let body = (0..<1024).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let echo = try await k.ask("fault_c.echo", body)
            #expect(echo.payload == body)
            #expect(try await k.ask("fault_c.config").text == "isolated hello")
            let pid = try #require(await k.faultPID())
            #expect(pid != getpid())
            #expect(k.kernel.isolation(of: "fault_c")?.pid == pid)
            let metrics = k.kernel.metrics.exposition()
            #expect(metrics.contains(#"fault_c_requests_total{plugin="fault_c"}"#))
            #expect(metrics.contains(#"jamey_plugin_child_up{plugin="fault_c"} 1"#))
            // Health shows the isolation facts, from the child's own health hook.
            #expect(
                await eventually {
                    k.kernel.plugin(named: "fault_c")?.health?.detail.contains("isolated in process \(pid)") == true
                })
        }
    }

    @Test func messagesLongerThanTheSharedRingsCrossInBothDirections() async throws {
        // The handler's limit is raised: this test is about frames, not hangs, and a 1.3 MiB echo
        // on a 2-core machine running the whole suite beside it has taken over 3 s.
        try await IsolatedKernel.with(limits: "memory_mb: 256\nhandler_timeout_ms: 30000") { k in
            // 1.3 MiB each way through 256 KiB rings, then a small one behind it.
            let body = (0..<(1 << 20) + 300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            for _ in 0..<3 {
                let echo = try await k.ask("fault_c.echo", body)
                #expect(echo.status == nil, "\(echo.text)")
                // Not `#expect(a == b)`: on a mismatch it would diff 1.3 M elements (quadratic).
                let same = echo.payload == body
                #expect(same, "\(echo.payload.count) bytes came back of \(body.count)")
            }
            #expect(try await k.ask("fault_c.echo", Array("small".utf8)).text == "small")
        }
    }

    @Test func aPluginFloodingItsOwnSubscriptionThroughBothRingsIsNotStuck() async throws {
        try await IsolatedKernel.with { k in
            let pid = try #require(await k.faultPID())
            // 4 MiB of events from the plugin's handler to its own subscription: the ring up and
            // the ring down are full at once, and the kernel's reader of the ring up must not
            // wait for room down.
            for round in 1...2 {
                let flood = try await k.ask("fault_c.flood")
                #expect(flood.status == nil)
                #expect(flood.text == "flooded")
                // Every event reached the echo handler (each counts a request).
                #expect(
                    await eventually {
                        Self.requestsCounted(k) >= round * 65
                    })
            }
            #expect(try await k.ask("fault_c.echo", Array("after".utf8)).text == "after")
            #expect(try await k.faultPID() == pid)
        }
    }

    /// fault_c_requests_total as the kernel's metrics show it.
    static func requestsCounted(_ k: IsolatedKernel) -> Int {
        let line = k.kernel.metrics.exposition().split(separator: "\n").first {
            $0.hasPrefix(#"fault_c_requests_total{plugin="fault_c"}"#)
        }
        return line.flatMap { Int(Double($0.split(separator: " ").last ?? "") ?? -1) } ?? -1
    }

    @Test func requestsFromSeveralThreadsAtOnceAreAllAnsweredByOneProcess() async throws {
        try await IsolatedKernel.with { k in
            let pid = try #require(await k.faultPID())
            let bus = k.test.bus
            let body = (0..<1024).map { UInt8(truncatingIfNeeded: $0) }
            // Four threads back to back: requesters write into the ring and read replies
            // concurrently, and the hang watchdog runs meanwhile (it once mistook a delivery
            // registered while it looked for a hung one for a hang).
            let failures = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await onThread { () throws(BusError) -> Int in
                            var failed = 0
                            for _ in 0..<20000 {
                                let reply = try bus.requestSync(
                                    BusMessage(topic: "fault_c.echo", payload: body), timeout: .seconds(30))
                                if reply.payload != body { failed += 1 }
                            }
                            return failed
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(failures == 0)
            #expect(try await k.faultPID() == pid)
            #expect(k.kernel.isolation(of: "fault_c")?.restarts == 0)
        }
    }

    @Test func aHungHandlerDoesNotHoldUpThePluginsOtherSubscriptions() async throws {
        // A handler is hung after 10 s here, and everything up to the checks runs on threads of
        // its own: under the whole suite's load a test task once resumed from a 300 ms sleep
        // after the 3 s default had passed, and the echo met a restarted process.
        try await IsolatedKernel.with(limits: "memory_mb: 256\nhandler_timeout_ms: 10000") { k in
            let pid = try #require(await k.faultPID())
            let bus = k.test.bus
            let (echo, after, hung) = try await onThread { () throws(BusError) -> (BusMessage, BusMessage, BusMessage?) in
                let hang = HungRequest(bus)
                // Give the hang time to reach the child's dispatch thread (if the echo overtook
                // it, it would be answered all the same).
                usleep(300_000)
                // Another handler of the same plugin still runs: the dispatch thread held by the
                // hung handler is replaced (until the handler timeout kills the process).
                let echo = try bus.requestSync(
                    BusMessage(topic: "fault_c.echo", payload: Array("meanwhile".utf8)), timeout: .seconds(30))
                let after = try bus.requestSync(BusMessage(topic: "fault_c.pid", payload: []), timeout: .seconds(30))
                return (echo, after, hang.reply())
            }
            #expect(echo.status == nil)
            #expect(echo.text == "meanwhile")
            #expect(after.status == nil)
            #expect(Int32(after.text) == pid)
            #expect(hung?.status == "503")
        }
    }

    /// A `fault_c.hang` request sent from a thread of its own (not the test pool's).
    final class HungRequest: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var result: BusMessage?

        init(_ bus: BusEndpoint) {
            Thread.detachNewThread { [self] in
                result = try? bus.requestSync(BusMessage(topic: "fault_c.hang", payload: []), timeout: .seconds(30))
                done.signal()
            }
        }

        /// Waits for the reply (nil if the request failed).
        func reply() -> BusMessage? {
            done.wait()
            return result
        }
    }

    @Test func tooManyCrashesQuarantineThePlugin() async throws {
        let restart = "delay_ms: 10\nmax_delay_ms: 20\nsteps: 1\nwindow_s: 3600\nmax_restarts: 2"
        try await IsolatedKernel.with(restart: restart) { k in
            var pid = try #require(await k.faultPID())
            for round in 1...2 {
                #expect(try await k.ask("fault_c.crash").status == "503")
                pid = try #require(await k.restarted(from: pid, restarts: round))
            }
            #expect(try await k.ask("fault_c.crash").status == "503")
            #expect(await eventually { k.kernel.isolation(of: "fault_c")?.quarantine != nil })
            let status = try #require(k.kernel.isolation(of: "fault_c"))
            #expect(status.quarantine?.contains("crashed 3 times") == true)
            #expect(status.quarantine?.contains("restart.max_restarts = 2") == true)
            #expect(status.pid == nil)
            let refused = try await k.ask("fault_c.echo")
            #expect(refused.status == "503")
            #expect(refused.text.contains("quarantined"))
            #expect(
                await eventually {
                    let health = k.kernel.plugin(named: "fault_c")?.health
                    return health?.status == "unhealthy" && health?.detail.contains("quarantined") == true
                })
            #expect(try await k.ask("hello.c.greet", Array("still".utf8)).text == "Hello, still!")
            #expect(k.kernel.metrics.exposition().contains(#"jamey_plugin_child_up{plugin="fault_c"} 0"#))
        }
    }
}

/// The restart schedule as the supervisor applies it, and starting a quarantined plugin again.
@Suite("Crash isolation: restarts")
struct IsolationRestartTests {
    @Test func crashesFollowTheBackoffSchedule() async throws {
        let restart = "delay_ms: 20\nmax_delay_ms: 160\nsteps: 3\nwindow_s: 3600\nmax_restarts: 100"
        try await IsolatedKernel.with(restart: restart) { k in
            var pid = try #require(await k.faultPID())
            for round in 1...5 {
                #expect(try await k.ask("fault_c.crash").status == "503")
                pid = try #require(await k.restarted(from: pid, restarts: round))
            }
            let delays = try #require(k.kernel.isolation(of: "fault_c")).delays
            // 20 ms growing to 160 ms over 3 restarts (×2 per step), then staying there.
            #expect(delays.map { Int(($0 / .milliseconds(1)).rounded()) } == [20, 40, 80, 160, 160])
        }
    }

    @Test func aQuarantinedPluginServesAgainAfterADeploy() async throws {
        let restart = "delay_ms: 10\nmax_delay_ms: 10\nsteps: 0\nwindow_s: 3600\nmax_restarts: 0"
        try await IsolatedKernel.with(restart: restart) { k in
            _ = try #require(await k.faultPID())
            #expect(try await k.ask("fault_c.crash").status == "503")
            #expect(await eventually { k.kernel.isolation(of: "fault_c")?.quarantine != nil })
            #expect(try await k.ask("fault_c.echo").status == "503")
            let kernel = k.kernel
            let path = try TestPlugins.faultC()
            _ = try await onThread { () throws(KernelError) -> [String] in try kernel.deploy(plugin: "fault_c", path: path) }
            let echo = try await k.ask("fault_c.echo", Array("again".utf8))
            #expect(echo.text == "again")
            #expect(echo.status == nil)
        }
    }
}

/// A restart whose init takes longer than the health deadline is not killed by the health
/// checks meanwhile: they waited behind init on the child's hook queue, the new process was
/// killed as hung, and so at every attempt.
@Suite("Crash isolation: slow restarts")
struct SlowRestartTests {
    @Test func aRestartWithASlowInitIsNotKilledAsHung() async throws {
        var source = CPluginSource(name: "slowinit")
        source.initDelayMilliseconds = 900
        source.extraCode = """
            static int32_t on_die(void *u, const jamey_message *m) { (void)u; (void)m; abort(); }
            """
        source.startCode = #"api->subscribe(s->host, "slowinit.die", NULL, on_die, s, &s->sub);"#
        var plugin = TestKernel.Plugin("slowinit", path: try TestPlugins.buildC(name: "slowinit", source: source.render()))
        plugin.isolation = "process"
        let plugins = [plugin]
        let k = try await onThread {
            try TestKernel.boot(
                plugins: plugins, extra: "hooks:\n  health_timeout_ms: 300\n  health_interval_ms: 50\n")
        }
        defer { k.shutdown() }
        let first = try #require(k.kernel.isolation(of: "slowinit")?.pid)
        try k.bus.publish(BusMessage(topic: "slowinit.die"))
        #expect(
            await eventually(timeout: .seconds(30)) {
                let status = k.kernel.isolation(of: "slowinit")
                return status?.restarts == 1 && status?.pid != nil && status?.pid != first
            }, "\(String(describing: k.kernel.isolation(of: "slowinit")))")
        let status = try #require(k.kernel.isolation(of: "slowinit"))
        #expect(status.lastExit?.contains("SIGABRT") == true, "\(status.lastExit ?? "-")")
        #expect(status.quarantine == nil)
    }
}
