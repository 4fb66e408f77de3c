import Foundation
import GRDB
import JameyTestKit
import VaultCore
import VaultSQLite

/// A repository in a temporary directory with one identity and one node key, plus helpers to make data.
struct Fixture {
    let root: URL
    let repoURL: URL
    let identity: AgeIdentity
    let keyURL: URL
    let key: NodeKey
    let data: URL

    init(node: String = "alpha") throws {
        root = URL(fileURLWithPath: try TemporaryDirectory.make(prefix: "jamey-vault"))
        repoURL = root.appendingPathComponent("repo")
        identity = AgeIdentity.generate()
        keyURL = root.appendingPathComponent("state/\(node).key")
        key = try Repository.create(at: repoURL, recipients: [identity.recipient], node: node)
        try key.write(keyURL)
        data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    }

    var repository: Repository { get throws { try Repository(at: repoURL) } }
    var headURL: URL { ChainHead.url(forKey: keyURL) }

    func backupSync(time: Date = Date(), sources: [BackupSource]? = nil) throws -> BackupResult {
        try BackupWriter(repository: repository, key: key, headURL: headURL)
            .run(sources: sources ?? [BackupSource(name: "data", url: data)], time: time)
    }

    /// Backs up on a thread of its own (the work is long and CPU-bound; the test pool stays free).
    func backup(time: Date = Date(), sources: [BackupSource]? = nil) async throws -> BackupResult {
        try await onThread { try backupSync(time: time, sources: sources) }
    }

    func reader() throws -> RepositoryReader { try RepositoryReader(repository: repository, identities: [identity]) }

    func verify(restore: Bool = true) async throws -> VerifyReport {
        try await onThread { try verifySync(restore: restore) }
    }

    /// Verifies; `memoryLimit` 0 makes verify restore into a scratch directory instead of memory.
    func verifySync(restore: Bool = true, memoryLimit: Int? = nil) throws -> VerifyReport {
        var options = VerifyOptions()
        options.restore = restore
        if let memoryLimit { options.memoryLimit = memoryLimit }
        options.head = try ChainHead.read(headURL)
        options.node = key.node
        options.databaseCheck = SQLiteToolsCheck.check
        options.imageCheck = SQLiteTools.checkImage
        return try reader().verify(options)
    }

    func write(_ relative: String, _ bytes: Data) throws {
        let url = data.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try bytes.write(to: url)
    }

    /// A SQLite database (rollback journal, so the file alone is the database) with `rows` rows.
    func makeDatabase(_ relative: String, rows: Int) throws -> DatabaseQueue {
        let url = data.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: url.path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            for number in 0..<rows {
                try db.execute(
                    sql: "INSERT INTO item (body) VALUES (?)",
                    arguments: ["row \(number) " + String(repeating: "x", count: 100 + number % 50)])
            }
        }
        return queue
    }

    static func random(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: (count + 7) / 8)
        for index in words.indices { words[index] = generator.next() }
        return words.withUnsafeBytes { Data($0.prefix(count)) }
    }

    func destroy() { try? FileManager.default.removeItem(at: root) }
}

enum SQLiteToolsCheck {
    static let check: @Sendable (URL) -> String? = { SQLiteTools.integrityCheck($0) }
}

/// Runs a command, on a thread of its own.
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> Run.Result {
    try await onThread { try Run.command(executable, arguments, environment: environment) }
}
