import Foundation
import JameyTestKit
import MetricsTestKit
import Synchronization

@testable import JameyKernel

/// A bus with test metrics, shut down when `body` returns.
func withBus<R>(
    // Requests that are not about timeouts must not time out on a heavily loaded CI machine.
    _ configuration: BusConfiguration = BusConfiguration(defaultRequestTimeout: .seconds(120), workerCount: 2),
    _ body: (MessageBus, TestMetrics) async throws -> R
) async rethrows -> R {
    let metrics = TestMetrics()
    let bus = MessageBus(configuration: configuration, metricsFactory: metrics)
    defer { bus.shutdown(deadline: .seconds(5)) }
    return try await body(bus, metrics)
}

/// A one-shot latch a handler can block on until the test opens it.
final class BusGate: Sendable {
    private let lock = ConditionLock(false)

    func open() {
        lock.withLock { $0 = true }
        lock.broadcast()
    }

    func wait() {
        lock.lock()
        while !lock.state.pointee { lock.wait() }
        lock.unlock()
    }

    var isOpen: Bool { lock.withLock { $0 } }
}

extension BusMessage {
    /// A message whose payload is `index` as 4 little-endian bytes.
    static func numbered(_ topic: String, _ index: Int) -> BusMessage {
        let value = UInt32(index)
        return BusMessage(topic: topic, payload: (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) })
    }

    /// The index encoded by ``numbered(_:_:)``.
    var number: Int {
        payload.prefix(4).enumerated().reduce(0) { $0 | Int($1.element) << ($1.offset * 8) }
    }
}

/// Sends a completion-style request and awaits its completion.
func busRequestWithCompletion(
    _ endpoint: BusEndpoint, _ message: BusMessage, timeout: Duration? = nil
) async -> Result<BusMessage, BusError> {
    await withCheckedContinuation { continuation in
        do throws(BusError) {
            try endpoint.request(message, timeout: timeout) { continuation.resume(returning: $0) }
        } catch {
            continuation.resume(returning: .failure(error))
        }
    }
}

/// Subscribes an echo responder on `topic` that replies with the reversed payload.
@discardableResult
func busSubscribeEcho(_ endpoint: BusEndpoint, _ topic: String, seen: LockedBox<[BusMessage]>? = nil) throws -> UInt64 {
    try endpoint.subscribe(topic) { request in
        seen?.append(request)
        guard let replyTo = request.replyTo else { return false }
        var reply = BusMessage(topic: replyTo, payload: request.payload.reversed(), contentType: "text/plain")
        reply.headers = [BusHeader(key: "echo", value: endpoint.owner)]
        do {
            try endpoint.reply(to: replyTo, correlationID: request.correlationID, reply)
            return true
        } catch {
            return false
        }
    }
}

/// What a stress subscriber saw: per publisher, the sequence numbers in arrival order.
final class Arrivals: Sendable {
    private let seen = Mutex<[Int: [Int]]>([:])

    func record(publisher: Int, sequence: Int) {
        seen.withLock { $0[publisher, default: []].append(sequence) }
    }

    var total: Int { seen.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    /// Whether every publisher's messages arrived at most once each and in publish order.
    var inOrderOnce: Bool {
        seen.withLock { all in all.values.allSatisfy { zip($0, $0.dropFirst()).allSatisfy { $0 < $1 } } }
    }

    func sequences(of publisher: Int) -> [Int] { seen.withLock { $0[publisher] ?? [] } }
}

/// Runs `publishers` threads at once, each calling `body` with its index, and waits for them.
///
/// Threads of their own, not GCD's global queue: in a full parallel test run that queue is busy
/// with other suites' work, and a test waiting here for its blocks waited 65-135 s instead of
/// milliseconds, holding one of the concurrency pool's two threads (on two cores) all that time,
/// which starved other suites' tasks past their deadlines.
func concurrently(_ publishers: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let finished = DispatchSemaphore(value: 0)
    for index in 0..<publishers {
        Thread {
            body(index)
            finished.signal()
        }.start()
    }
    for _ in 0..<publishers { finished.wait() }
}
