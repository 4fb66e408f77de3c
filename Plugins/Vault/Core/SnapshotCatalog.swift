import Crypto
import Foundation

/// Every snapshot and forget record in a repository, checked: signatures, per-node hash chains,
/// and (given a node's local head) rollback.
public struct SnapshotCatalog: Sendable {
    /// Snapshots whose signature verifies, oldest first.
    public private(set) var snapshots: [SnapshotManifest] = []
    /// Damage found while reading: bad signatures, broken chains, rollback.
    public private(set) var problems: [VaultProblem] = []
    /// Forgotten snapshots: node → seq → id.
    private(set) var forgotten: [String: [Int: String]] = [:]

    /// Reads and checks the repository's snapshots.
    /// - Parameters:
    ///   - repository: the repository.
    ///   - chunkKey: the repository's chunk key, which enrolled every trusted signing key.
    ///   - head: this node's last written snapshot, from its local state, to detect a rollback.
    ///   - node: the node `head` belongs to.
    public init(repository: Repository, chunkKey: Data, head: ChainHead? = nil, node: String? = nil) {
        let layout = repository.layout
        let trusted = repository.trustedKeys(chunkKey: chunkKey)
        problems = repository.unenrolledKeys(chunkKey: chunkKey)
        for name in listed(layout, layout.snapshots, what: "snapshots") {
            guard let data = read(layout.snapshot(name), what: "snapshot \(name.prefix(12))", subject: name) else { continue }
            do {
                snapshots.append(try SnapshotManifest.parse(data, name: name, trusted: trusted))
            } catch let problem as VaultProblem {
                problems.append(problem)
            } catch {
                problems.append(VaultProblem(.signatureInvalid, subject: name, "snapshot \(name.prefix(12)): \(error)"))
            }
        }
        let retired = repository.retiredKeys(trusted: trusted)
        snapshots.removeAll { snapshot in
            guard let after = retired[snapshot.header.signingKey], snapshot.header.seq > after else { return false }
            problems.append(
                VaultProblem(
                    .signatureInvalid, subject: snapshot.id,
                    "snapshot \(snapshot.id.prefix(12)): node \(snapshot.header.node) #\(snapshot.header.seq) is signed with a key retired after #\(after) (key rotation)"
                ))
            return true
        }
        snapshots.sort { ($0.header.time, $0.header.node, $0.header.seq) < ($1.header.time, $1.header.node, $1.header.seq) }
        for name in listed(layout, layout.forgotten, what: "forgotten", missingIsEmpty: true) {
            let url = layout.forgotten.appendingPathComponent(name)
            guard let data = read(url, what: "forget record \(name.prefix(12))", subject: name) else { continue }
            do {
                let record = try ForgetRecord.parse(data, name: name, trusted: trusted)
                for entry in record.entries { forgotten[entry.node, default: [:]][entry.seq] = entry.snapshot }
            } catch let problem as VaultProblem {
                problems.append(problem)
            } catch {
                problems.append(VaultProblem(.signatureInvalid, subject: name, "forget record \(name.prefix(12)): \(error)"))
            }
        }
        checkChains()
        if let head, let node { checkHead(head, node: node) }
    }

    /// The names in a directory of the repository; one that cannot be listed is a problem (an
    /// empty list would hide every snapshot from prune, which would then free their chunks).
    private mutating func listed(_ layout: RepositoryLayout, _ directory: URL, what: String, missingIsEmpty: Bool = false)
        -> [String]
    {
        do {
            return try layout.listedNames(in: directory, missingIsEmpty: missingIsEmpty)
        } catch {
            problems.append(VaultProblem(.unreadable, subject: what, error.message))
            return []
        }
    }

    /// A file's bytes; one that cannot be read is a problem.
    private mutating func read(_ url: URL, what: String, subject: String) -> Data? {
        do {
            return try Data(contentsOf: url)
        } catch {
            problems.append(
                VaultProblem(.unreadable, subject: subject, "\(what): cannot be read (\(error.localizedDescription))"))
            return nil
        }
    }

