import Foundation
import JameyIsolationWire
import JameyKernel
import JameyTestKit
import Testing

/// An isolated plugin's host calls answer with the codes plugin.h names, as in process: the
/// runner sent a publish or a request up without a look at its topic (a wildcard topic was
/// taken with JAMEY_OK, then dropped, or failed later through done), ignored request_v2's unknown
/// flags and subscribe's struct size.
@Suite struct IsolationCodesTests {
    /// The codes a plugin's start notes, run with `isolation`.
    static func codes(isolation: String) async throws -> [String] {
        let dir = try TemporaryDirectory.make(prefix: "jamey-isolated-codes")
        let log = dir + "/events.log"
        var source = CPluginSource(name: "coder")
        source.eventLog = log
        source.extraCode = """
            static void note(const char *what, int rc) { char b[96]; snprintf(b, sizeof b, "%s=%d", what, rc); record(b); }
            static void done(void *u, int32_t status, const jamey_message *r) { (void)u; (void)r; note("done", status); }
            static int32_t nothing(void *u, const jamey_message *m) { (void)u; (void)m; return JAMEY_OK; }
            """
        source.startCode = """
            jamey_message m = {0};
            m.struct_size = sizeof m; m.payload = "x"; m.payload_len = 1;
            m.topic = "coder.*"; note("publish_wildcard", api->publish(s->host, &m));
            m.topic = "coder..x"; note("publish_empty_segment", api->publish(s->host, &m));
            m.topic = "coder.fine"; note("publish_fine", api->publish(s->host, &m));
            m.topic = "coder.>"; note("request_wildcard", api->request(s->host, &m, 100, done, NULL));
            m.topic = "coder.x"; note("request_v2_bad_flags", api->request_v2(s->host, &m, 100, 0x40, done, NULL));
            jamey_subscribe_options o = {0};
            o.struct_size = 4;
            uint64_t id = 0;
            note("subscribe_small_options", api->subscribe(s->host, "coder.y", &o, nothing, NULL, &id));
            """
        let library = try TestPlugins.buildC(name: "coder", source: source.render())
        let yaml = IsolatedKernel.yaml(only: "coder", path: library, isolation: isolation)
        let test = try await onThread { try TestKernel.boot(yaml: yaml) }
        try await Task.sleep(for: .milliseconds(300))  // any done a bad request got would come now
        await onThread { test.shutdown() }
        return ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            .filter { $0.contains("=") }
    }

    @Test func isolatedCallsAnswerAsInProcess() async throws {
        let inProcess = try await Self.codes(isolation: "in_process")
        let isolated = try await Self.codes(isolation: "process")
        let invalid = "=\(-1) coder"
        for call in [
            "publish_wildcard", "publish_empty_segment", "request_wildcard", "request_v2_bad_flags", "subscribe_small_options",
        ] {
            #expect(inProcess.contains(call + invalid), "in process: \(inProcess)")
            #expect(isolated.contains(call + invalid), "isolated: \(isolated)")
        }
        #expect(isolated.contains("publish_fine=0 coder"))
        #expect(!isolated.contains { $0.hasPrefix("done=") }, "done is not called when request fails: \(isolated)")
    }

    /// A responder that fails without replying answers its request at once, isolated as in
    /// process (the requester waited out its timeout).
    @Test(arguments: ["in_process", "process"])
    func aFailingResponderAnswersAtOnce(isolation: String) async throws {
        var source = CPluginSource(name: "failer")
        source.extraCode = """
            static int32_t fail(void *u, const jamey_message *m) { (void)u; (void)m; return JAMEY_E_PLUGIN; }
            """
        source.startCode = """
            jamey_subscribe_options o = { sizeof o, 0, 0, JAMEY_SUBSCRIBE_RESPONDER };
            if (api->subscribe(s->host, "failer.ask", &o, fail, NULL, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        let library = try TestPlugins.buildC(name: "failer", source: source.render())
        let yaml = IsolatedKernel.yaml(only: "failer", path: library, isolation: isolation)
        try await onThread {
            let test = try TestKernel.boot(yaml: yaml)
            defer { test.shutdown() }
            for _ in 0..<3 {
                // Far beyond the test's own time: that an answer comes at all is the point.
                #expect(throws: BusError.handlerFailed) {
                    try test.bus.requestSync(BusMessage(topic: "failer.ask"), timeout: .seconds(600))
                }
            }
        }
    }

    /// The runner's byte-level check agrees with the kernel's rules on every kind of topic.
    @Test func theRunnersTopicCheckAgreesWithTheKernels() {
        let topics = [
            "a", "a.b", "a.b.c", "", ".", "a.", ".a", "a..b", "a.*", "*", ">", "a.>", "a.b*", "a b", "a\tb", "a\u{7f}",
            "café.menü", "a.\u{00a0}", "a.\u{2003}b", "ä.*", "x.y_z-1", "UPPER.case",
        ]
        for topic in topics {
            let agrees = topic.withCString { TopicSyntax.isConcrete($0) } == (TopicSyntax.topicProblem(topic) == nil)
            #expect(agrees, "\(topic.debugDescription)")
        }
    }
}
