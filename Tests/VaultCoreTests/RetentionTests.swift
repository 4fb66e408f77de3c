import Foundation
import JameyTestKit
import Testing

@testable import VaultCore

extension VaultSerial {
    /// Our retention keeps the same snapshots as Debian's restic `forget --dry-run` on the same times.
    @Suite struct RetentionTests {
        /// Irregular snapshot times over about two years: gaps from 20 minutes to 40 days.
        static let times: [Date] = {
            var times: [Date] = []
            var time = 1_672_531_200.0  // 2023-01-01T00:00:00Z
            var state: UInt64 = 42
            let gaps: [Double] = [1200, 3600, 5400, 86_400, 2 * 86_400, 7 * 86_400, 40 * 86_400, 4 * 3600, 600, 30 * 86_400]
            for _ in 0..<48 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let gap: Double = gaps[Int(state >> 33) % gaps.count]
                let jitter = Double(Int(state >> 20) % 1800)
                time += gap + jitter
                times.append(Date(timeIntervalSince1970: time.rounded()))
            }
            return times
        }()

        static let policies: [(flags: [String], policy: RetentionPolicy)] = {
            func make(_ body: (inout RetentionPolicy) -> Void) -> RetentionPolicy {
                var policy = RetentionPolicy()
                body(&policy)
                return policy
            }
            return [
                (["--keep-last", "5"], make { $0.keepLast = 5 }),
                (["--keep-hourly", "10"], make { $0.keepHourly = 10 }),
                (
                    ["--keep-daily", "7", "--keep-weekly", "5"],
                    make {
                        $0.keepDaily = 7; $0.keepWeekly = 5
                    }
                ),
                (
                    ["--keep-monthly", "12", "--keep-yearly", "3"],
                    make {
                        $0.keepMonthly = 12; $0.keepYearly = 3
                    }
                ),
                (
                    ["--keep-last", "2", "--keep-daily", "3", "--keep-weekly", "2", "--keep-monthly", "4", "--keep-yearly", "1"],
                    make {
                        $0.keepLast = 2; $0.keepDaily = 3; $0.keepWeekly = 2; $0.keepMonthly = 4; $0.keepYearly = 1
                    }
                ),
                (["--keep-within", "2m10d"], make { $0.keepWithin = "2m10d" }),
                (
                    ["--keep-within", "1y", "--keep-monthly", "30"],
                    make {
                        $0.keepWithin = "1y"; $0.keepMonthly = 30
                    }
                ),
            ]
        }()

