import Foundation

/// What `verify` checks and how much of it.
public struct VerifyOptions: Sendable {
    /// Check only packs in part `k` of `n` (1-based), to spread the work over several runs.
    public var subset: (k: Int, n: Int)?
    /// Where finished packs are recorded so an interrupted run resumes (nil: no resume).
    public var progress: URL?
    /// Restore the latest snapshot of each node into a temporary directory and check it.
    public var restore = true
    /// Runs `PRAGMA integrity_check` on a restored database; returns nil when it is ok, else the report.
    public var databaseCheck: (@Sendable (URL) -> String?)?
    /// The same check on a database image in memory (which it may change: the image is a scratch
    /// copy). With it, verify restores a snapshot's files into memory (up to `memoryLimit` bytes
    /// per source) instead of a scratch directory.
    public var imageCheck: (@Sendable (UnsafeMutableRawBufferPointer) -> String?)?
    /// The most bytes of one source verify restores into memory; larger sources go to `scratch`.
    public var memoryLimit = 2 << 30
    /// This node's chain head and name, to detect a rollback.
    public var head: ChainHead?
    /// The node `head` belongs to.
    public var node: String?
    /// Where temporary restores go (default: the system's temporary directory).
    public var scratch: URL?

    public init() {}

    /// Parses `k/n`: two whole numbers of 1 to 9 ASCII digits without a sign or a leading zero
    /// (the API schema's pattern), with 1 ≤ k ≤ n; the error names the option.
    public static func parseSubset(_ text: String) throws -> (k: Int, n: Int) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        func number(_ part: Substring) -> Int? {
            guard (1...9).contains(part.utf8.count), part.utf8.first != UInt8(ascii: "0"),
                part.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { return nil }
            return Int(part)
        }
        guard parts.count == 2, let k = number(parts[0]), let n = number(parts[1]), (1...n).contains(k) else {
            throw VaultError(.badInput, "subset: '\(text)' must be k/n with 1 ≤ k ≤ n, e.g. 1/4")
        }
        return (k, n)
    }
}

/// What `verify` found.
public struct VerifyReport: Codable, Sendable {
    /// Snapshots read (signatures and chains checked).
    public var snapshots = 0
    /// Packs decrypted and checked in this run.
    public var packsChecked = 0
    /// Packs skipped: outside the subset, or already done in an interrupted run.
    public var packsSkipped = 0
    /// Encrypted bytes read.
    public var bytesChecked = 0
    /// Chunks whose address was recomputed.
    public var chunksChecked = 0
    /// Files restored into the scratch directory and hashed.
    public var filesRestored = 0
    /// Databases that passed `PRAGMA integrity_check`.
    public var databasesChecked = 0
    /// Seconds taken.
    public var seconds = 0.0
    /// Everything wrong, named.
    public var problems: [VaultProblem] = []

    /// True when nothing is wrong.
    public var ok: Bool { problems.isEmpty }
}

