import Foundation
import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

/// Kernel facts as data (ABI 1.3): the typed plugin list a C plugin reads with `plugin_list`,
/// the generation, and a bus event on every plugin state change.
@Suite struct PluginFactsTests {
    @Test func everyStateChangeIsAnEventWithTheNewGeneration() throws {
        let path = try TestPlugins.buildC(name: "watched", source: CPluginSource(name: "watched").render())
        let k = try TestKernel.boot(plugins: [.init("watched", path: path)], start: false)
        let seen = Mutex<[(plugin: String, state: String, previous: String, generation: Int)]>([])
        _ = try k.bus.subscribe(Kernel.stateEventTopic) { message in
            let json = (try? JSONSerialization.jsonObject(with: Data(message.payload))) as? [String: Any] ?? [:]
            let header = { (key: String) in message.headers.first { $0.key == key }?.value ?? "" }
            #expect(json["plugin"] as? String == header("plugin"))
            #expect(json["state"] as? String == header("state"))
            seen.withLock {
                $0.append((header("plugin"), header("state"), header("previous"), json["generation"] as? Int ?? -1))
            }
            return true
        }
        let before = k.kernel.pluginsGeneration
        try k.kernel.start()
        k.shutdown()
        #expect(TestKernel.eventually(timeout: .seconds(10)) { seen.withLock { $0.count } >= 4 })
        let events = seen.withLock { $0 }.filter { $0.plugin == "watched" }
        #expect(events.map(\.state) == ["initialized", "started", "stopping", "stopped"])
        #expect(events.map(\.previous) == ["loaded", "initialized", "started", "stopping"])
        let generations = events.map(\.generation)
        #expect(generations == generations.sorted() && Set(generations).count == generations.count, "\(generations)")
        #expect(generations.first.map { UInt64($0) > before } == true)
    }

    @Test func aCPluginReadsThePluginListAsStructs() throws {
        let log = try TemporaryDirectory.make() + "/list.log"
        var reader = CPluginSource(name: "reader")
        reader.routes = [
            #"{sizeof(jamey_route), 0, "GET", "/v1/reader/x", "reader.x", "read", "X", "readerX", NULL, NULL, NULL}"#
        ]
        reader.extraCode = """
            static void on_list(void *user, const jamey_plugin_info *p, size_t n) {
                FILE *f = fopen(\(String(reflecting: log)), "w");
                if (f == NULL) return;
                for (size_t i = 0; i < n; i++) {
                    fprintf(f, "%s state=%u required=%d health=%d failed=%s routes=%zu",
                        p[i].name, p[i].state, p[i].required, p[i].health, p[i].failure ? "yes" : "no", p[i].route_count);
                    if (p[i].route_count > 0) fprintf(f, " id=%s", p[i].routes[0].operation_id ? p[i].routes[0].operation_id : "-");
                    fprintf(f, " hook_seconds>0=%d\\n", p[i].figures && p[i].figures->hook_seconds > 0);
                }
                fclose(f);
                (void)user;
            }
            """
        reader.startCode = "if (JAMEY_HOST_HAS(api, plugin_list)) api->plugin_list(s->host, on_list, NULL);"
        let readerPath = try TestPlugins.buildC(name: "reader", source: reader.render())
        let other = try TestPlugins.buildC(name: "other", source: CPluginSource(name: "other").render())
        let k = try TestKernel.boot(plugins: [
            .init("other", path: other, required: true), .init("ghost", path: "/nonexistent/libghost.so"),
            .init("reader", path: readerPath),
        ])
        defer { k.shutdown() }
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "other state=3 required=1 health=0 failed=no routes=0 hook_seconds>0=1",
                "ghost state=6 required=0 health=-1 failed=yes routes=0 hook_seconds>0=0",
                "reader state=2 required=0 health=-1 failed=no routes=1 id=readerX hook_seconds>0=1",
            ], "\(lines)")
    }

    @Test func figuresCountWhatTheBusDid() throws {
        let path = try TestPlugins.buildC(name: "counted", source: CPluginSource(name: "counted").render())
        let k = try TestKernel.boot(plugins: [.init("counted", path: path)])
        defer { k.shutdown() }
        let record = try #require(k.kernel.records.first { $0.name == "counted" })
        let host = try #require(record.with { $0.host })
        for _ in 0..<5 { try host.endpoint.publish(BusMessage(topic: "counted.out")) }
        let figures = k.kernel.figures(record)
        #expect(figures.messages_out == 5)
        #expect(figures.hook_seconds > 0)
    }
}
