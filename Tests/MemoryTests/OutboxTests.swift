import Foundation
import JameyTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Durable item events (the outbox): a real `jamey serve` killed with SIGKILL after a write
/// committed and before its events were published delivers them after the restart.
@Suite struct OutboxTests {
    /// Three single stores, then a batch of five whose commit is followed at once by SIGKILL
    /// (`JAMEY_MEMORY_TEST_CRASH_AFTER_COMMIT=4`: the fourth write with events, before it
    /// publishes), then a restart on the same data and one more store. A subscriber started
    /// before the memory plugin (a C plugin that appends every `memory.events.item.*` event to a
    /// file, which outlives the process) must see a `stored` event for each of the nine items,
    /// first seen in commit order, the batch's before the new item's, with `event_id`s that grow.
    @Test func eventsOfAWriteKilledBeforeItsPublishAreDeliveredAfterTheRestart() async throws {
        let run = try await onThread { () throws -> (before: [String], items: [String], log: String, exit: Int32?) in
            let dir = try TemporaryDirectory.make(prefix: "jamey-memory-outbox")
            let log = dir + "/events.log"
            let recorder = TestKernel.Plugin("recorder", path: try Self.recorder(log: log, in: dir), required: true)
            let config = "sweep_interval_ms: 0\nconsolidation_interval_ms: 0\n"
            let port = try DurabilityTests.freePort()
            let server = try DurabilityTests.serve(
                dir: dir, port: port, memory: config, first: [recorder],
                environment: ["JAMEY_MEMORY_TEST_CRASH_AFTER_COMMIT=4"])
            var before: [String] = []
            for i in 0..<3 {
                let r = try MemoryKernel.send(
                    port: port, method: "POST", path: "/v1/memory/items",
                    body: #"{"content":"\#(Self.words[i]) single \#(i)","layer":"long_term"}"#)
                guard r.0 == 201, let id = (r.1["item"] as? [String: Any])?["id"] as? String else {
                    _ = server.stop(SIGKILL)
                    throw TestError("store \(i) failed: \(r.2)")
                }
                before.append(id)
            }
            // The three events are delivered before the crash, so the one below is all it loses.
            guard TestKernel.eventually(timeout: .seconds(30), { Self.events(log).count >= 3 }) else {
                _ = server.stop(SIGKILL)
                throw TestError("the subscriber did not see the first three events")
            }
            let batch = (0..<5).map { #"{"content":"\#(Self.words[3 + $0]) batch part \#($0)","layer":"long_term"}"# }
            let crashed = try? MemoryKernel.send(
                port: port, method: "POST", path: "/v1/memory/items/batch", body: #"{"items":[\#(batch.joined(separator: ","))]}"#
            )
            #expect(crashed == nil || crashed?.0 == 0, "the batch store was answered: the crash hook did not fire")
            guard server.waitForExit(timeout: .seconds(30)) else {
                _ = server.stop(SIGKILL)
                throw TestError("the server did not die after the batch's commit")
            }
            let exit = server.exitStatus
            let newPort = try DurabilityTests.freePort()
            let restarted = try DurabilityTests.serve(dir: dir, port: newPort, memory: config, first: [recorder])
            defer { _ = restarted.stop(SIGTERM) }
            let after = try MemoryKernel.send(
                port: newPort, method: "POST", path: "/v1/memory/items",
                body: #"{"content":"\#(Self.words[8]) after the restart","layer":"long_term"}"#)
            guard after.0 == 201 else { throw TestError("the restarted server did not store: \(after.2)") }
            let listed = try MemoryKernel.send(port: newPort, method: "GET", path: "/v1/memory/items?limit=100", body: "")
            // Listed newest first; commit order is the reverse.
            let items = ((listed.1["items"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.reversed()
            _ = TestKernel.eventually(timeout: .seconds(30)) {
                Set(
                    Self.events(log).filter { $0["topic"] as? String == "memory.events.item.stored" }.compactMap {
                        $0["id"] as? String
                    }
                ).isSuperset(of: items)
            }
            return (before, Array(items), log, exit)
        }
        #expect(run.exit == 128 + SIGKILL, "the first server ended otherwise than by SIGKILL")
        #expect(run.items.count == 9, "the batch did not commit before the kill, or the store after it is missing")
        #expect(Array(run.items.prefix(3)) == run.before)
        let log = Self.events(run.log)
        let stored = log.filter { $0["topic"] as? String == "memory.events.item.stored" }
        var firstSeen: [String] = []
        for id in stored.compactMap({ $0["id"] as? String }) where !firstSeen.contains(id) { firstSeen.append(id) }
        #expect(firstSeen == run.items, "every committed item's stored event, first seen in commit order")
        // Every event carries its outbox sequence; a redelivery repeats it, so first sightings
        // grow with commit order and each id always comes with the same item.
        let ids = log.compactMap { $0["event_id"] as? Int }
        #expect(ids.count == log.count, "an event without event_id")
        var seenIDs: [Int: String] = [:]
        var firstIDs: [Int] = []
        for event in log {
            guard let eventID = event["event_id"] as? Int, let item = event["id"] as? String else { continue }
            if let known = seenIDs[eventID] {
                #expect(known == item, "event_id \(eventID) names two items")
            } else {
                seenIDs[eventID] = item
                firstIDs.append(eventID)
            }
        }
        #expect(firstIDs == firstIDs.sorted() && Set(firstIDs).count == firstIDs.count)
    }

    /// Distinct words, so no item is a near-duplicate of another (`duplicates: merge`).
    static let words = [
        "amber falcon river", "cobalt meadow lantern", "granite orchard whistle", "velvet harbor compass",
        "saffron glacier puzzle", "timber comet violin", "crimson tundra ladder", "marble cactus thunder",
        "hazel beacon origami",
    ]

    /// The events the recorder appended to `log`, oldest first: each line is the topic, a tab and
    /// the JSON payload; the topic joins the payload's fields as `topic`.
    static func events(_ log: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line -> [String: Any]? in
            let parts = line.split(separator: "\t", maxSplits: 1)
            var object = parts.count == 2 ? MemoryKernel.object(String(parts[1])) : [:]
            guard !object.isEmpty else { return nil }
            object["topic"] = String(parts[0])
            return object
        }
    }

    /// A C plugin that subscribes to `memory.events.item.>` at start and appends each event to
    /// `log` (one `write` of `topic\tpayload\n` per event, O_APPEND: it outlives a SIGKILL).
    static func recorder(log: String, in dir: String) throws -> String {
        var source = CPluginSource(name: "recorder")
        source.extraCode = """
            #include <fcntl.h>
            #include <unistd.h>
            static int32_t on_event(void *u, const jamey_message *m) {
                (void)u;
                size_t topic = strlen(m->topic);
                size_t n = topic + 2 + m->payload_len;
                char *line = malloc(n);
                if (line == NULL) return JAMEY_E_PLUGIN;
                memcpy(line, m->topic, topic);
                line[topic] = '\\t';
                if (m->payload_len > 0) memcpy(line + topic + 1, m->payload, m->payload_len);
                line[n - 1] = '\\n';
                int fd = open(\(Self.cString(log)), O_WRONLY | O_APPEND | O_CREAT, 0644);
                if (fd >= 0) { ssize_t w = write(fd, line, n); (void)w; close(fd); }
                free(line);
                return JAMEY_OK;
            }
            """
        source.startCode = """
            if (api->subscribe(s->host, "memory.events.item.>", NULL, on_event, NULL, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        return try TestPlugins.buildC(name: "recorder", source: source.render(), in: dir)
    }

    private static func cString(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
