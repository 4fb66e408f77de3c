import ArgumentParser
import Foundation
import JameyKernel
import VaultCore

extension VaultCommand {
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back up the data directory (stop `jamey serve` first) or named sources into the repository.",
            discussion: """
                Without --source, backs up --data-dir as the source `data`. A repository inside the data \
                directory is left out. For backups while the server runs, enable the vault plugin.
                """)

        @OptionGroup var repository: VaultRepositoryOption
        @OptionGroup var nodeKey: VaultNodeKeyOption
        @Option(name: .long, help: "The data directory to back up as source `data`.") var dataDir: String = "data"
        @Option(name: .long, help: "NAME=PATH: back up PATH as source NAME (repeatable; replaces --data-dir).")
        var source: [String] = []
        @Option(name: .long, help: "A tag to attach (repeatable).") var tag: [String] = []
        @Option(name: .long, help: "Record this time instead of now (seconds since 1970; for tests and imports).")
        var time: Double?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try vaultRun {
                let repo = try repository.open()
                let keyURL = try nodeKey.url()
                let sources = try parsedSources(excluding: repo.layout.root)
                // Files are copied as they are: a running server's databases would be copied
                // apart from their WAL, a snapshot that may restore corrupt or stale.
                for source in sources {
                    if let pid = DataDirectoryLock.holder(of: source.url.path) {
                        throw VaultError(
                            .badInput,
                            "\(source.url.path) is the data directory of a running jamey serve (pid \(pid)): stop it first, or back up through it (the vault plugin, POST /v1/vault/backup)"
                        )
                    }
                }
                let writer = try BackupWriter(
                    repository: repo, key: try NodeKey.read(keyURL, settlingRotationIn: repo),
                    headURL: ChainHead.url(forKey: keyURL))
                let result = try writer.run(
                    sources: sources, time: time.map { Date(timeIntervalSince1970: $0) } ?? Date(), tags: tag)
                if json { return try printJSON(result) }
                print(
                    "snapshot \(result.snapshot.prefix(12)) (#\(result.seq)): \(result.fileCount) files, \(result.totalBytes) bytes; "
                        + "added \(result.bytesAdded) bytes in \(result.chunksNew) chunks, \(result.chunksDeduplicated) deduplicated; "
                        + String(format: "%.2f s", result.seconds))
            }
        }

        func parsedSources(excluding repository: URL) throws -> [BackupSource] {
            if source.isEmpty {
                return [BackupSource(name: "data", url: URL(fileURLWithPath: dataDir), exclude: [repository])]
            }
            return try source.map { text in
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    throw VaultError(.badInput, "--source: '\(text)' must be NAME=PATH")
                }
                return BackupSource(
                    name: String(text[..<equals]), url: URL(fileURLWithPath: String(text[text.index(after: equals)...])),
                    exclude: [repository])
            }
        }
    }

    struct Snapshots: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the snapshots (with the node key or the identity, to check who signed each).")

        @OptionGroup var repository: VaultRepositoryOption
        @OptionGroup var nodeKey: VaultNodeKeyOption
        @OptionGroup var identity: VaultIdentityOption
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try vaultRun {
                let repo = try repository.open()
                let catalog = SnapshotCatalog(repository: repo, chunkKey: try nodeKey.chunkKey(repo, or: identity))
                if json { return try printJSON(catalog.snapshots.map(SnapshotSummary.init)) }
                let formatter = ISO8601DateFormatter()
                let rows =
                    [["ID", "TIME", "NODE", "SEQ", "SOURCES", "FILES", "BYTES", "ADDED"]]
                    + catalog.snapshots.map { s in
                        let h = s.header
                        return [
                            String(s.id.prefix(12)), formatter.string(from: h.time), h.node, String(h.seq),
                            h.sources.joined(separator: ","), String(h.fileCount), String(h.totalBytes), String(h.bytesAdded),
                        ]
                    }
                print(Table.render(rows))
                for problem in catalog.problems { print("problem: \(problem)") }
            }
        }
    }
}
