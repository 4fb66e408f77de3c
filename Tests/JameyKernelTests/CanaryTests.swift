import Foundation
import JameyKernel
import JameyTestKit
import Synchronization
import Testing

/// Canary releases: a new build beside the running one takes a share of the plugin's traffic,
/// sticky by caller, with both sides' figures, promotion, rollback, and a rollback by itself when
/// the canary does worse. Plain C plugins loaded with dlopen; real bus requests.
@Suite struct CanaryTests {
    /// A build of `echo` that answers `echo.ask` with "<version>:<payload>" after `delayMs`, with
    /// reply status `status`; its `echo.note` events are counted and reported by `echo.notes`.
    func echo(version: String, delayMs: Int = 0, status: Int = 200) throws -> String {
        var s = CPluginSource(name: "echo")
        s.version = version
        s.extraCode = """
            static long notes = 0;
            static int32_t on_ask(void *user, const jamey_message *m) {
                jamey_host *host = user;
                probe_sleep(\(delayMs));
                char reply[256];
                int n = snprintf(reply, sizeof reply, "\(version):%.*s", (int)m->payload_len, (const char *)m->payload);
                jamey_kv h[1] = { { "status", "\(status)" } };
                jamey_message r = { sizeof(jamey_message), 0, m->topic, reply, (size_t)n, "text/plain", h, 1, NULL, 0, NULL };
                return api->reply(host, m, &r);
            }
            static int32_t on_note(void *user, const jamey_message *m) { (void)user; (void)m; __atomic_add_fetch(&notes, 1, __ATOMIC_RELAXED); return JAMEY_OK; }
            static int32_t on_notes(void *user, const jamey_message *m) {
                jamey_host *host = user;
                char reply[64];
                int n = snprintf(reply, sizeof reply, "\(version):%ld", __atomic_load_n(&notes, __ATOMIC_RELAXED));
                jamey_message r = { sizeof(jamey_message), 0, m->topic, reply, (size_t)n, "text/plain", NULL, 0, NULL, 0, NULL };
                return api->reply(host, m, &r);
            }
            """
        s.startCode = """
            jamey_subscribe_options o = { sizeof o, 4096, 0, JAMEY_SUBSCRIBE_RESPONDER };
            if (api->subscribe(s->host, "echo.ask", &o, on_ask, s->host, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            uint64_t other;
            jamey_subscribe_options e = { sizeof e, 65536, 0, 0 };
            if (api->subscribe(s->host, "echo.note", &e, on_note, s->host, &other) != JAMEY_OK) return JAMEY_E_PLUGIN;
            if (api->subscribe(s->host, "echo.notes.\(version.replacingOccurrences(of: ".", with: "_"))", &o, on_notes, s->host, &other) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        return try TestPlugins.buildC(name: "echo", source: s.render())
    }

    /// No automatic rollback: these tests steer the canary themselves (on a loaded machine the
    /// latency rule could otherwise roll it back in the middle).
    static let manual: CanaryPolicy = {
        var policy = CanaryPolicy()
        policy.autoRollback = false
        return policy
    }()

    /// Asks `echo.ask`; the version that answered.
    func ask(_ k: TestKernel, _ text: String = "x", key: String? = nil) throws -> String {
        let headers = key.map { [BusHeader(key: "sticky.key", value: $0)] } ?? []
        let reply = try k.bus.requestSync(
            BusMessage(topic: "echo.ask", payload: Array(text.utf8), headers: headers), timeout: .seconds(10))
        return String(String(decoding: reply.payload, as: UTF8.self).prefix { $0 != ":" })
    }

    /// The deploy operation's reply names the version of the build it started: a canary's reply
    /// put the stable 1.0.0 beside the canary's path.
    @Test func aCanarysReplyNamesTheCanarysVersion() async throws {
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0")
            let v2 = try echo(version: "2.0.0")
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)])
            defer { k.shutdown() }
            var request = BusMessage(topic: Kernel.deployTopic, payload: Array(#"{"path": "\#(v2)", "weight": 30}"#.utf8))
            request.headers = [BusHeader(key: "plugin", value: "echo")]
            let reply = try k.bus.requestSync(request, timeout: .seconds(120))
            let body = try JSONSerialization.jsonObject(with: Data(reply.payload)) as? [String: Any]
            #expect(body?["version"] as? String == "2.0.0", "\(body ?? [:])")
            #expect(body?["stable_version"] as? String == "1.0.0")
            #expect(body?["path"] as? String == v2)
        }
    }

    @Test func theSplitFollowsTheWeightIsStickyByCallerAndEventsGoToOneSide() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0")
            let v2 = try echo(version: "2.0.0")
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)])
            defer { k.shutdown() }
            let steps = try k.kernel.startCanary(plugin: "echo", path: v2, weight: 20, policy: Self.manual)
            #expect(steps.last == "2.0.0 (\(v2)) takes 20 % of the traffic; 1.0.0 (\(v1)) the rest", "\(steps)")

            // Without a key: exactly 20 of every 100 requests.
            var answers: [String: Int] = [:]
            for i in 0..<500 { answers[try ask(k, "\(i)"), default: 0] += 1 }
            #expect(answers == ["2.0.0": 100, "1.0.0": 400], "\(answers)")

            // With a key: one caller always sees one version, and about 20 % of callers see the canary.
            var canaryCallers = 0
            for caller in 0..<300 {
                let seen = Set(try (0..<4).map { _ in try ask(k, key: "caller-\(caller)") })
                #expect(seen.count == 1, "caller-\(caller) saw \(seen)")
                if seen == ["2.0.0"] { canaryCallers += 1 }
            }
            #expect((30...90).contains(canaryCallers), "\(canaryCallers) of 300 callers on the canary")

            // Events on a topic both instances subscribe to reach one of them, never both.
            for i in 0..<1000 { try k.bus.publish(BusMessage(topic: "echo.note", payload: Array("\(i)".utf8))) }
            func notes(_ version: String) -> Int {
                let reply = try? k.bus.requestSync(
                    BusMessage(topic: "echo.notes.\(version.replacingOccurrences(of: ".", with: "_"))"), timeout: .seconds(10))
                return reply.flatMap { Int(String(decoding: $0.payload, as: UTF8.self).split(separator: ":").last ?? "") } ?? -1
            }
            #expect(TestKernel.eventually { notes("1.0.0") + notes("2.0.0") == 1000 })
            #expect(notes("2.0.0") == 200, "\(notes("2.0.0"))")

            // A new weight applies at once; the status shows both sides.
            try k.kernel.setCanaryWeight(plugin: "echo", weight: 50)
            answers = [:]
            for i in 0..<200 { answers[try ask(k, "\(i)"), default: 0] += 1 }
            #expect(answers == ["2.0.0": 100, "1.0.0": 100], "\(answers)")
            let status = try #require(k.kernel.canaryStatus(plugin: "echo"))
            #expect(status.weight == 50)
            #expect(status.canary == "2.0.0 (\(v2))")
            // (Plus the few `echo.notes.2_0_0` requests, which only the canary answers.)
            #expect((status.total[.canary]?.requests ?? 0) >= 100 + 100 + canaryCallers * 4)
            #expect((status.total[.canary]?.requests ?? 0) < 100 + 100 + canaryCallers * 4 + 100)
            #expect(status.window[.stable]?.errors == 0)
            #expect(status.window[.canary]?.p99 != nil)
            let metrics = k.kernel.metrics.exposition()
            #expect(metrics.contains(#"jamey_canary_weight{plugin="echo"} 50"#), "\(metrics)")
            #expect(metrics.contains(#"jamey_canary_requests_total{plugin="echo",side="canary",outcome="ok"}"#))
        }
    }

    @Test func promotionMakesTheCanaryTheOnlyVersionAndRollbackEndsIt() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0")
            let v2 = try echo(version: "2.0.0")
            let v3 = try echo(version: "3.0.0")
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)])
            defer { k.shutdown() }
            try k.kernel.startCanary(plugin: "echo", path: v2, weight: 10, policy: Self.manual)
            #expect { try k.kernel.startCanary(plugin: "echo", path: v3, weight: 10) } throws: {
                "\($0)".contains("has a canary running")
            }
            #expect { try k.kernel.deploy(plugin: "echo", path: v3) } throws: { "\($0)".contains("has a canary running") }
            let steps = try k.kernel.promoteCanary(plugin: "echo")
            #expect(steps.last == "echo 2.0.0 (\(v2)) is serving", "\(steps)")
            #expect(try Set((0..<50).map { i in try ask(k, "\(i)") }) == ["2.0.0"])
            #expect(k.kernel.plugin(named: "echo")?.version == "2.0.0")
            #expect(k.kernel.canaryStatus(plugin: "echo") == nil)
            #expect(k.kernel.lastCanaryOutcome(plugin: "echo") == "promoted 2.0.0 (\(v2))")

            try k.kernel.startCanary(plugin: "echo", path: v3, weight: 90, policy: Self.manual)
            #expect(try (0..<20).map { i in try ask(k, "\(i)") }.contains("3.0.0"))
            let rolledBack = try k.kernel.rollBackCanary(plugin: "echo")
            #expect(rolledBack.last == "2.0.0 (\(v2)) serves all the traffic", "\(rolledBack)")
            #expect(try Set((0..<50).map { i in try ask(k, "\(i)") }) == ["2.0.0"])
            #expect(k.kernel.lastCanaryOutcome(plugin: "echo") == "rolled back 3.0.0 (\(v3)) by the operator")
            #expect(k.kernel.metrics.exposition().contains(#"jamey_canary_rollbacks_total{plugin="echo",trigger="operator"} 1"#))
            #expect(k.kernel.metrics.exposition().contains(#"jamey_canary_weight{plugin="echo"} 0"#))

            #expect { try k.kernel.startCanary(plugin: "echo", path: v3, weight: 0) } throws: { "\($0)".contains("1 to 99") }
            #expect { try k.kernel.setCanaryWeight(plugin: "echo", weight: 5) } throws: { "\($0)".contains("no canary running") }
            #expect { try k.kernel.promoteCanary(plugin: "echo") } throws: { "\($0)".contains("no canary running") }
        }
    }

    /// A reload that would remove, disable or change a plugin with a canary running is refused
    /// (it left the canary and its split behind, or the promotion undid it); one that leaves the
    /// plugin alone goes through; after a rollback the plugin can go.
    @Test func aReloadLeavesAPluginWithACanaryAlone() async throws {
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0")
            let v2 = try echo(version: "2.0.0")
            var other = CPluginSource(name: "other")
            other.version = "1.0.0"
            let otherPath = try TestPlugins.buildC(name: "other", source: other.render())
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1), .init("other", path: otherPath)])
            defer { k.shutdown() }
            try k.kernel.startCanary(plugin: "echo", path: v2, weight: 10, policy: Self.manual)
            for plugins: [TestKernel.Plugin] in [
                [.init("other", path: otherPath)],
                [.init("echo", path: v1, enabled: false), .init("other", path: otherPath)],
            ] {
                #expect { try k.reload(plugins: plugins) } throws: { "\($0)".contains("a canary is running") }
            }
            #expect(k.kernel.canaryStatus(plugin: "echo") != nil)
            #expect(k.kernel.plugin(named: "echo")?.state == .started)
            #expect(throws: Never.self) { try k.reload(plugins: [.init("echo", path: v1)]) }
            try k.kernel.rollBackCanary(plugin: "echo")
            #expect(throws: Never.self) { try k.reload(plugins: [.init("other", path: otherPath)]) }
            #expect(k.kernel.plugin(named: "echo") == nil)
        }
    }

    @Test func canariesUnderContinuousRequestsLoseNothing() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0", delayMs: 1)
            let v2 = try echo(version: "2.0.0", delayMs: 1)
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)])
            defer { k.shutdown() }
            let load = ContinuousLoad(threads: 3) { worker, i in
                _ = try ask(k, "w\(worker)-\(i)", key: "k\(i % 17)")
                return nil
            }
            func progress() { load.waitForProgress(30) }
            progress()
            var current = v1
            for round in 0..<4 {
                let next = current == v1 ? v2 : v1
                try k.kernel.startCanary(plugin: "echo", path: next, weight: 30, policy: Self.manual)
                progress()
                try k.kernel.setCanaryWeight(plugin: "echo", weight: 70)
                progress()
                if round % 2 == 0 {
                    try k.kernel.promoteCanary(plugin: "echo")
                    current = next
                } else {
                    try k.kernel.rollBackCanary(plugin: "echo")
                }
                progress()
            }
            load.stop()
            #expect(load.failures.isEmpty, "\(load.failures.prefix(5))")
            #expect(k.kernel.plugin(named: "echo")?.path == current)
        }
    }

    @Test func aCanaryFailingMoreThanTheStableOneIsRolledBackByItself() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0")
            let failing = try echo(version: "2.0.0", status: 503)
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            var policy = CanaryPolicy()
            policy.window = .seconds(10)
            policy.minRequests = 20
            try k.kernel.startCanary(plugin: "echo", path: failing, weight: 25, policy: policy)
            var sent = 0
            #expect(
                TestKernel.eventually(timeout: .seconds(30)) {
                    for i in 0..<20 { _ = try? ask(k, "\(sent + i)") }
                    sent += 20
                    return k.kernel.lastCanaryOutcome(plugin: "echo") != nil
                })
            #expect(k.kernel.canaryStatus(plugin: "echo") == nil)
            let outcome = k.kernel.lastCanaryOutcome(plugin: "echo") ?? ""
            #expect(outcome.hasPrefix("rolled back 2.0.0 (\(failing)): its error rate was 100.0 % against 0.0 %"), "\(outcome)")
            #expect(try Set((0..<40).map { i in try ask(k, "\(i)") }) == ["1.0.0"])
            #expect(k.kernel.metrics.exposition().contains(#"jamey_canary_rollbacks_total{plugin="echo",trigger="automatic"} 1"#))
        }
    }

    @Test func aSlowerCanaryIsRolledBackByItselfAndAnEqualOneIsNot() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0", delayMs: 1)
            let same = try echo(version: "1.0.1", delayMs: 1)
            let slow = try echo(version: "2.0.0", delayMs: 100)
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            var policy = CanaryPolicy()
            policy.window = .seconds(10)
            policy.minRequests = 20
            policy.minP99Difference = .milliseconds(50)

            // An equal build keeps its canary through as many requests.
            try k.kernel.startCanary(plugin: "echo", path: same, weight: 50, policy: policy)
            for i in 0..<200 { _ = try ask(k, "\(i)") }
            #expect(k.kernel.canaryStatus(plugin: "echo") != nil, "\(k.kernel.lastCanaryOutcome(plugin: "echo") ?? "")")
            try k.kernel.rollBackCanary(plugin: "echo")

            try k.kernel.startCanary(plugin: "echo", path: slow, weight: 50, policy: policy)
            var sent = 0
            #expect(
                TestKernel.eventually(timeout: .seconds(60)) {
                    for i in 0..<10 { _ = try? ask(k, "\(sent + i)") }
                    sent += 10
                    return k.kernel.lastCanaryOutcome(plugin: "echo")?.contains("2.0.0") == true
                })
            let outcome = k.kernel.lastCanaryOutcome(plugin: "echo") ?? ""
            #expect(outcome.hasPrefix("rolled back 2.0.0 (\(slow)): its p99 latency was"), "\(outcome)")
        }
    }

    /// Bad requests on the kernel's canary topics (what the HTTP routes forward): a clear problem
    /// naming the field, and nothing changes.
    /// A canary is stopped and deinitialised at shutdown like the stable instance (it is not in
    /// the start order, so it was left running: its stop never saved what it held), and a restore
    /// of its plugin is refused while it runs (it would go on writing the restored data).
    @Test func aCanaryIsStoppedAtShutdownAndARestoreWaitsForIt() async throws {
        try await onThread {
            let log = try TemporaryDirectory.make(prefix: "jamey-canary-events") + "/events.log"
            var source = CPluginSource(name: "echo")
            source.eventLog = log
            source.snapshotDelayMilliseconds = 0
            let v1 = try TestPlugins.buildC(name: "echo", source: source.render())
            source.version = "2.0.0"
            let v2 = try TestPlugins.buildC(name: "echo", source: source.render())
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)])
            var stopped = false
            defer { if !stopped { k.shutdown() } }
            _ = try k.kernel.startCanary(plugin: "echo", path: v2, weight: 50, policy: Self.manual)
            let snapshot = try TemporaryDirectory.make(prefix: "jamey-canary-snapshot")
            try k.kernel.snapshot(plugin: "echo", into: snapshot)
            #expect {
                try k.kernel.restore(plugin: "echo", from: snapshot)
            } throws: { "\($0)".contains("plugin 'echo' has a canary running") }
            let lines = { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n") }
            let before = lines().count
            k.shutdown()
            stopped = true
            let events = lines().dropFirst(before)
            #expect(events.filter { $0 == "stop echo" }.count == 2, "\(events)")
            #expect(events.filter { $0 == "deinit echo" }.count == 2, "\(events)")
        }
    }

    /// Service tables stay with the stable instance while a canary runs: a rollback leaves them
    /// there (it deleted the name, the canary's registration having replaced the stable one's),
    /// and a promotion hands them to the canary when the stable instance stops.
    @Test func serviceTablesStayWithTheStableInstanceUntilPromotion() async throws {
        try await onThread {
            var source = CPluginSource(name: "store")
            source.provides = [("store.data", "1.0.0")]
            let v1 = try TestPlugins.buildC(name: "store", source: source.render())
            source.version = "1.1.0"
            source.provides = [("store.data", "1.1.0")]
            let v2 = try TestPlugins.buildC(name: "store", source: source.render())
            let k = try TestKernel.boot(plugins: [.init("store", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            let found = { k.kernel.services.service(named: "store.data")?.version.description }
            _ = try k.kernel.startCanary(plugin: "store", path: v2, weight: 50, policy: Self.manual)
            #expect(found() == "1.0.0", "the stable instance's table while the canary runs")
            _ = try k.kernel.rollBackCanary(plugin: "store")
            #expect(found() == "1.0.0", "the stable instance's table after a rollback")
            _ = try k.kernel.startCanary(plugin: "store", path: v2, weight: 50, policy: Self.manual)
            _ = try k.kernel.promoteCanary(plugin: "store")
            #expect(found() == "1.1.0", "the promoted canary's table")
        }
    }

    @Test func badCanaryRequestsNameTheFieldAndChangeNothing() async throws {
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0")
            let v2 = try echo(version: "2.0.0")
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            func send(_ topic: String, _ body: String) throws -> (status: String, text: String) {
                let reply = try k.bus.requestSync(
                    BusMessage(topic: topic, payload: Array(body.utf8), headers: [BusHeader(key: "plugin", value: "echo")]),
                    timeout: .seconds(30))
                let status = reply.headers.last { $0.key == "status" }?.value ?? ""
                return (status, String(decoding: reply.payload, as: UTF8.self))
            }
            let deploy = Kernel.deployTopic
            let badWeight = try send(deploy, #"{"path": "\#(v2)", "weight": 150}"#)
            #expect(
                badWeight.status == "422" && badWeight.text.contains("weight must be an integer from 1 to 100"), "\(badWeight)")
            let badKey = try send(deploy, #"{"path": "\#(v2)", "weight": 10, "rollback": {"windw_ms": 5}}"#)
            #expect(
                badKey.status == "422" && badKey.text.contains("rollback.windw_ms is not a canary policy setting"), "\(badKey)")
            let badValue = try send(deploy, #"{"path": "\#(v2)", "weight": 10, "rollback": {"max_p99_increase": -1}}"#)
            #expect(badValue.status == "422" && badValue.text.contains("rollback.max_p99_increase"), "\(badValue)")
            // Bounded above too: 1e300 ms stopped the process turning it into microseconds.
            for (key, value) in [
                ("min_p99_difference_ms", "1e300"), ("max_p99_increase", "1e300"), ("max_error_rate_increase", "2"),
            ] {
                let huge = try send(deploy, #"{"path": "\#(v2)", "weight": 10, "rollback": {"\#(key)": \#(value)}}"#)
                #expect(huge.status == "422" && huge.text.contains("rollback.\(key) must be a number from 0 to"), "\(huge)")
            }
            let notJSON = try send(Kernel.canaryTopic + ".weight", "weight=5")
            #expect(notJSON.status == "422", "\(notJSON)")
            let noCanary = try send(Kernel.canaryTopic + ".status", "")
            #expect(noCanary.status == "404" && noCanary.text.contains("no canary running"), "\(noCanary)")
            // Nothing changed: no canary, the stable build answers everything.
            #expect(k.kernel.canaryStatus(plugin: "echo") == nil)
            #expect(try Set((0..<20).map { i in try ask(k, "\(i)") }) == ["1.0.0"])
        }
    }
}