    /// The node's newest snapshot in the repository (present or forgotten): its seq and id.
    public func latest(node: String) -> (seq: Int, id: String)? {
        var best: (seq: Int, id: String)?
        for snapshot in snapshots where snapshot.header.node == node && snapshot.header.seq > (best?.seq ?? 0) {
            best = (snapshot.header.seq, snapshot.id)
        }
        for (seq, id) in forgotten[node] ?? [:] where seq > (best?.seq ?? 0) { best = (seq, id) }
        return best
    }

    /// Finds a snapshot by id, unique id prefix, or `latest` (newest of `node`, or of all).
    public func find(_ reference: String, node: String? = nil) throws -> SnapshotManifest {
        if reference == "latest" {
            let candidates = snapshots.filter { node == nil || $0.header.node == node }
            guard let last = candidates.last else {
                throw VaultError(.notFound, "snapshot latest: the repository holds no snapshot")
            }
            return last
        }
        let matches = snapshots.filter { $0.id.hasPrefix(reference.lowercased()) }
        guard matches.count == 1, !reference.isEmpty else {
            throw VaultError(
                .notFound,
                matches.isEmpty ? "snapshot \(reference): not in the repository" : "snapshot \(reference): ambiguous prefix")
        }
        return matches[0]
    }

    private mutating func checkChains() {
        var byNode: [String: [Int: SnapshotManifest]] = [:]
        for snapshot in snapshots { byNode[snapshot.header.node, default: [:]][snapshot.header.seq] = snapshot }
        for node in Set(byNode.keys).union(forgotten.keys).sorted() {
            let present = byNode[node] ?? [:]
            let gone = forgotten[node] ?? [:]
            let top = max(present.keys.max() ?? 0, gone.keys.max() ?? 0)
            for seq in stride(from: 1, through: top, by: 1) {
                let id = present[seq]?.id ?? gone[seq]
                guard let id else {
                    problems.append(
                        VaultProblem(
                            .snapshotDeleted, subject: "\(node)#\(seq)",
                            "node \(node): snapshot #\(seq) is missing with no forget record (deleted)"))
                    continue
                }
                if let snapshot = present[seq], seq > 1, let before = present[seq - 1]?.id ?? gone[seq - 1],
                    snapshot.header.previous != before
                {
                    problems.append(
                        VaultProblem(
                            .snapshotDeleted, subject: id,
                            "node \(node): snapshot #\(seq) does not chain to #\(seq - 1) (replaced or reordered)"))
                }
            }
        }
    }

    private mutating func checkHead(_ head: ChainHead, node: String) {
        let atHead = snapshots.first { $0.header.node == node && $0.header.seq == head.seq }?.id ?? forgotten[node]?[head.seq]
        if atHead != head.snapshot {
            let latest = latest(node: node).map { "#\($0.seq)" } ?? "nothing"
            problems.append(
                VaultProblem(
                    .rolledBack, subject: head.snapshot,
                    "repository rolled back: node \(node) wrote snapshot #\(head.seq) (\(head.snapshot.prefix(12))), the repository holds \(latest) for it"
                ))
        }
    }
}

/// A signed record of snapshots removed by `forget`, so their absence is not reported as tampering.
struct ForgetRecord: Codable {
    struct Entry: Codable {
        var node: String
        var seq: Int
        var snapshot: String
    }
    var time: Date
    var node: String
    var entries: [Entry]
    var signingKey: Data

    func encoded(signer: Curve25519.Signing.PrivateKey) throws -> Data {
        let content = try JSONCoding.encoder().encode(self)
        return content + SnapshotManifest.separator + Data(try signer.signature(for: content).base64EncodedString().utf8)
            + Data("\n".utf8)
    }

    static func parse(_ data: Data, name: String, trusted: [Data: String]) throws -> ForgetRecord {
        let fail = VaultProblem(.signatureInvalid, subject: name, "forget record \(name.prefix(12)): signature does not verify")
        guard data.sha256Hex == name, let (content, signature) = SnapshotManifest.splitSigned(data) else { throw fail }
        guard let record = try? JSONCoding.decoder().decode(ForgetRecord.self, from: content),
            trusted[record.signingKey] != nil,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: record.signingKey),
            key.isValidSignature(signature, for: content)
        else { throw fail }
        return record
    }
}
