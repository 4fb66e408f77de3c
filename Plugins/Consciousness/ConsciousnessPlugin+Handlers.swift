import ConsciousnessCore
import Dispatch
import Foundation
import JameyPluginKit
import PluginReplies

extension ConsciousnessPlugin {
    func subscribeHandlers() throws {
        let bus = context.bus
        try bus.respond(Topic.process) { [self] request in await process(request) }
        try bus.respondInline(Topic.metrics, direct: true) { [self] _ in Reply.json(core.levels(at: now)) }
    }

    /// Handles one `consciousness.process` request: refuses it with 429 beyond `max_in_flight`,
    /// checks the text before asking anyone, gathers the conscience's score and the soul's
    /// reading, runs the pipeline and publishes a broadcast.
    func process(_ request: Message) async -> Outgoing {
        guard inFlight.add(1, ordering: .acquiring).newValue <= configuration.maxInFlight else {
            inFlight.subtract(1, ordering: .releasing)
            metrics.overloaded.increment()
            return Reply.problem(
                status: 429, slug: "overloaded",
                detail: "consciousness: \(configuration.maxInFlight) texts are being processed (max_in_flight); try again shortly"
            )
        }
        defer { inFlight.subtract(1, ordering: .releasing) }
        let started = DispatchTime.now()
        let text: String
        let entity: String?
        do {
            (text, entity) = try Self.parse(request)
            _ = try TextInput(text, maxLength: configuration.maxTextLength)
        } catch {
            metrics.refused.increment()
            return Reply.badRequest("\(error)")
        }
        var sources = Sources()
        let inputs = EmotionInputs(
            conscienceScore: await conscienceScore(text, &sources.conscience),
            soul: await soulReading(entity, &sources.soul))
        let outcome: Outcome
        do {
            outcome = try core.process(text, at: now, emotion: inputs)
        } catch {
            metrics.refused.increment()
            return Reply.badRequest(error.description)
        }
        if let broadcast = outcome.broadcast { publish(broadcast, priority: outcome.priority) }
        record(outcome)
        metrics.duration.recordInterval(since: started)
        return Reply.json(ProcessReply(outcome: outcome, sources: sources))
    }

    /// The text and optional entity of a request: `{"text": ..., "entity": ...}` or a
    /// `text/plain` body.
    static func parse(_ request: Message) throws -> (String, String?) {
        if request.contentType?.lowercased().hasPrefix("text/plain") == true {
            guard let text = String(validating: request.payload, as: UTF8.self) else {
                throw BodyError("text: expected UTF-8, found bytes that are not valid UTF-8")
            }
            return (text, nil)
        }
        let body = try RequestBody(request.payload, allowed: ["text", "entity"])
        guard let text = try body.string("text") else { throw BodyError("text: required (a string of 1 to 10000 characters)") }
        let entity = try body.string("entity")
        // Counted in code points, as the schema's `maxLength` counts.
        if let entity, entity.isEmpty || entity.unicodeScalars.count > 128 {
            throw BodyError("entity: expected 1 to 128 characters, found \(entity.unicodeScalars.count)")
        }
        return (text, entity)
    }

    /// Counts and gauges after a processed text.
    func record(_ outcome: Outcome) {
        metrics.processed.increment()
        if outcome.broadcast != nil { metrics.broadcasts.increment() }
        if outcome.attention.shifted { metrics.shifts.increment() }
        metrics.activity.record(outcome.activity)
        if let surprise = outcome.prediction.surprise { metrics.surprise.record(surprise) }
        metrics.confidence.record(outcome.prediction.confidence)
        metrics.integration.record(outcome.integration.value)
        metrics.higherOrder.record(outcome.higherOrder.level)
    }
}

/// What the conscience and the soul contributed to one text: `scored`/`read`, `not running`,
/// `not asked`, `unknown entity`, `timeout` or `failed: ...`.
struct Sources: Encodable {
    var conscience = "not asked"
    var soul = "not asked"
}

/// The `consciousness.process` reply: the outcome's members plus `sources`.
struct ProcessReply: Encodable {
    let outcome: Outcome
    let sources: Sources

    enum CodingKeys: String, CodingKey { case sources }

    func encode(to encoder: any Encoder) throws {
        try outcome.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sources, forKey: .sources)
    }
}
