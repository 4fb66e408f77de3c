import Foundation
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

/// Polls `condition` every millisecond until it holds or `timeout` passes.
/// - Returns: Whether the condition held.
func busEventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return condition()
}

/// Runs `body` on a fresh thread (for blocking calls) and returns its result.
func busOnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// Collects what handlers see, from any thread.
final class BusInbox<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    func append(_ item: Element) { items.withLock { $0.append(item) } }
    var all: [Element] { items.withLock { $0 } }
    var count: Int { items.withLock { $0.count } }
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

/// A flag set from any thread.
final class BusFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// A value stored once from any thread.
final class BusBox<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    var get: Value? { value.withLock { $0 } }
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
func busSubscribeEcho(_ endpoint: BusEndpoint, _ topic: String, seen: BusInbox<BusMessage>? = nil) throws -> UInt64 {
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
