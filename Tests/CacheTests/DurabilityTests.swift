import Foundation
import GRDB
import JameyTestKit
import Testing

/// `kill -9` of a real `jamey serve` while clients put and delete keys of a namespace with an L3:
/// after a restart every acknowledged put is read back with its value, and no acknowledged
/// delete is undone (a cache that came back with a value it had been told to drop would serve
/// it stale).
@Suite struct DurabilityTests {
    @Test func kill9DuringPutsAndDeletesLosesNoPutAndUndoesNoDelete() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-cache-kill")
        let trial = try await ServedNode.killNineTrial(
            start: { try await Self.serve(dir: dir) }, path: { "/v1/cache/main/\($0)" },
            matches: { $0["value"] as? String == $1 }, write: Self.write)
        #expect(trial.outcome.clean, "\(trial.outcome)")
        #expect(trial.written >= 150 && trial.deleted >= 50)
        #expect(trial.lost.isEmpty, "acknowledged puts lost or changed: \(trial.lost.prefix(10))")
        #expect(trial.undone.isEmpty, "acknowledged deletes undone: \(trial.undone.prefix(10))")
        let check = try await DatabaseQueue(path: dir + "/data/cache/cache.sqlite").read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check")
        }
        #expect(check == ["ok"])
    }

    /// Puts `w<writer>-<n>` for n = 1, 2, … and after every third put deletes the key put just
    /// before it, until a request fails (the server died).
    @Sendable static func write(writer: Int, node: ServedNode, log: LockedBox<AcknowledgedWrites<String>>) async {
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
            log.withLock { $0.live[victim] = nil }
            guard let gone = try? await node.send("DELETE", "/v1/cache/main/\(victim)"), gone.status == 200 else { return }
            log.withLock {
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