extension RepositoryReader {
    /// The packs a progress file lists, when it is a regular file of this user's (the file lies
    /// in a shared temporary directory: one another user planted would make verify skip packs).
    static func readProgress(_ url: URL) -> [String]? {
        var info = stat()
        guard lstat(url.path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid() else { return nil }
        return (try? String(contentsOf: url, encoding: .utf8))?.split(separator: "\n").map(String.init)
    }

    /// Checks the repository: every manifest's signature and chain, every index's MAC, that every
    /// referenced chunk is stored, every pack (or the subset) decrypts and every chunk matches its
    /// address; then restores the latest snapshot of each node into a scratch directory, compares
    /// every file's hash and runs the database check on each SQLite file.
    public func verify(_ options: VerifyOptions) -> VerifyReport {
        let started = Date()
        var report = VerifyReport()
        let catalog = SnapshotCatalog(repository: repository, chunkKey: chunkKey, head: options.head, node: options.node)
        report.snapshots = catalog.snapshots.count
        report.problems += catalog.problems + index.problems
        let stored = Set(index.locations.keys.map(ChunkPrefix.init))
        for snapshot in catalog.snapshots {
            let missing = snapshot.references.subtracting(stored).count
            if missing > 0 {
                report.problems.append(
                    VaultProblem(
                        .chunkMissing, subject: snapshot.id,
                        "snapshot \(snapshot.id.prefix(12)): \(missing) chunk(s) it needs are in no pack"))
            }
        }
        var whole = PackCheck()
        if options.restore { restoreCheck(catalog, options, &report, &whole) }
        var done = Set(options.progress.flatMap(Self.readProgress) ?? [])
        for pack in index.packs.keys.sorted() {
            if let subset = options.subset, Self.bucket(pack, of: subset.n) != subset.k - 1 {
                report.packsSkipped += 1
                continue
            }
            if done.contains(pack) {
                report.packsSkipped += 1
                continue
            }
            if whole.packs.contains(pack) {
                report.packsChecked += 1
                continue
            }
            do {
                let plain = try self.pack(pack)
                report.bytesChecked +=
                    (try? FileManager.default.attributesOfItem(atPath: repository.layout.pack(pack).path)[.size] as? Int) ?? 0
                for id in index.packs[pack] ?? [] {
                    guard let location = index.locations[id], location.pack == pack else { continue }
                    let range = plain.startIndex + location.offset..<plain.startIndex + location.offset + location.length
                    report.chunksChecked += 1
                    if range.upperBound > plain.endIndex || hasher.id(plain[range]) != id {
                        report.problems.append(
                            VaultProblem(
                                .chunkMismatch, subject: pack,
                                "pack \(pack.prefix(12)): chunk \(id.description.prefix(12)) does not match its address"))
                    }
                }
                report.packsChecked += 1
                done.insert(pack)
                if let progress = options.progress {
                    try? done.sorted().joined(separator: "\n").write(to: progress, atomically: true, encoding: .utf8)
                }
            } catch let problem as VaultProblem {
                if !report.problems.contains(problem) { report.problems.append(problem) }
            } catch {
                report.problems.append(VaultProblem(.packAltered, subject: pack, "pack \(pack.prefix(12)): \(error)"))
            }
        }
        // Every pack of the run's selection checked, now or by the runs it resumed: the next run
        // starts over. (Packs outside a subset count as skipped: a subset's progress once kept
        // for that reason made every later run of it skip everything and say ok.)
        if let progress = options.progress, report.packsChecked + report.packsSkipped == index.packs.count {
            try? FileManager.default.removeItem(at: progress)
        }
        report.chunksChecked += whole.chunks
        report.bytesChecked += whole.bytes
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    static func bucket(_ pack: String, of n: Int) -> Int {
        Int(UInt64(pack.prefix(8), radix: 16) ?? 0) % n
    }

    private func restoreCheck(
        _ catalog: SnapshotCatalog, _ options: VerifyOptions, _ report: inout VerifyReport, _ whole: inout PackCheck
    ) {
        var latest: [String: SnapshotManifest] = [:]
        for snapshot in catalog.snapshots { latest[snapshot.header.node] = snapshot }
        let base = options.scratch ?? FileManager.default.temporaryDirectory
        for node in latest.keys.sorted() {
            guard let snapshot = latest[node] else { continue }
            let scratch = base.appendingPathComponent("jamey-vault-verify-\(ProcessStamp.current)-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: scratch) }
            do {
                let body = try snapshot.body(in: repository, identities: identities)
                for source in snapshot.header.sources {
                    let files = body.files.filter { $0.source == source }
                    let root = scratch.appendingPathComponent(source)
                    let total = files.reduce(0) { $0 + ($1.type == "file" ? $1.size : 0) }
                    let images = options.imageCheck != nil && total <= options.memoryLimit ? MemoryImages() : nil
                    defer { images?.release() }
                    if images == nil { try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) }
                    _ = try materialize(files, into: root, wholePacks: &whole, track: true, images: images)
                    report.filesRestored += files.filter { $0.type == "file" }.count
                    for (number, file) in files.enumerated() where file.chunking == .sqlitePages {
                        let url = file.path.isEmpty ? root : root.appendingPathComponent(file.path)
                        let failure =
                            if let image = images?.images[number], let check = options.imageCheck {
                                check(image)
                            } else {
                                options.databaseCheck?(url)
                            }
                        if let failure {
                            report.problems.append(
                                VaultProblem(
                                    .integrityCheck, subject: "\(source)/\(file.path)",
                                    "snapshot \(snapshot.id.prefix(12)) \(source)/\(file.path): integrity_check says \(failure)"))
                        } else if options.databaseCheck != nil || options.imageCheck != nil {
                            report.databasesChecked += 1
                        }
                    }
                }
            } catch let problem as VaultProblem {
                if !report.problems.contains(problem) { report.problems.append(problem) }
            } catch {
                report.problems.append(
                    VaultProblem(
                        .fileMismatch, subject: snapshot.id, "snapshot \(snapshot.id.prefix(12)): restore failed: \(error)"))
            }
        }
    }
}
