import Foundation
import JameyKernel
import JameyTestKit
import Synchronization

/// A test origin answering `test.origin` on the kernel's bus: counts calls, and answers each with
/// what `answer` returns for the key — at once, or held until ``release()``.
final class OriginResponder: Sendable {
    enum Answer: Sendable {
        case value(String)
        case failure(status: Int)
        /// Keep the request until `release()` answers it with this value.
        case hold(String)
    }

    private let bus: BusEndpoint
    private let id: UInt64
    private let held = LockedBox<[(String, UInt64, String)]>([])

    init(_ k: CacheKernel, _ answer: @escaping @Sendable (String) -> Answer) throws {
        let bus = k.test.bus
        self.bus = bus
        let calls = Calls()
        let held = self.held
        id = try bus.subscribe("test.origin", responder: true) { message in
            calls.count.add(1, ordering: .relaxed)
            guard let replyTo = message.replyTo else { return true }
            let body = (try? JSONSerialization.jsonObject(with: Data(message.payload))) as? [String: Any] ?? [:]
            let key = body["key"] as? String ?? ""
            switch answer(key) {
            case .value(let text): Self.send(bus, replyTo, message.correlationID, text, status: 200)
            case .failure(let status): Self.send(bus, replyTo, message.correlationID, "origin broke", status: status)
            case .hold(let text): held.append((replyTo, message.correlationID, text))
            }
            return true
        }
        self.calls = calls
    }

    private let calls: Calls
    private final class Calls: Sendable { let count = Atomic<Int>(0) }

    /// How many requests reached the origin.
    var count: Int { calls.count.load(ordering: .relaxed) }

    /// Answers every held request.
    func release() {
        let all = held.withLock { h in
            defer { h.removeAll() }
            return h
        }
        for (replyTo, id, text) in all { Self.send(bus, replyTo, id, text, status: 200) }
    }

    func cancel() { bus.unsubscribe(id) }

    private static func send(_ bus: BusEndpoint, _ replyTo: String, _ id: UInt64, _ text: String, status: Int) {
        try? bus.reply(
            to: replyTo, correlationID: id,
            BusMessage(topic: replyTo, payload: Array(text.utf8), headers: [BusHeader(key: "status", value: String(status))]))
    }
}
