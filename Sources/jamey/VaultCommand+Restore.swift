import ArgumentParser
import Foundation
import JameyKernel
import VaultCore

extension VaultCommand {
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Restore a snapshot (disaster recovery: only the repository and the identity are needed). Run before `jamey serve`.",
            discussion: """
                A snapshot of the data directory (source `data`) is restored to --target itself; a snapshot \
                of plugins goes to <target>/<plugin> for each (or only --source). The data is written and \
                checked beside the target, then switched in by rename; what was there is kept as \
                <target>.before-restore-<time>. An interrupted restore changes nothing and can be rerun.
                """)

        @OptionGroup var repository: VaultRepositoryOption
        @OptionGroup var identity: VaultIdentityOption
        @Option(name: .long, help: "Snapshot id, unique prefix, or latest.") var snapshot = "latest"
        @Option(name: .long, help: "With latest: the newest snapshot of this node.") var node: String?
        @Option(name: .long, help: "Restore only this source (a plugin name, or data).") var source: String?
        @Option(name: .long, help: "Where the data goes (the data directory).") var target: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try vaultRun {
                // Restoring renames the data directory aside under a running server (its lock
                // file with it, so a second server could then start there).
                if let pid = DataDirectoryLock.holder(of: URL(fileURLWithPath: target).path) {
                    throw VaultError(
                        .badInput,
                        "--target \(target) is the data directory of a running jamey serve (pid \(pid)): stop it first, or restore through it (POST /v1/vault/restore)"
                    )
                }
                let repo = try repository.open()
                let reader = try RepositoryReader(repository: repo, identities: try identity.read() ?? [])
                let chosen = try reader.catalog.find(snapshot, node: node)
                let root = URL(fileURLWithPath: target)
                let sources = source.map { [$0] } ?? chosen.header.sources
                var results: [RestoreResult] = []
                for name in sources {
                    // A snapshot of a whole data directory (its one source `data`) goes to the
                    // target itself, whether or not --source names it.
                    let whole = name == "data" && chosen.header.sources == ["data"]
                    let destination = whole ? root : root.appendingPathComponent(name)
                    results.append(try reader.restore(chosen, source: name, to: destination))
                }
                if json { return try printJSON(results) }
                for result in results {
                    print(
                        "restored \(result.source) of \(result.snapshot.prefix(12)) to \(result.target): \(result.bytes) bytes, "
                            + String(format: "%.2f s", result.seconds))
                    if let previous = result.previous { print("  the previous content is kept in \(previous)") }
                }
            }
        }
    }
}
