import Foundation
import JameyPluginKit
import PluginReplies
import SoulCore

extension SoulPlugin {
    /// The conscience plugin's evaluation topic.
    static let evaluateTopic = "conscience.evaluate"

    /// Evaluates `{"text": ...}` with the conscience plugin over the bus, then records the mapped
    /// emotion on the entity (created when absent) and moves its trust (``ConscienceFeeling``).
    /// The conscience's own refusals (an empty text, ...) are passed on with their status.
    func recordConscience(_ request: Message) async -> Outgoing {
        let name: String
        let text: String
        do {
            let body = try RequestBody(request.payload, allowed: ["name", "text"])
            name = try entityName(request, body)
            guard let given = try body.string("text") else { throw SoulError(.invalid, "text: required") }
            text = given
        } catch {
            metrics.conscience("refused")
            return answer(request) { throw error }
        }
        let payload = (try? JSONSerialization.data(withJSONObject: ["text": text])) ?? Data()
        let reply: Message
        do {
            reply = try await context.bus.request(
                Self.evaluateTopic, Outgoing(Array(payload), contentType: "application/json"),
                timeout: .milliseconds(configuration.conscienceTimeoutMs))
        } catch {
            let missing = error.code == .noResponders
            metrics.conscience(missing ? "no_conscience" : "failed")
            return Reply.problem(
                status: 503, slug: "unavailable",
                detail: missing
                    ? "conscience: the conscience plugin is not running (nothing answers conscience.evaluate)"
                    : "conscience: conscience.evaluate failed: \(error)")
        }
        let status = Reply.status(of: reply)
        guard status == 200 else {
            metrics.conscience("refused")
            return Outgoing(reply.payload, contentType: reply.contentType, headers: ["status": String(status)])
        }
        guard let verdict = try? JSONDecoder().decode(ConscienceVerdict.self, from: Data(reply.payload)) else {
            metrics.conscience("failed")
            return Reply.problem(status: 502, slug: "bad-gateway", detail: "conscience: the evaluation could not be read")
        }
        // A write transaction (queued behind any other, then synced): on a thread of its own,
        // not on the concurrency pool this handler runs on.
        return await onOwnThread(named: "soul-conscience") { [self] in
            answer(request) {
                let feeling = try ConscienceFeeling(score: verdict.score)
                let now = Date()
                let (entity, change, _) = try store.modify(name, create: true, at: now) { e in feeling.apply(to: &e, at: now) }
                metrics.conscience("ok")
                metrics.recordedConscience.increment()
                try changed(entity)
                return Reply.json(
                    ConscienceFeelingView(
                        entity: EntityView(entity), evaluation: verdict, emotion: feeling.emotion.description,
                        intensity: feeling.intensity, trustChange: change))
            }
        }
    }
}
