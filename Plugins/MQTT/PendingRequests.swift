import JameyPluginKit
import Synchronization

/// Bus requests forwarded to another node and waiting for its MQTT response, by correlation id.
///
/// Thread-safe. An entry leaves when its response arrives or when its deadline passes
/// (``expire(now:)``); the requester itself times out on the bus as usual.
final class PendingRequests: Sendable {
    private struct Entry: Sendable {
        var request: Message
        var deadline: ContinuousClock.Instant
    }

    private let state = Mutex<(next: UInt64, entries: [UInt64: Entry])>((1, [:]))

    /// Records a request and returns its correlation data (8 bytes, big-endian).
    func add(_ request: Message, timeout: Duration) -> [UInt8] {
        let id = state.withLock { s in
            let id = s.next
            s.next &+= 1
            s.entries[id] = Entry(request: request, deadline: .now + timeout)
            return id
        }
        return withUnsafeBytes(of: id.bigEndian) { Array($0) }
    }

    /// Forgets a request whose forwarding failed.
    func remove(_ correlation: [UInt8]) { _ = take(correlation) }

    /// Takes the request a response belongs to, or nil when unknown or expired.
    func take(_ correlation: [UInt8]) -> Message? {
        guard correlation.count == 8 else { return nil }
        let id = correlation.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return state.withLock { $0.entries.removeValue(forKey: id)?.request }
    }

    /// Drops requests past their deadline.
    /// - Returns: how many.
    @discardableResult
    func expire(now: ContinuousClock.Instant = .now) -> Int {
        state.withLock { s in
            let before = s.entries.count
            s.entries = s.entries.filter { $0.value.deadline > now }
            return before - s.entries.count
        }
    }

    /// Requests waiting.
    var count: Int { state.withLock { $0.entries.count } }
}