        @Test func keepsTheSameSnapshotsAsRestic() async throws {
            let dir = try TemporaryDirectory.make(prefix: "jamey-restic")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let repo = dir + "/repo"
            let source = dir + "/src"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: source + "/file"))
            let env = ["RESTIC_PASSWORD": "test", "RESTIC_REPOSITORY": repo, "TZ": "UTC", "HOME": dir, "PATH": "/usr/bin:/bin"]
            let initResult = try await run("/usr/bin/restic", ["init"], environment: env)
            try #require(initResult.status == 0, "\(initResult.output)")
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
            for time in Self.times {
                let result = try await run(
                    "/usr/bin/restic", ["backup", "--quiet", "--host", "h", "--time", formatter.string(from: time), source],
                    environment: env)
                try #require(result.status == 0, "\(result.output)")
            }
            let ours = Self.times.enumerated().map { (id: "s\($0.offset)", time: $0.element) }
            for (flags, policy) in Self.policies {
                let result = try await run("/usr/bin/restic", ["forget", "--dry-run", "--json"] + flags, environment: env)
                try #require(result.status == 0, "\(result.output)")
                let kept = try await Self.keptTimes(result.stdout)
                let decisions = try policy.apply(ours)
                let oursKept = Set(decisions.filter(\.keep).map { Int($0.time.timeIntervalSince1970) })
                #expect(oursKept == kept, "policy \(flags): restic keeps \(kept.count), we keep \(oursKept.count)")
                #expect(decisions.filter { !$0.keep }.allSatisfy { $0.reasons == ["matches no keep rule"] })
            }
        }

        /// The kept snapshot times (seconds) from `restic forget --json`.
        static func keptTimes(_ json: String) async throws -> Set<Int> {
            let line = json.split(separator: "\n").first { $0.hasPrefix("[") } ?? ""
            guard let groups = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [[String: Any]] else { return [] }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let plain = ISO8601DateFormatter()
            var kept = Set<Int>()
            for group in groups {
                for snapshot in group["keep"] as? [[String: Any]] ?? [] {
                    let text = snapshot["time"] as? String ?? ""
                    if let date = formatter.date(from: text) ?? plain.date(from: text) {
                        kept.insert(Int(date.timeIntervalSince1970.rounded()))
                    }
                }
            }
            return kept
        }

        /// Each source is kept by the policy on its own: a day of backups that missed plugin b
        /// (stopped, failing) keeps the day before's complete one for b's sake.
        @Test func aBackupThatMissedASourceDoesNotTakeItsPlace() throws {
            var policy = RetentionPolicy()
            policy.keepDaily = 1
            let day = 86_400.0
            let decisions = try policy.apply(bySource: [
                (id: "complete", time: Date(timeIntervalSince1970: day), sources: ["a", "b"]),
                (id: "partial-1", time: Date(timeIntervalSince1970: 2 * day), sources: ["a"]),
                (id: "partial-2", time: Date(timeIntervalSince1970: 2 * day + 3600), sources: ["a"]),
            ])
            let kept = Dictionary(uniqueKeysWithValues: decisions.map { ($0.id, $0) })
            #expect(kept["complete"]?.keep == true)
            #expect(kept["complete"]?.reasons == ["daily snapshot of b"])
            #expect(kept["partial-2"]?.keep == true)
            #expect(kept["partial-1"]?.keep == false)
            // One source: the same decisions and reasons as the policy over the list.
            let single = try policy.apply(bySource: [
                (id: "x", time: Date(timeIntervalSince1970: day), sources: ["data"]),
                (id: "y", time: Date(timeIntervalSince1970: day + 60), sources: ["data"]),
            ])
            let plain = try policy.apply([
                (id: "x", time: Date(timeIntervalSince1970: day)), (id: "y", time: Date(timeIntervalSince1970: day + 60)),
            ])
            #expect(single == plain)
        }

        @Test func aPolicyWithNoRuleKeepsEverything() throws {
            let decisions = try RetentionPolicy().apply([
                (id: "a", time: Date()), (id: "b", time: Date(timeIntervalSinceNow: -10)),
            ])
            #expect(decisions.allSatisfy { $0.keep })
        }

        @Test func aBadKeepWithinNamesTheField() throws {
            var policy = RetentionPolicy()
            policy.keepWithin = "3w"
            let error = #expect(throws: VaultError.self) { try policy.apply([(id: "a", time: Date())]) }
            #expect(error?.message.contains("keep_within") == true)
            #expect(throws: VaultError.self, "checked without snapshots too") { try policy.check() }
        }

        /// `keep_within` and `verify`'s subset take exactly what the API schema's patterns allow:
        /// ASCII digits, at most 9 in a run, no sign or leading zero in a subset (schemathesis:
        /// a schema allowed `0/0`; `Int` and `Character.isNumber` took `+1` and `٣`).
        @Test func keepWithinAndSubsetsTakeWhatTheirPatternsAllow() throws {
            for good in ["", "1y", "2m10d", "999999999h", "1y2m3d4h"] {
                var policy = RetentionPolicy()
                policy.keepWithin = good
                #expect(throws: Never.self, "\(good)") { try policy.apply([(id: "a", time: Date())]) }
            }
            for bad in ["٣d", "1000000000d", "d", "1", "1w", "+1d", " 1d"] {
                var policy = RetentionPolicy()
                policy.keepWithin = bad
                #expect(throws: VaultError.self, "\(bad)") { try policy.apply([(id: "a", time: Date())]) }
            }
            #expect(try VerifyOptions.parseSubset("1/4") == (1, 4))
            #expect(try VerifyOptions.parseSubset("999999999/999999999") == (999_999_999, 999_999_999))
            for bad in ["0/0", "0/4", "5/4", "01/4", "+1/4", "1/", "/4", "1/4/5", "١/4", "1000000000/1000000000", "1 /4"] {
                #expect(throws: VaultError.self, "\(bad)") { try VerifyOptions.parseSubset(bad) }
            }
        }

        @Test func forgetRemovesWhatThePolicyDropsAndPruneFreesIt() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            for day in 0..<5 {
                try f.write("day", Fixture.random(200_000))
                _ = try await f.backup(time: Date(timeIntervalSince1970: 1_700_000_000 + Double(day) * 86_400))
            }
            var policy = RetentionPolicy()
            policy.keepLast = 2
            let maintenance = Maintenance(repository: try f.repository, key: f.key)
            let dry = try maintenance.forget(policy: policy, dryRun: true)
            #expect(dry.removed == 0)
            #expect(dry.decisions["alpha"]?.filter { !$0.keep }.count == 3)
            #expect(SnapshotCatalog(repository: try f.repository, chunkKey: f.key.chunkKey).snapshots.count == 5)
            let real = try maintenance.forget(policy: policy, dryRun: false)
            #expect(real.removed == 3)
            let prune = try maintenance.prune(dryRun: false)
            #expect(prune.packsDeleted == 3)
            #expect(prune.bytesFreed > 500_000)
            #expect(try await f.verify().problems == [])
        }

        @Test func pruneWithTheIdentityRewritesMostlyUnusedPacks() async throws {
            let f = try Fixture()
            defer { f.destroy() }
            let keep = Fixture.random(100_000)
            try f.write("keep", keep)
            try f.write("drop", Fixture.random(900_000))
            _ = try await f.backup(time: Date(timeIntervalSince1970: 1_700_000_000))
            try FileManager.default.removeItem(at: f.data.appendingPathComponent("drop"))
            _ = try await f.backup(time: Date(timeIntervalSince1970: 1_700_086_400))
            var policy = RetentionPolicy()
            policy.keepLast = 1
            let maintenance = Maintenance(repository: try f.repository, key: f.key)
            _ = try maintenance.forget(policy: policy, dryRun: false)
            #expect(try maintenance.prune(dryRun: false).packsRepacked == 0)
            let report = try maintenance.prune(dryRun: false, identities: [f.identity])
            #expect(report.packsRepacked == 1)
            #expect(report.bytesFreed > 800_000)
            #expect(try await f.verify().problems == [])
        }
    }
}
