import APICore
import Foundation
import GRDB
import GRDBSQLite
import JameyGRDB
import Synchronization

/// The API keys: stored in `<data_dir>/api/keys.sqlite` (GRDB, WAL), mirrored in memory so that
/// checking a key costs a dictionary lookup and one SHA-256. Thread-safe.
final class KeyStore: Sendable {
    private let database: DatabasePool
    private let cache: Mutex<[String: APIKey]>
    /// Digest of the admin key given by the environment or the config, if any.
    private let bootstrapDigest: Mutex<String?>

    /// The id that stands for the bootstrap admin key in logs and `auth.key_id`.
    static let bootstrapID = "bootstrap"

    /// Opens (creating when needed) the key database in `directory`.
    /// - Throws: when the database cannot be opened or migrated.
    init(directory: String) throws {
        var configuration = Configuration()
        configuration.label = "api.keys"
        configuration.busyMode = .timeout(Self.busyTimeout)
        database = try DatabasePool(path: directory + "/keys.sqlite", configuration: configuration)
        // Every commit syncs its WAL frames before the reply: a revocation answered 204 holds
        // through a power cut (GRDB's WAL default, NORMAL, survives only a crash of the process).
        // Key changes are rare; a sync costs a fraction of a millisecond.
        try database.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        try Self.migrator.migrate(database)
        let all = try database.read { db in try APIKey.fetchAll(db) }
        cache = Mutex(Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }))
        bootstrapDigest = Mutex(nil)
    }

    /// Seconds a connection waits for another's lock.
    static let busyTimeout: TimeInterval = 5

    /// The schema's migrations, in order.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: APIKey.databaseTableName) { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("scope", .text).notNull()
                t.column("digest", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("expires_at", .datetime)
                t.column("revoked_at", .datetime)
            }
        }
        return migrator
    }

    /// Accepts `text` as an admin key (not stored in the database).
    func setBootstrapKey(_ text: String) { bootstrapDigest.withLock { $0 = KeySecret.digest(text) } }

    /// Creates a key and returns it with its text (the only time the text exists).
    /// - Throws: when the database write fails.
    func create(name: String, scope: Scope, expiresAt: Date?, now: Date = Date()) throws -> (APIKey, String) {
        let (key, text) = Self.newKey(name: name, scope: scope, expiresAt: expiresAt, now: now)
        try insert(key)
        return (key, text)
    }

    /// A new key and its text, not yet stored (``insert(_:)``).
    static func newKey(name: String, scope: Scope, expiresAt: Date?, now: Date = Date()) -> (APIKey, String) {
        let secret = KeySecret.generate()
        let key = APIKey(
            id: secret.id, name: name, scope: scope.name, digest: KeySecret.digest(secret.text),
            createdAt: Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)), expiresAt: expiresAt,
            revokedAt: nil)
        return (key, secret.text)
    }

    /// Stores a key made by ``newKey(name:scope:expiresAt:now:)``.
    /// - Throws: when the database write fails.
    func insert(_ key: APIKey) throws {
        try database.write { db in try key.insert(db) }
        cache.withLock { $0[key.id] = key }
        moveIntoDatabaseFile()
    }

    /// Copies the WAL into the database file and empties it, after a key change. The keys are
    /// few and change rarely, so SQLite's automatic checkpoint (at 1 000 pages) never ran: they
    /// lived only in `keys.sqlite-wal` until a clean stop, and a damaged WAL lost every key
    /// without a word (a new admin key was then generated). Best effort: a reader holding the
    /// WAL makes it give up at once, and the next change tries again.
    private func moveIntoDatabaseFile() {
        try? database.writeWithoutTransaction { db in
            sqlite3_busy_timeout(db.sqliteConnection, 0)
            defer { sqlite3_busy_timeout(db.sqliteConnection, Int32(Self.busyTimeout * 1000)) }
            try db.checkpoint(.truncate)
        }
    }

    /// Every key, newest first (revoked and expired ones included).
    func list() -> [APIKey] {
        cache.withLock { Array($0.values) }.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }

    /// Which keys a listing shows.
    enum Listing: String, Sendable, CaseIterable {
        /// Neither revoked nor expired.
        case active
        /// Revoked.
        case revoked
        /// Expired and not revoked.
        case expired
        /// Every key.
        case all

        func includes(_ key: APIKey, at now: Date) -> Bool {
            switch self {
            case .all: true
            case .revoked: key.revokedAt != nil
            case .expired: key.revokedAt == nil && (key.expiresAt.map { $0 <= now } ?? false)
            case .active: key.revokedAt == nil && (key.expiresAt.map { $0 > now } ?? true)
            }
        }
    }

    /// One page of keys, newest first: at most `limit` of those `listing` includes, after the
    /// key with id `after` (the previous page's last).
    /// - Returns: the page and whether more keys follow it; nil when no key has id `after`.
    func page(_ listing: Listing, after: String?, limit: Int, now: Date = Date()) -> (keys: [APIKey], more: Bool)? {
        let all = list()
        var start = all.startIndex
        if let after {
            guard let index = all.firstIndex(where: { $0.id == after }) else { return nil }
            start = index + 1
        }
        var keys: [APIKey] = []
        for key in all[start...] where listing.includes(key, at: now) {
            if keys.count == limit { return (keys, true) }
            keys.append(key)
        }
        return (keys, false)
    }

    /// What ``revoke(id:now:)`` did.
    enum Revocation: Sendable, Equatable {
        /// The key is revoked (now, or it already was).
        case revoked
        /// No key has this id.
        case notFound
        /// Refused: it is the last active admin key and no bootstrap key is configured, so
        /// revoking it would leave nobody able to manage keys until a restart.
        case lastAdminKey
    }

    /// Revokes a key, unless it is the last active admin key and no bootstrap admin key is
    /// configured. The check and the revocation are one step, so two concurrent revocations
    /// cannot both pass it.
    /// - Parameters:
    ///   - id: the key's id.
    ///   - now: the revocation time.
    /// - Throws: when the database write fails (the key then stays active).
    func revoke(id: String, now: Date = Date()) throws -> Revocation {
        let mayRevokeLastAdmin = bootstrapDigest.withLock { $0 != nil }
        // The database first, then the cache, both under the cache's lock (a revocation is rare
        // and its write short): the cache was marked first and rolled back when the write
        // failed, and a concurrent revocation in between had already answered 204 for a key
        // that then worked again.
        let result = try cache.withLock { keys throws -> Revocation in
            guard var key = keys[id] else { return .notFound }
            guard key.revokedAt == nil else { return .revoked }
            if !mayRevokeLastAdmin, key.isActiveAdmin(at: now),
                !keys.values.contains(where: { $0.id != id && $0.isActiveAdmin(at: now) })
            {
                return .lastAdminKey
            }
            key.revokedAt = now
            try database.write { db in try key.update(db) }
            keys[id] = key
            return .revoked
        }
        // Outside the cache's lock, which every request's authentication takes.
        if result == .revoked { moveIntoDatabaseFile() }
        return result
    }

    /// Deletes the keys revoked, or expired without being revoked, before `cutoff`.
    /// - Returns: how many were deleted.
    /// - Throws: when the database write fails (nothing is deleted then).
    @discardableResult
    func purge(endedBefore cutoff: Date) throws -> Int {
        let purged = try cache.withLock { keys throws -> Int in
            let ended = keys.values.filter { key in
                guard let end = key.revokedAt ?? key.expiresAt else { return false }
                return end < cutoff
            }.map(\.id)
            guard !ended.isEmpty else { return 0 }
            _ = try database.write { db in try APIKey.deleteAll(db, keys: ended) }
            for id in ended { keys.removeValue(forKey: id) }
            return ended.count
        }
        if purged > 0 { moveIntoDatabaseFile() }
        return purged
    }

    /// Whether an active (not revoked, not expired) admin key is stored.
    func hasActiveAdminKey(now: Date = Date()) -> Bool {
        cache.withLock { keys in keys.values.contains { $0.isActiveAdmin(at: now) } }
    }

    /// Checks a presented key.
    /// - Parameters:
    ///   - text: the key as sent by the client.
    ///   - now: the current time.
    /// - Returns: the caller's key id and scope, or the 401 problem saying what is wrong.
    func authenticate(_ text: Substring, now: Date) -> Result<Caller, Problem> {
        let digest = KeySecret.digest(text)
        if let id = KeySecret.id(in: text), let key = cache.withLock({ $0[id] }), KeySecret.equal(key.digest, digest) {
            if key.revokedAt != nil { return .failure(.unauthorized("the API key has been revoked")) }
            if let expiry = key.expiresAt, expiry <= now { return .failure(.unauthorized("the API key has expired")) }
            return .success(Caller(keyID: key.id, scope: Scope(key.scope) ?? .read))
        }
        if let bootstrap = bootstrapDigest.withLock({ $0 }), KeySecret.equal(bootstrap, digest) {
            return .success(Caller(keyID: Self.bootstrapID, scope: .admin))
        }
        return .failure(.unauthorized("the API key is not valid"))
    }

    /// Writes a consistent copy of the database into `directory` (the kit's online backup), for
    /// the vault's snapshots.
    /// - Throws: when the copy fails.
    func snapshot(into directory: String) throws {
        try database.writeSnapshot(into: directory, fileName: "keys.sqlite")
    }

    /// Replaces every key with those of the snapshot in `directory`.
    /// - Throws: when the snapshot is missing, damaged or holds no key table.
    func restore(from directory: String) throws {
        try database.restoreSnapshot(
            from: directory, fileName: "keys.sqlite", requiringTable: APIKey.databaseTableName, migrator: Self.migrator)
        let all = try database.read { db in try APIKey.fetchAll(db) }
        cache.withLock { $0 = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }) }
    }
}

/// Who is calling: the key id (nil without a key) and the scope it holds.
struct Caller: Sendable {
    /// The key's id, `bootstrap` for the bootstrap admin key, nil without a key.
    let keyID: String?
    /// The scope held (`public` without a key).
    let scope: Scope

    /// A caller without a key.
    static let anonymous = Caller(keyID: nil, scope: .public)
}
