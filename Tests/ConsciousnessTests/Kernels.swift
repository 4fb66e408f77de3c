import Conscience
import Consciousness
import ConsciousnessTestSupport
import Dispatch
import JameyKernel
import JameyPluginKit
import JameyTestKit
import Soul
import Synchronization

/// The plugins these tests boot in-process.
enum Plugins {
    /// The consciousness plugin; by default it waits up to 20 s for its peers (the production
    /// default of 500 ms is too short for a loaded test machine).
    static func consciousness(_ config: String? = "timeout_ms: 20000") throws -> TestKernel.InProcessPlugin {
        .init("consciousness", entryPoint: try inProcessEntryPoint(for: ConsciousnessPlugin.self), config: config)
    }

    static func soul() throws -> TestKernel.InProcessPlugin {
        .init("soul", entryPoint: try inProcessEntryPoint(for: SoulPlugin.self))
    }

    static func conscience() throws -> TestKernel.InProcessPlugin {
        .init("conscience", entryPoint: try inProcessEntryPoint(for: ConsciencePlugin.self), config: "memory:\n  record: false")
    }

    /// Jamey 3.0's 104-character test sentence: priority 0.673, above the 0.5 threshold.
    static let sentence =
        "This is a test input with sufficient length to process and generate metrics for the consciousness system"
}

/// A stand-in conscience on the kernel's bus that answers `conscience.evaluate` only when
/// released, so a test can hold a text in flight. Its handler blocks a bus worker thread (never
/// the cooperative pool) until ``release()``.
final class HeldConscience: Sendable {
    private let gate = DispatchSemaphore(value: 0)
    private let count = Atomic<Int>(0)

    /// Subscribes on `k`'s bus; each request is answered with `{"score": score}` once released.
    init(_ k: PluginKernel, score: Double = 0) throws {
        let bus = k.test.bus
        try bus.subscribe("conscience.evaluate", responder: true) { [self] message in
            count.add(1, ordering: .relaxed)
            gate.wait()
            if let replyTo = message.replyTo {
                try? bus.reply(
                    to: replyTo, correlationID: message.correlationID,
                    BusMessage(topic: replyTo, payload: Array(#"{"score":\#(score)}"#.utf8)))
            }
            return true
        }
    }

    /// Requests that have arrived.
    var arrived: Int { count.load(ordering: .relaxed) }

    /// Lets one held request (and the next one to come) be answered.
    func release() { gate.signal() }
}
