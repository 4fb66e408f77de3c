import Foundation
import GRDB
import JameyTestKit
import Testing

/// `kill -9` of a real `jamey serve` while clients create, reweigh and delete rules: after a
/// restart every acknowledged rule has the weight of its last reply and no acknowledged delete
/// is undone.
@Suite struct DurabilityTests {
    @Test func kill9DuringRuleWritesLosesNothingAcknowledged() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-conscience-kill")
        let trial = try await ServedNode.killNineTrial(
            start: { try await Self.serve(dir: dir) }, path: { "/v1/conscience/rules/\($0)" },
            matches: { $0["weight"] as? Double == $1 }, write: Self.write)
        #expect(trial.outcome.clean, "\(trial.outcome)")
        #expect(trial.written >= 80 && trial.deleted >= 40)
        #expect(trial.lost.isEmpty, "acknowledged writes lost or changed: \(trial.lost.prefix(10))")
        #expect(trial.undone.isEmpty, "acknowledged deletes undone: \(trial.undone.prefix(10))")
        let check = try await DatabaseQueue(path: dir + "/data/conscience/conscience.sqlite").read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check")
        }
        #expect(check == ["ok"])
    }

    /// For n = 1, 2, …: creates rule `r<writer>-<n>`, sets a new weight every second n, and
    /// deletes the rule of n − 1 every third n, until a request fails (the server died).
    @Sendable static func write(writer: Int, node: ServedNode, log: LockedBox<AcknowledgedWrites<Double>>) async {
        var n = 0
        while true {
            n += 1
            let name = "r\(writer)-\(n)"
            let rule = #"{"name":"\#(name)","description":"rule \#(n)","keywords":["w\#(n)"],"weight":1,"polarity":"virtue"}"#
            guard let created = try? await node.send("POST", "/v1/conscience/rules", rule), created.status == 201 else {
                return
            }
            log.withLock {
                $0.live[name] = created.body["weight"] as? Double
                $0.requests += 1
            }
            if n % 2 == 0 {
                let weight = Double(n % 9 + 2)
                guard
                    let put = try? await node.send("PUT", "/v1/conscience/rules/\(name)", #"{"weight":\#(weight)}"#),
                    put.status == 200
                else {
                    // Sent and not answered: either weight is right.
                    log.withLock { $0.live[name] = nil }
                    return
                }
                log.withLock {
                    $0.live[name] = put.body["weight"] as? Double
                    $0.requests += 1
                }
            }
            guard n % 3 == 0 else { continue }
            let victim = "r\(writer)-\(n - 1)"
            log.withLock { $0.live[victim] = nil }
            guard let gone = try? await node.send("DELETE", "/v1/conscience/rules/\(victim)"), gone.status == 204 else {
                return
            }
            log.withLock {
                $0.deleted.insert(victim)
                $0.requests += 1
            }
        }
    }

    /// `jamey serve` with the conscience plugin (not recording into memory) on the data in `dir`.
    static func serve(dir: String) async throws -> ServedNode {
        let conscience = TestKernel.Plugin(
            "conscience", path: try TestPlugins.library("Conscience"), required: true, config: "memory:\n  record: false\n")
        return try await ServedNode.start(plugins: [conscience], directory: dir, port: try ServedNode.freePort())
    }
}
