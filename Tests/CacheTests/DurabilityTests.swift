import Foundation
import GRDB
import JameyTestKit
import Testing

/// `kill -9` of a real `jamey serve` while clients put and delete keys of a namespace with an L3:
/// after a restart every acknowledged put is read back with its value, and no acknowledged
/// delete is undone (a cache that came back with a value it had been told to drop would serve
/// it stale).
@Suite struct DurabilityTests {
    /// What the clients had acknowledged when the server died.
    struct Log {
        /// Keys put and not deleted since, with their values.
        var live: [String: String] = [:]
        /// Keys whose delete was acknowledged.
        var deleted: Set<String> = []
        /// Keys whose delete was sent and not answered (either outcome is right).
        var unsure: Set<String> = []
        var requests = 0
    }

    @Test func kill9DuringPutsAndDeletesLosesNoPutAndUndoesNoDelete() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-cache-kill")
        let server = try await Self.serve(dir: dir)
        let log = LockedBox(Log())
        let outcome = await server.killDuringWrites(clients: 2, until: { log.withLock { $0.requests } >= 300 }) {
            await Self.write(writer: $0, node: server, log: log)
        }
        #expect(outcome.clean, "\(outcome)")
        // Restarted on the same data (another port: the old one may linger).
        let restarted = try await Self.serve(dir: dir)
        let (live, deleted) = log.withLock { ($0.live, $0.deleted) }
        #expect(live.count >= 150 && deleted.count >= 50)
        var lost: [String] = []
        for (key, value) in live {
            let got = try await restarted.send("GET", "/v1/cache/main/\(key)")
            if got.status != 200 || got.body["value"] as? String != value { lost.append(key) }
        }
        let undone = try await restarted.present(deleted.map { "/v1/cache/main/\($0)" })
        await restarted.stop()
        #expect(lost.isEmpty, "acknowledged puts lost or changed: \(lost.sorted().prefix(10))")
        #expect(undone.isEmpty, "acknowledged deletes undone: \(undone.prefix(10))")
        let check = try await DatabaseQueue(path: dir + "/data/cache/cache.sqlite").read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check")
        }
        #expect(check == ["ok"])
    }

    /// Puts `w<writer>-<n>` for n = 1, 2, … and after every third put deletes the key put just
    /// before it, until a request fails (the server died).
    static func write(writer: Int, node: ServedNode, log: LockedBox<Log>) async {
        var n = 0
        while true {
            n += 1
            let key = "w\(writer)-\(n)"
            let value = "value of \(key) \(n * 7919)"
            guard let put = try? await node.send("PUT", "/v1/cache/main/\(key)", #"{"value":"\#(value)"}"#),
                put.status == 200 || put.status == 201
            else { return }
            log.withLock {
                $0.live[key] = value
                $0.requests += 1
            }
            guard n % 3 == 0 else { continue }
            let victim = "w\(writer)-\(n - 1)"
            log.withLock {
                $0.live[victim] = nil
                $0.unsure.insert(victim)
            }
            guard let gone = try? await node.send("DELETE", "/v1/cache/main/\(victim)"), gone.status == 200 else { return }
            log.withLock {
                $0.unsure.remove(victim)
                $0.deleted.insert(victim)
                $0.requests += 1
            }
        }
    }

    /// `jamey serve` with the cache plugin (namespace `main`: L1 and L3) on the data in `dir`.
    static func serve(dir: String) async throws -> ServedNode {
        let cache = TestKernel.Plugin(
            "cache", path: try TestPlugins.library("Cache"), required: true,
            config: "namespaces:\n  - {name: main, max_bytes: 1048576, l3_max_bytes: 16777216, max_value_bytes: 65536}\n")
        return try await ServedNode.start(plugins: [cache], directory: dir, port: try ServedNode.freePort())
    }
}
