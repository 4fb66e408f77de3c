import CHiredis
import Foundation
import Synchronization

/// The shared tier: one Redis connection (hiredis), used under a lock. A failed command marks the
/// tier down and drops the connection; while down every call returns at once (the caller serves
/// from L1 and L3), and ``reconnectIfDown()`` — called by the plugin's maintenance loop every
/// second — brings it back. Values are stored as 8 bytes of little-endian expiry (Unix ms, 0 for
/// none) followed by the value, with Redis' own `PX` expiry set to match.
final class L2Client: Sendable {
    /// Where and how to connect.
    struct Settings: Sendable {
        var host: String
        var port: Int
        var keyPrefix: String
        var connectTimeoutMs: Int
        var commandTimeoutMs: Int
    }

    let settings: Settings
    private let state = Mutex(State())
    private let failureCount = Atomic<Int>(0)
    private let reconnectCount = Atomic<Int>(0)

    private struct Connection: @unchecked Sendable {
        let context: UnsafeMutablePointer<redisContext>
    }

    private struct State: Sendable {
        var connection: Connection?
        var lastError = "not connected yet"
        var downSince: Date? = Date()
    }

    /// A reply reduced to what the cache reads.
    enum Reply {
        case bytes([UInt8])
        case integer(Int)
        case array([Reply])
        case null
        case status(String)
        case error(String)
    }

    /// Creates the client and tries to connect once (a failure leaves it down, not failed).
    init(settings: Settings) {
        self.settings = settings
        _ = reconnectIfDown()
    }

    deinit {
        state.withLock { s in
            if let c = s.connection { redisFree(c.context) }
            s.connection = nil
        }
    }

    /// Whether the last command or connection attempt succeeded.
    var isUp: Bool { state.withLock { $0.connection != nil } }
    /// Commands or connections that failed so far.
    var failures: Int { failureCount.load(ordering: .relaxed) }
    /// Successful reconnections after a failure.
    var reconnections: Int { reconnectCount.load(ordering: .relaxed) }
    /// Why it is down, and since when (nil while up).
    var outage: (reason: String, since: Date)? {
        state.withLock { s in s.downSince.map { (s.lastError, $0) } }
    }

    /// Sends PING (nothing when down): a connection that has gone is found and marked down.
    func ping() { _ = command([Array("PING".utf8)]) }

