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
}
