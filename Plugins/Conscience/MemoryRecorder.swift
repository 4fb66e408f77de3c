import ConscienceCore
import Foundation
import JameyPluginKit
import Synchronization

/// Records evaluations in the memory plugin's short-term layer, as Jamey 3.0 did, by a bus
/// request to `memory.items.store` with a short timeout. It never delays the evaluation's reply
/// (each record is sent from a task of its own) and never fails it: no memory plugin means the
/// record is skipped and counted (`conscience_memory_records_total{outcome="no_responder"}`).
///
/// The request's payload (JSON):
/// `{"layer":"short_term","content":"Action: <text> | Score: <score> | <verdict>","tags":["conscience"],"source":"conscience","importance":<|score|>}`
final class MemoryRecorder: Sendable {
    /// The memory plugin's store topic.
    static let topic = "memory.items.store"

    private let bus: PluginBus
    private let timeout: Duration
    private let metrics: ConscienceMetrics
    private let tasks = Mutex<[UInt64: Task<Void, Never>]>([:])
    private let nextID = Atomic<UInt64>(0)

    /// - Parameters:
    ///   - bus: the plugin's bus.
    ///   - timeout: how long to wait for the memory plugin.
    ///   - metrics: where outcomes are counted.
    init(bus: PluginBus, timeout: Duration, metrics: ConscienceMetrics) {
        self.bus = bus
        self.timeout = timeout
        self.metrics = metrics
    }

    /// The payload recording `evaluation` of `text`.
    static func payload(text: String, evaluation: Evaluation) -> [UInt8] {
        let verdict = evaluation.approved ? "approved" : "not approved"
        let object: [String: Any] = [
            "layer": "short_term",
            "content": "Action: \(text) | Score: \(ConscienceEngine.format(evaluation.score)) | \(verdict)",
            "tags": ["conscience"],
            "source": "conscience",
            "importance": min(1, abs(evaluation.score)),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Array(data)
    }

    /// Sends the record in the background.
    func record(text: String, evaluation: Evaluation) {
        let payload = Self.payload(text: text, evaluation: evaluation)
        let id = nextID.add(1, ordering: .relaxed).newValue
        // Created under the lock, so the task's own removal cannot run before its insertion.
        tasks.withLock { running in
            running[id] = Task { [self] in
                let outcome: MemoryOutcome
                do {
                    let reply = try await bus.request(
                        Self.topic, Outgoing(payload, contentType: "application/json"), timeout: timeout)
                    let status = reply.headers["status"].flatMap { Int($0) } ?? 200
                    outcome = (200..<300).contains(status) ? .stored : .failed
                } catch let error as JameyError {
                    switch error.code {
                    case .noResponders: outcome = .noResponder
                    case .timeout: outcome = .timeout
                    default: outcome = .failed
                    }
                } catch {
                    outcome = .failed
                }
                metrics.recorded(outcome)
                _ = tasks.withLock { $0.removeValue(forKey: id) }
            }
        }
    }

    /// Waits for the records still in flight (at stop, so none outlives the plugin).
    func drain() async {
        let pending = tasks.withLock { Array($0.values) }
        for task in pending { await task.value }
    }
}
