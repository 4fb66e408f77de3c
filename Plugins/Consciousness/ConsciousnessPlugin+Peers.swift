import ConsciousnessCore
import Foundation
import JameyPluginKit
import PluginReplies

/// The other plugins the pipeline talks to over the bus, each optional.
extension ConsciousnessPlugin {
    /// The conscience's score of `text`, or nil (with `note` saying why).
    func conscienceScore(_ text: String, _ note: inout String) async -> Double? {
        guard configuration.useConscience else { return nil }
        let payload = (try? JSONSerialization.data(withJSONObject: ["text": text])) ?? Data()
        guard let reply = await ask(Topic.evaluate, Array(payload), &note) else { return nil }
        guard Reply.status(of: reply) == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(reply.payload)) as? [String: Any],
            let score = (object["score"] as? NSNumber)?.doubleValue
        else {
            note = "failed: status \(Reply.status(of: reply))"
            return nil
        }
        note = "scored"
        return score
    }

    /// The soul's reading of `entity`, or nil (with `note` saying why).
    func soulReading(_ entity: String?, _ note: inout String) async -> SoulReading? {
        guard configuration.useSoul, let entity else { return nil }
        let payload = (try? JSONSerialization.data(withJSONObject: ["name": entity])) ?? Data()
        guard let reply = await ask(Topic.soulEntity, Array(payload), &note) else { return nil }
        let status = Reply.status(of: reply)
        guard status == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(reply.payload)) as? [String: Any],
            let trust = (object["trust"] as? NSNumber)?.doubleValue,
            let empathy = (object["empathy"] as? NSNumber)?.doubleValue
        else {
            note = status == 404 ? "unknown entity" : "failed: status \(status)"
            return nil
        }
        note = "read"
        return SoulReading(
            entity: entity, trust: trust, empathy: empathy, dominantEmotion: object["dominant_emotion"] as? String)
    }

    /// A bus request with the configured timeout; nil (and `note`) when nothing answers in time.
    func ask(_ topic: String, _ payload: [UInt8], _ note: inout String) async -> Message? {
        do {
            return try await context.bus.request(
                topic, Outgoing(payload, contentType: "application/json"), timeout: .milliseconds(configuration.timeoutMs))
        } catch {
            note =
                switch error.code {
                case .noResponders: "not running"
                case .timeout: "timeout"
                default: "failed: \(error)"
                }
            return nil
        }
    }

    /// Publishes a broadcast on `consciousness.workspace.broadcast` and, when configured, stores
    /// it in the memory plugin's working layer (in the background; never delays the reply).
    ///
    /// The event's payload: `{"sequence","content","priority","focus","timestamp","source":"consciousness"}`.
    func publish(_ broadcast: Broadcast, priority: Priority) {
        let event: [String: Any] = [
            "sequence": broadcast.sequence, "content": broadcast.content, "priority": broadcast.priority,
            "focus": broadcast.focus, "timestamp": ISO8601DateFormatter().string(from: Date()), "source": "consciousness",
        ]
        let data = (try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data()
        do {
            try context.bus.publish(Topic.broadcast, Outgoing(Array(data), contentType: "application/json"))
        } catch {
            context.logger.warning("broadcast \(broadcast.sequence) not published: \(error)")
        }
        guard configuration.recordBroadcasts else { return }
        let item: [String: Any] = [
            "layer": "working", "content": broadcast.content, "tags": ["consciousness", "broadcast"],
            "source": "consciousness", "importance": min(1, max(0, priority.value)),
        ]
        let payload = Array((try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys])) ?? Data())
        let id = nextTask.add(1, ordering: .relaxed).newValue
        pending.withLock { running in
            running[id] = Task { [self] in
                var note = ""
                if let reply = await ask(Topic.memoryStore, payload, &note) {
                    metrics.recorded((200..<300).contains(Reply.status(of: reply)) ? "stored" : "failed")
                } else {
                    metrics.recorded(note == "not running" ? "no_responder" : "failed")
                }
                _ = pending.withLock { $0.removeValue(forKey: id) }
            }
        }
    }
}
