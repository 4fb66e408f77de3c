import JameyPluginKit
import MQTTCore
import Synchronization

/// Bus requests forwarded to another node and waiting for its MQTT response, by correlation id.
///
/// Thread-safe. Each entry holds the continuation of the responder task that answers the bus
/// request; it is resumed exactly once: with the response, with a 503 when forwarding failed or
/// the bridge stops, or with a 504 when its deadline passes (``expire(now:)``).
final class PendingRequests: Sendable {
    private struct Entry: Sendable {
        var continuation: CheckedContinuation<Outgoing, Never>
        var deadline: ContinuousClock.Instant
        var topic: String
    }

    private let state = Mutex<(next: UInt64, entries: [UInt64: Entry])>((1, [:]))

    /// Records a waiting request and returns its correlation data (8 bytes, big-endian).
    func add(_ continuation: CheckedContinuation<Outgoing, Never>, topic: String, timeout: Duration) -> [UInt8] {
        let id = state.withLock { s in
            let id = s.next
            s.next &+= 1
            s.entries[id] = Entry(continuation: continuation, deadline: .now + timeout, topic: topic)
            return id
        }
        return withUnsafeBytes(of: id.bigEndian) { Array($0) }
    }

    /// Answers the request `correlation` names, if it is still waiting.
    /// - Returns: whether it was.
    @discardableResult
    func resume(_ correlation: [UInt8], with reply: Outgoing) -> Bool {
        guard correlation.count == 8 else { return false }
        let id = correlation.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard let entry = state.withLock({ $0.entries.removeValue(forKey: id) }) else { return false }
        entry.continuation.resume(returning: reply)
        return true
    }

    /// Whether the request `correlation` names is still waiting.
    func contains(_ correlation: [UInt8]) -> Bool {
        guard correlation.count == 8 else { return false }
        let id = correlation.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return state.withLock { $0.entries[id] != nil }
    }

    /// Answers requests past their deadline with status 504.
    /// - Returns: how many.
    @discardableResult
    func expire(now: ContinuousClock.Instant = .now) -> Int {
        let expired = state.withLock { s -> [Entry] in
            let gone = s.entries.filter { $0.value.deadline <= now }
            for key in gone.keys { s.entries.removeValue(forKey: key) }
            return Array(gone.values)
        }
        for entry in expired {
            entry.continuation.resume(
                returning: .text(
                    "no reply from another node for '\(entry.topic)' in time",
                    headers: ["status": "504", "jamey.error": "timeout"]))
        }
        return expired.count
    }

    /// Answers every waiting request with status 503 (the bridge is stopping).
    func cancelAll(_ reason: String) {
        let all = state.withLock { s -> [Entry] in
            defer { s.entries.removeAll() }
            return Array(s.entries.values)
        }
        for entry in all {
            entry.continuation.resume(returning: .text(reason, headers: ["status": "503", "jamey.error": "shutdown"]))
        }
    }

    /// Requests waiting.
    var count: Int { state.withLock { $0.entries.count } }
}