    /// Connects when down. Returns whether it is up afterwards.
    @discardableResult
    func reconnectIfDown() -> Bool {
        state.withLock { s in
            if s.connection != nil { return true }
            let timeout = Self.timeval(ms: settings.connectTimeoutMs)
            guard let context = redisConnectWithTimeout(settings.host, Int32(settings.port), timeout) else {
                s.lastError = "cannot allocate a Redis context"
                failureCount.add(1, ordering: .relaxed)
                return false
            }
            if context.pointee.err != 0 {
                s.lastError = Self.errorText(context)
                redisFree(context)
                failureCount.add(1, ordering: .relaxed)
                return false
            }
            _ = redisSetTimeout(context, Self.timeval(ms: settings.commandTimeoutMs))
            // Up only once Redis answers: a stopped (SIGSTOP) or overloaded Redis still takes
            // connections into its listen backlog, and the tier flapped up and down every 2.5 s,
            // each request behind a command timeout, while the gauge said up.
            // An error reply (`-LOADING` while Redis reads its AOF, `-MISCONF`) is not up either.
            guard let raw = Self.send(context, [Array("PING".utf8)]) else {
                s.lastError = "no answer to PING: " + Self.errorText(context)
                redisFree(context)
                failureCount.add(1, ordering: .relaxed)
                return false
            }
            let pong = Self.reply(raw.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(raw)
            guard case .status("PONG") = pong else {
                if case .error(let text) = pong {
                    s.lastError = "PING answered: " + text
                } else {
                    s.lastError = "PING answered oddly"
                }
                redisFree(context)
                failureCount.add(1, ordering: .relaxed)
                return false
            }
            let wasDown = s.downSince != nil
            s.connection = Connection(context: context)
            s.downSince = nil
            if wasDown && s.lastError != "not connected yet" { reconnectCount.add(1, ordering: .relaxed) }
            return true
        }
    }

    /// Runs one command; nil when the tier is down or the command failed at the connection level.
    func command(_ arguments: [[UInt8]]) -> Reply? {
        state.withLock { s in
            guard let connection = s.connection else { return nil }
            let raw = Self.send(connection.context, arguments)
            guard let raw else {
                s.lastError = Self.errorText(connection.context)
                redisFree(connection.context)
                s.connection = nil
                s.downSince = Date()
                failureCount.add(1, ordering: .relaxed)
                return nil
            }
            defer { freeReplyObject(raw) }
            return Self.reply(raw.assumingMemoryBound(to: redisReply.self))
        }
    }

    private static func send(_ context: UnsafeMutablePointer<redisContext>, _ arguments: [[UInt8]]) -> UnsafeMutableRawPointer? {
        var pointers: [UnsafePointer<CChar>?] = []
        var lengths: [Int] = []
        let copies = arguments.map { bytes -> UnsafeMutablePointer<CChar> in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, bytes.count))
            bytes.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { if let base = $0.baseAddress { p.update(from: base, count: bytes.count) } }
            }
            return p
        }
        defer { for p in copies { p.deallocate() } }
        for (i, p) in copies.enumerated() {
            pointers.append(UnsafePointer(p))
            lengths.append(arguments[i].count)
        }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { lens in
                redisCommandArgv(context, Int32(arguments.count), argv.baseAddress, lens.baseAddress)
            }
        }
    }

    private static func reply(_ r: UnsafeMutablePointer<redisReply>) -> Reply {
        let reply = r.pointee
        switch Int32(reply.type) {
        case REDIS_REPLY_STRING:
            return .bytes(reply.str.map { Array(UnsafeRawBufferPointer(start: $0, count: reply.len)) } ?? [])
        case REDIS_REPLY_INTEGER: return .integer(Int(reply.integer))
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_STATUS: return .status(reply.str.map { String(cString: $0) } ?? "")
        case REDIS_REPLY_ERROR: return .error(reply.str.map { String(cString: $0) } ?? "error")
        case REDIS_REPLY_ARRAY:
            var items: [Reply] = []
            for i in 0..<reply.elements { if let e = reply.element[i] { items.append(Self.reply(e)) } }
            return .array(items)
        default: return .null
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func timeval(ms: Int) -> Glibc.timeval {
        Glibc.timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
    }

    // MARK: cache operations

    /// The Redis key of a namespace's key.
    func redisKey(_ namespace: String, _ key: String) -> [UInt8] { Array("\(settings.keyPrefix)\(namespace):\(key)".utf8) }

    /// The value, nil when absent or expired, or when the tier is down or answered an error
    /// (`-LOADING`: not a miss; `up` says which).
    func get(_ namespace: String, _ key: String) -> (value: CachedValue?, up: Bool) {
        guard let reply = command([Array("GET".utf8), redisKey(namespace, key)]) else { return (nil, false) }
        if case .error = reply { return (nil, false) }
        guard case .bytes(let stored) = reply, stored.count >= 8 else { return (nil, true) }
        let expiry = stored.prefix(8).enumerated().reduce(Int64(0)) { $0 | Int64($1.element) << (8 * Int64($1.offset)) }
        if expiry != 0 && expiry <= CacheNamespace.nowMs() { return (nil, true) }
        return (CachedValue(bytes: Array(stored.dropFirst(8)), expiresAt: expiry == 0 ? nil : expiry), true)
    }

    /// Stores a value with its expiry; returns whether Redis took it.
    /// - Parameter onlyIfAbsent: `NX`: keep a value Redis already has (a loaded value must not
    ///   overwrite a newer put).
    @discardableResult
    func set(_ namespace: String, _ key: String, _ value: CachedValue, onlyIfAbsent: Bool = false) -> Bool {
        var stored = [UInt8](repeating: 0, count: 8)
        let expiry = value.expiresAt ?? 0
        for i in 0..<8 { stored[i] = UInt8(truncatingIfNeeded: expiry >> (8 * Int64(i))) }
        stored += value.bytes
        var arguments = [Array("SET".utf8), redisKey(namespace, key), stored]
        if let expiresAt = value.expiresAt {
            let left = expiresAt - CacheNamespace.nowMs()
            // A value that expired on its way here: a load has nothing to keep, but a put must
            // not leave the value before it in Redis (every node read it back after the put
            // dropped their copies).
            guard left > 0 else { return onlyIfAbsent || delete(namespace, key) != nil }
            arguments += [Array("PX".utf8), Array(String(left).utf8)]
        }
        if onlyIfAbsent { arguments.append(Array("NX".utf8)) }
        guard case .status = command(arguments) else { return false }
        return true
    }

    /// Deletes a key; returns whether Redis had it, nil when the delete failed (down, or an
    /// error reply such as `-LOADING` or `-READONLY`).
    func delete(_ namespace: String, _ key: String) -> Bool? {
        guard case .integer(let n) = command([Array("DEL".utf8), redisKey(namespace, key)]) else { return nil }
        return n > 0
    }

    /// Deletes `keys` of a namespace in one command; returns how many Redis had, nil when the
    /// delete failed.
    func delete(_ namespace: String, keys: [String]) -> Int? {
        guard !keys.isEmpty else { return 0 }
        guard case .integer(let n) = command([Array("DEL".utf8)] + keys.map { redisKey(namespace, $0) }) else { return nil }
        return n
    }

    /// Deletes every key of a namespace starting with `prefix` (SCAN + DEL); returns how many,
    /// nil when a command failed (some may have been deleted).
    func delete(_ namespace: String, prefix: String) -> Int? {
        let pattern = Self.globEscaped("\(settings.keyPrefix)\(namespace):\(prefix)") + "*"
        var cursor = "0"
        var removed = 0
        repeat {
            let scan = command([
                Array("SCAN".utf8), Array(cursor.utf8), Array("MATCH".utf8), Array(pattern.utf8), Array("COUNT".utf8),
                Array("1000".utf8),
            ])
            guard case .array(let parts) = scan, parts.count == 2, case .bytes(let next) = parts[0],
                case .array(let keys) = parts[1]
            else { return nil }
            cursor = String(decoding: next, as: UTF8.self)
            let names = keys.compactMap { item -> [UInt8]? in if case .bytes(let k) = item { return k } else { return nil } }
            if !names.isEmpty {
                guard case .integer(let n) = command([Array("DEL".utf8)] + names) else { return nil }
                removed += n
            }
        } while cursor != "0"
        return removed
    }

    /// Publishes `payload` on `channel`; returns whether Redis took it.
    @discardableResult
    func publish(_ channel: String, _ payload: [UInt8]) -> Bool {
        guard case .integer = command([Array("PUBLISH".utf8), Array(channel.utf8), payload]) else { return false }
        return true
    }

    static func globEscaped(_ text: String) -> String {
        // By code points: a "*" followed by a combining mark is one Character that is not "*",
        // and was left unescaped.
        var out = String.UnicodeScalarView()
        for c in text.unicodeScalars {
            if "*?[]\\".unicodeScalars.contains(c) { out.append("\\") }
            out.append(c)
        }
        return String(out)
    }
}
