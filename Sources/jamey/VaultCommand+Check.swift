import ArgumentParser
import Foundation
import VaultCore
import VaultSQLite

extension VaultCommand {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Decrypt and check every pack, chunk and manifest; restore the latest snapshots into a temporary directory and run PRAGMA integrity_check on each database.",
            discussion:
                "Exit status 0 when nothing is wrong; 1 with one line per problem, each named (pack-altered, chunk-missing, snapshot-deleted, rolled-back, ...)."
        )

        @OptionGroup var repository: VaultRepositoryOption
        @OptionGroup var identity: VaultIdentityOption
        @OptionGroup var nodeKey: VaultNodeKeyOption
        @Option(name: .long, help: "Check only packs in part k of n (e.g. 2/7), to spread the work over runs.") var subset:
            String?
        @Flag(help: "Skip packs an interrupted run of the same subset already checked.") var resume = false
        @Flag(name: .long, help: "Do not restore into a temporary directory.") var noRestore = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            var ok = true
            try vaultRun {
                let repo = try repository.open()
                var options = VerifyOptions()
                options.subset = try subset.map(VerifyOptions.parseSubset)
                options.restore = !noRestore
                options.databaseCheck = SQLiteTools.check
                options.imageCheck = SQLiteTools.checkImage
                var expected: Data?
                if nodeKey.nodeKey != nil || ProcessInfo.processInfo.environment["JAMEY_VAULT_NODE_KEY"] != nil {
                    let keyURL = try nodeKey.url()
                    options.head = try ChainHead.read(ChainHead.url(forKey: keyURL))
                    let key = try NodeKey.read(keyURL)
                    options.node = key.node
                    expected = key.chunkKey
                }
                let reader = try RepositoryReader(repository: repo, identities: try identity.read() ?? [], chunkKey: expected)
                if resume {
                    let name = "verify-progress-\(repo.config.id)-\((subset ?? "all").replacingOccurrences(of: "/", with: "of"))"
                    options.progress = FileManager.default.temporaryDirectory.appendingPathComponent(name)
                }
                let report = reader.verify(options)
                ok = report.ok
                if json { return try printJSON(report) }
                print(
                    "verified \(report.snapshots) snapshots, \(report.packsChecked) packs (\(report.packsSkipped) skipped), "
                        + "\(report.chunksChecked) chunks, \(report.bytesChecked) bytes; restored \(report.filesRestored) files, "
                        + "\(report.databasesChecked) databases passed integrity_check; "
                        + String(format: "%.2f s", report.seconds))
                for problem in report.problems { print("problem: \(problem)") }
                print(report.ok ? "ok" : "FAILED: \(report.problems.count) problem(s)")
            }
            if !ok { throw ExitCode(1) }
        }
    }

    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Remove this node's snapshots by retention rules (restic's forget semantics); --all-nodes: every node's, each by its own; --dry-run lists what would go and why."
        )

        @OptionGroup var repository: VaultRepositoryOption
        @OptionGroup var nodeKey: VaultNodeKeyOption
        @Option(name: .long) var keepLast = 0
        @Option(name: .long) var keepHourly = 0
        @Option(name: .long) var keepDaily = 0
        @Option(name: .long) var keepWeekly = 0
        @Option(name: .long) var keepMonthly = 0
        @Option(name: .long) var keepYearly = 0
        @Option(name: .long, help: "Keep everything within this of the newest snapshot, e.g. 1y2m3d4h.") var keepWithin: String?
        @Flag(help: "List decisions; remove nothing.") var dryRun = false
        @Flag(help: "Apply the rules to every node's snapshots (each node's chain on its own), not only this node's.")
        var allNodes = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try vaultRun {
                var policy = RetentionPolicy()
                (policy.keepLast, policy.keepHourly, policy.keepDaily) = (keepLast, keepHourly, keepDaily)
                (policy.keepWeekly, policy.keepMonthly, policy.keepYearly) = (keepWeekly, keepMonthly, keepYearly)
                policy.keepWithin = keepWithin
                let report = try repository.open().maintenance(nodeKey)
                    .forget(policy: policy, dryRun: dryRun, allNodes: allNodes)
                if json { return try printJSON(report) }
                let formatter = ISO8601DateFormatter()
                for (node, decisions) in report.decisions.sorted(by: { $0.key < $1.key }) {
                    print("node \(node):")
                    for d in decisions {
                        print(
                            "  \(d.keep ? "keep  " : "remove") \(d.id.prefix(12)) \(formatter.string(from: d.time))  \(d.reasons.joined(separator: ", "))"
                        )
                    }
                }
                print(dryRun ? "dry run: nothing removed" : "removed \(report.removed) snapshot(s); run prune to free space")
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Free packs no snapshot needs; with --identity also rewrite mostly-unused packs. Safe to interrupt.")

        @OptionGroup var repository: VaultRepositoryOption
        @OptionGroup var nodeKey: VaultNodeKeyOption
        @OptionGroup var identity: VaultIdentityOption
        @Flag(help: "Report; change nothing.") var dryRun = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try vaultRun {
                let report = try repository.open().maintenance(nodeKey)
                    .prune(dryRun: dryRun, identities: try identity.read(required: false))
                if json { return try printJSON(report) }
                print(
                    "\(dryRun ? "would free" : "freed") \(report.bytesFreed) bytes: \(report.packsDeleted) packs deleted, "
                        + "\(report.packsRepacked) rewritten, \(report.chunksRemoved) chunks, \(report.leftoversRemoved) leftovers"
                        + (report.packsKept > 0
                            ? "; \(report.packsKept) packs kept: their index could not be read or authenticated (run verify)"
                            : "")
                )
            }
        }
    }
}
