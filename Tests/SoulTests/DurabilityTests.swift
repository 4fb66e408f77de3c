import Foundation
import GRDB
import JameyTestKit
import Testing

/// `kill -9` of a real `jamey serve` while clients upsert entities, record emotions and delete
/// entities: after a restart every acknowledged entity has the trust and emotions its last
/// acknowledged reply showed, and no acknowledged delete is undone.
@Suite struct DurabilityTests {
    /// An entity's trust and emotions, as a reply showed them.
    typealias Seen = (trust: Double, emotions: [String: Int])

    @Test func kill9DuringWritesLosesNothingAcknowledged() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-soul-kill")
        let trial = try await ServedNode.killNineTrial(
            start: { try await Self.serve(dir: dir) }, path: { "/v1/soul/entities/\($0)" },
            matches: { (body: [String: Any], seen: Seen) in
                abs((body["trust"] as? Double ?? -1) - seen.trust) <= 1e-9
                    && body["emotions"] as? [String: Int] ?? [:] == seen.emotions
            }, write: Self.write)
        #expect(trial.outcome.clean, "\(trial.outcome)")
        #expect(trial.written >= 80 && trial.deleted >= 40)
        #expect(trial.lost.isEmpty, "acknowledged writes lost or changed: \(trial.lost.prefix(10))")
        #expect(trial.undone.isEmpty, "acknowledged deletes undone: \(trial.undone.prefix(10))")
        let check = try await DatabaseQueue(path: dir + "/data/soul/soul.sqlite").read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check")
        }
        #expect(check == ["ok"])
    }

    /// For n = 1, 2, …: upserts `e<writer>-<n>` with a trust, records `joy` for it every second
    /// n, and deletes the entity of n − 1 every third n, until a request fails (the server died).
    @Sendable static func write(writer: Int, node: ServedNode, log: LockedBox<AcknowledgedWrites<Seen>>) async {
        var n = 0
        while true {
            n += 1
            let name = "e\(writer)-\(n)"
            let trust = Double(n % 90) / 100
            guard let put = try? await node.send("PUT", "/v1/soul/entities/\(name)", #"{"trust":\#(trust)}"#),
                put.status == 200 || put.status == 201, let stored = put.body["trust"] as? Double
            else { return }
            log.withLock {
                $0.live[name] = (stored, put.body["emotions"] as? [String: Int] ?? [:])
                $0.requests += 1
            }
            if n % 2 == 0 {
                guard
                    let felt = try? await node.send(
                        "POST", "/v1/soul/entities/\(name)/emotions", #"{"emotion":"joy"}"#),
                    felt.status == 200, let entity = felt.body["entity"] as? [String: Any],
                    let after = entity["trust"] as? Double
                else {
                    // Sent and not answered: either outcome is right.
                    log.withLock { $0.live[name] = nil }
                    return
                }
                log.withLock {
                    $0.live[name] = (after, entity["emotions"] as? [String: Int] ?? [:])
                    $0.requests += 1
                }
            }
            guard n % 3 == 0 else { continue }
            let victim = "e\(writer)-\(n - 1)"
            log.withLock { $0.live[victim] = nil }
            guard let gone = try? await node.send("DELETE", "/v1/soul/entities/\(victim)"), gone.status == 204 else {
                return
            }
            log.withLock {
                $0.deleted.insert(victim)
                $0.requests += 1
            }
        }
    }

    /// `jamey serve` with the soul plugin on the data in `dir`.
    static func serve(dir: String) async throws -> ServedNode {
        let soul = TestKernel.Plugin("soul", path: try TestPlugins.library("Soul"), required: true)
        return try await ServedNode.start(plugins: [soul], directory: dir, port: try ServedNode.freePort())
    }
}
