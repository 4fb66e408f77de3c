import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// plugin.h: the kernel handles what was queued and closes a plugin's subscriptions before its
/// stop runs, so stop and deinit may free what the handlers use. An isolated plugin's runner went
/// on through its backlog of deliveries while stop and deinit ran.
@Suite struct IsolationStopTests {
    @Test func noHandlerRunsDuringOrAfterTheStopOfAnIsolatedPlugin() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-isolated-stop")
        let log = dir + "/events.log"
        var source = CPluginSource(name: "slow")
        source.eventLog = log
        source.extraCode = """
            static int32_t slow_tick(void *user, const jamey_message *m) {
                (void)user; (void)m;
                record("begin");
                probe_sleep(50);
                record("end");
                return JAMEY_OK;
            }
            """
        source.startCode = """
            uint64_t id;
            api->subscribe(s->host, "slow.tick", NULL, slow_tick, NULL, &id);
            """
        let library = try TestPlugins.buildC(name: "slow", source: source.render())
        let yaml = IsolatedKernel.yaml(only: "slow", path: library)
        let test = try await onThread { try TestKernel.boot(yaml: yaml) }
        // A backlog of about a second of handler time, then the stop at once.
        for _ in 0..<20 { try test.bus.publish(BusMessage(topic: "slow.tick", payload: [1])) }
        _ = await eventually(timeout: .seconds(10)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("begin slow")
        }
        await onThread { test.shutdown() }
        let events = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix("health") }
        let stop = try #require(events.firstIndex(of: "stop slow"), "\(events)")
        let afterStop = events[stop...].filter { $0 == "begin slow" || $0 == "end slow" }
        #expect(afterStop.isEmpty, "handlers ran during or after stop: \(events)")
        let before = events[..<stop]
        #expect(before.filter { $0 == "begin slow" }.count == before.filter { $0 == "end slow" }.count)
        #expect(before.filter { $0 == "begin slow" }.count == 20, "the queued deliveries are handled before stop")
    }

    /// `hook_time_left` inside an isolated plugin's process: each hook frame carries its deadline,
    /// and a stop during shutdown gets what the shutdown leaves, not `hooks.stop_timeout_ms`.
    @Test func anIsolatedHookLearnsHowLongItMayStillRun() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-isolated-left")
        let log = dir + "/events.log"
        let source = CPluginSource.hookTimeProbe(name: "timed", eventLog: log)
        let library = try TestPlugins.buildC(name: "timed", source: source.render())
        let test = try await onThread { try TestKernel.boot(yaml: IsolatedKernel.yaml(only: "timed", path: library)) }
        let bus = test.bus
        let reply = try await onThread {
            try bus.requestSync(BusMessage(topic: "timed.left", payload: []), timeout: .seconds(30))
        }
        #expect(String(decoding: reply.payload, as: UTF8.self) == "-1", "a bus handler runs in no hook")
        // hooks.stop_timeout_ms is 30 s in test kernels; the shutdown leaves 5.
        await onThread { test.shutdown(deadline: .seconds(5)) }
        let events = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        let start = try #require(CPluginSource.timeLeft("start-left", in: events), "\(events)")
        let stop = try #require(CPluginSource.timeLeft("stop-left", in: events), "\(events)")
        #expect(start > 0 && start <= 60_000_000_000, "start: \(start) ns of 60 s")
        #expect(stop > 0 && stop <= 5_000_000_000, "stop: \(stop) ns, within the 5 s the shutdown left")
    }
}
