import Foundation
import JameyTestKit
import Testing

@testable import JameyKernel

/// A deploy's hand-over (ABI 1.7) with plain C plugins: the running build's `hand_over` writes
/// what it holds in memory, the new build's `take_over` reads it before its start.
@Suite struct HandoverTests {
    let log: ProbeEvents

    init() throws { log = try ProbeEvents(prefix: "jamey-handover-events") }

    func events() -> [String] { log.read() }

    /// A build of `counter` that answers `counter.ask` with "<version>:<asks answered>", counting
    /// in memory; `handOver`/`takeOver` carry the count (nil: no such hook).
    func counter(
        version: String, handOver: String? = saveCount, takeOver: String? = loadCount,
        configure: (inout CPluginSource) -> Void = { _ in }
    ) throws -> String {
        var s = CPluginSource(name: "counter")
        s.version = version
        s.eventLog = log.path
        s.extraCode = """
            static int answered;
            static int32_t on_ask(void *user, const jamey_message *m) {
                jamey_host *host = user;
                char reply[64];
                int n = snprintf(reply, sizeof reply, "\(version):%d", ++answered);
                jamey_message r = { sizeof(jamey_message), 0, m->topic, reply, (size_t)n, "text/plain", NULL, 0, NULL, 0, NULL };
                return api->reply(host, m, &r);
            }
            """
        s.startCode = """
            jamey_subscribe_options o = { sizeof o, 4096, 0, JAMEY_SUBSCRIBE_RESPONDER };
            if (api->subscribe(s->host, "counter.ask", &o, on_ask, s->host, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        s.handOverCode = handOver
        s.takeOverCode = takeOver
        configure(&s)
        return try TestPlugins.buildC(name: "counter", source: s.render())
    }

    static let saveCount = #"""
        char path[512];
        snprintf(path, sizeof path, "%s/count", dir);
        FILE *f = fopen(path, "w");
        if (f == NULL) { snprintf(err, cap, "cannot write %s", path); return JAMEY_E_PLUGIN; }
        fprintf(f, "v1 %d\n", answered);
        fclose(f);
        return JAMEY_OK;
        """#

    static let loadCount = #"""
        char path[512], line[64];
        snprintf(path, sizeof path, "%s/count", dir);
        FILE *f = fopen(path, "r");
        if (f == NULL) { snprintf(err, cap, "no count in %s", dir); return JAMEY_E_PLUGIN; }
        int n = 0;
        int read = fscanf(f, "v1 %d", &n);
        fclose(f);
        if (read != 1) { snprintf(err, cap, "count: an unknown format"); return JAMEY_E_INVALID; }
        answered = n;
        snprintf(line, sizeof line, "took over %d", n);
        record(line);
        return JAMEY_OK;
        """#

    func ask(_ k: TestKernel) throws -> String {
        let reply = try k.bus.requestSync(BusMessage(topic: "counter.ask", payload: []), timeout: .seconds(10))
        return String(decoding: reply.payload, as: UTF8.self)
    }

    @Test func theNewBuildTakesOverWhatTheRunningOneHeld() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [.init("counter", path: try counter(version: "1.0.0"))])
            defer { k.shutdown() }
            #expect(try (1...3).map { _ in try ask(k) } == ["1.0.0:1", "1.0.0:2", "1.0.0:3"])
            let steps = try k.kernel.deploy(plugin: "counter", path: try counter(version: "2.0.0"))
            #expect(steps.contains { $0.hasPrefix("handed over the running instance's state (") }, "\(steps)")
            #expect(try ask(k) == "2.0.0:4", "the count went on from the old build's")
            let order = events().filter {
                ["hand_over", "take_over", "init", "start", "stop"].contains($0.split(separator: " ").first ?? "")
            }
            #expect(
                order == [
                    "init counter", "start counter", "init counter", "hand_over counter", "take_over counter", "start counter",
                    "stop counter",
                ], "hand-over after the new init, before its start; the old stops last: \(order)")
            #expect(events().contains("took over 3 counter"))
            let left = (try? FileManager.default.contentsOfDirectory(atPath: k.directory + "/data/.handover")) ?? []
            #expect(left.isEmpty, "the hand-over directory is deleted: \(left)")
        }
    }

    @Test func aTakeOverThatFailsLeavesTheRunningBuildServing() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [.init("counter", path: try counter(version: "1.0.0"))])
            defer { k.shutdown() }
            #expect(try ask(k) == "1.0.0:1")
            let picky = try counter(
                version: "2.0.0", takeOver: #"snprintf(err, cap, "count: format v1 is too old"); return JAMEY_E_INVALID;"#)
            #expect {
                try k.kernel.deploy(plugin: "counter", path: picky)
            } throws: { error in
                "\(error)".contains("take_over failed (JAMEY_E_INVALID): count: format v1 is too old")
                    && "\(error)".contains("goes on serving")
            }
            #expect(k.kernel.plugin(named: "counter")?.version == "1.0.0")
            #expect(try ask(k) == "1.0.0:2")
            #expect(events().filter { $0 == "deinit counter" }.count == 1, "the new instance was deinitialised")
        }
    }

    @Test func aHandOverThatFailsStartsTheNewBuildWithoutTheState() async throws {
        try await onThread { [self] in
            let failing = try counter(version: "1.0.0", handOver: #"snprintf(err, cap, "busy"); return JAMEY_E_STATE;"#)
            let k = try TestKernel.boot(plugins: [.init("counter", path: failing)])
            defer { k.shutdown() }
            #expect(try ask(k) == "1.0.0:1")
            let steps = try k.kernel.deploy(plugin: "counter", path: try counter(version: "2.0.0"))
            #expect(steps.contains("no state handed over: hand_over failed (JAMEY_E_STATE): busy"), "\(steps)")
            #expect(!events().contains("take_over counter"))
            #expect(try ask(k) == "2.0.0:1", "started afresh")
        }
    }

    @Test func aBuildWithoutItsHookHandsNothingOver() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [.init("counter", path: try counter(version: "1.0.0"))])
            defer { k.shutdown() }
            _ = try ask(k)
            let steps = try k.kernel.deploy(plugin: "counter", path: try counter(version: "2.0.0", takeOver: nil))
            #expect(steps.contains("no state handed over: the new build has no take_over"), "\(steps)")
            #expect(!events().contains("hand_over counter"), "the running build's hand_over is not called for nothing")
            // A build for 1.6 has no such slots: what is there is not read, nor called.
            let old = try counter(version: "3.0.0") { $0.abiMinor = "6" }
            let quiet = try k.kernel.deploy(plugin: "counter", path: old)
            #expect(quiet.contains("no state handed over: the new build has no take_over"), "\(quiet)")
            #expect(!events().contains("take_over counter") && !events().contains("hand_over counter"))
            #expect(try ask(k) == "3.0.0:1")
        }
    }

    /// What a hand-over of an earlier run left (a kernel killed during one) is deleted at start.
    @Test func aHandOverLeftByAnEarlierRunIsDeletedAtStart() throws {
        let directory = try TemporaryDirectory.make(prefix: "jamey-handover-left")
        let left = directory + "/data/.handover/counter@2-1"
        try FileManager.default.createDirectory(atPath: left, withIntermediateDirectories: true)
        try Data("v1 7\n".utf8).write(to: URL(fileURLWithPath: left + "/count"))
        let k = try TestKernel.boot(
            plugins: [.init("counter", path: try counter(version: "1.0.0"))], environment: ["JAMEY_DATA_DIR": directory + "/data"]
        )
        defer { k.shutdown() }
        #expect(k.kernel.dataDirectory == directory + "/data")
        #expect(!FileManager.default.fileExists(atPath: directory + "/data/.handover"))
    }

    /// A canary's start hands over as a deploy does: the canary goes on from the stable build's
    /// state, and the stable build keeps its own (both serve, each counting its own requests).
    @Test func aCanaryStartsFromTheStableBuildsState() async throws {
        try await onThread { [self] in
            let k = try TestKernel.boot(plugins: [.init("counter", path: try counter(version: "1.0.0"))])
            defer { k.shutdown() }
            #expect(try (1...5).map { _ in try ask(k) }.last == "1.0.0:5")
            var policy = CanaryPolicy()
            policy.autoRollback = false
            let steps = try k.kernel.startCanary(
                plugin: "counter", path: try counter(version: "2.0.0"), weight: 50, policy: policy)
            #expect(steps.contains { $0.hasPrefix("handed over the running instance's state (") }, "\(steps)")
            #expect(events().contains("took over 5 counter"))
            // Requests split between the two; each build counts on from 5.
            let answers = try (0..<60).map { _ in try ask(k) }
            #expect(answers.first { $0.hasPrefix("1.0.0") } == "1.0.0:6", "\(answers)")
            #expect(answers.first { $0.hasPrefix("2.0.0") } == "2.0.0:6", "\(answers)")
            _ = try k.kernel.rollBackCanary(plugin: "counter")
        }
    }
}
