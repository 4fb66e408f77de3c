import Foundation
import JameyGRDB
import JameyPluginKit
import PluginReplies
import SoulCore

extension SoulPlugin {
    /// Subscribes every handler. The operations on one entity answer inline on a bus thread
    /// (each is one short SQLite transaction); listing and decaying every entity take as long as
    /// there are entities, so they answer from a thread of their own, off the bus's shared
    /// threads; `soul.conscience.record` waits for the conscience, so it answers from a task.
    func subscribeHandlers() throws {
        let bus = context.bus
        try bus.respond(Topic.list) { [self] request in
            await onOwnThread(named: "soul-list") { [self] in answer(request) { try listEntities() } }
        }
        try bus.respondInline(Topic.get) { [self] request in answer(request) { try getEntity(request) } }
        try bus.respondInline(Topic.upsert) { [self] request in answer(request) { try upsertEntity(request) } }
        try bus.respondInline(Topic.delete) { [self] request in answer(request) { try deleteEntity(request) } }
        try bus.respondInline(Topic.record) { [self] request in answer(request) { try recordEmotion(request) } }
        try bus.respondInline(Topic.link) { [self] request in answer(request) { try linkMemory(request) } }
        try bus.respond(Topic.decay) { [self] request in
            await onOwnThread(named: "soul-decay") { [self] in answer(request) { try decay(request) } }
        }
        try bus.respond(Topic.conscience) { [self] request in await recordConscience(request) }
    }

    /// Runs `body`, turning refused input into 400, an unknown entity into 404 and anything else
    /// into a database failure's problem (500, 503 or 507, the cause logged only).
    func answer(_ request: Message, _ body: () throws -> Outgoing) -> Outgoing {
        do {
            return try body()
        } catch let error as BodyError {
            return Reply.badRequest(error.description)
        } catch let error as SoulError {
            return error.code == .notFound
                ? Reply.problem(status: 404, slug: "not-found", detail: error.description)
                : Reply.badRequest(error.description)
        } catch {
            let failure = databaseFailures.failure(error, database: "soul", requestID: request.requestID) {
                context.logger.error("\($0)")
            }
            return Reply.problem(
                status: failure.status, slug: failure.slug, detail: failure.detail, retryAfter: failure.retryAfterSeconds)
        }
    }

    /// The entity name of a request: the route's `{name}`, else the body's `name`.
    func entityName(_ request: Message, _ body: RequestBody) throws -> String {
        let fromPath = request.headers["http.param.name"]
        let fromBody = try body.string("name")
        if let fromPath, let fromBody, fromPath != fromBody {
            throw SoulError(.invalid, "name: the body names '\(fromBody.prefix(64))' but the path names '\(fromPath.prefix(64))'")
        }
        guard let name = fromPath ?? fromBody else { throw SoulError(.invalid, "name: required") }
        try SoulEntity.check(name: name)
        return name
    }

    func listEntities() throws -> Outgoing {
        let all = try store.all()
        return Reply.json(EntityList(entities: all.map(EntityView.init), total: all.count))
    }

    func getEntity(_ request: Message) throws -> Outgoing {
        let name = try entityName(request, try RequestBody(request.payload, allowed: ["name"], emptyIsObject: true))
        guard let entity = try store.entity(named: name) else { throw SoulError(.notFound, "no entity named '\(name)'") }
        return Reply.json(EntityView(entity))
    }

    /// Creates the entity or sets the trust and decay rate given (Jamey 3.0's `soul upsert NAME TRUST`).
    func upsertEntity(_ request: Message) throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["name", "trust", "decay_rate"], emptyIsObject: true)
        let name = try entityName(request, body)
        let trust = try body.number("trust", expected: "a number from 0 to 1")
        let rate = try body.number("decay_rate", expected: "a number from 0 to 1 (per day)")
        let now = Date()
        let (entity, _, created) = try store.modify(name, create: true, at: now) { e in
            if let trust { try e.setTrust(trust, at: now) }
            if let rate { try e.setDecayRate(rate, at: now) }
        }
        try changed(entity)
        return Reply.json(EntityView(entity), status: created ? 201 : 200)
    }

    func deleteEntity(_ request: Message) throws -> Outgoing {
        let name = try entityName(request, try RequestBody(request.payload, allowed: ["name"], emptyIsObject: true))
        guard try store.delete(named: name) else { throw SoulError(.notFound, "no entity named '\(name)'") }
        try refreshGauges()
        return Reply.noContent
    }

    /// Counts an emotion and applies the empathy boost (Jamey 3.0's `soul record NAME EMOTION`).
    func recordEmotion(_ request: Message) throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["name", "emotion"])
        let name = try entityName(request, body)
        guard let text = try body.string("emotion") else { throw SoulError(.invalid, "emotion: required (love, joy, ...)") }
        let emotion = try Emotion(parsing: text)
        let now = Date()
        let (entity, change, _) = try store.modify(name, create: true, at: now) { e in e.recordEmotion(emotion, at: now) }
        metrics.recordedDirect.increment()
        try changed(entity)
        return Reply.json(ChangeView(entity: EntityView(entity), trustChange: change, emotion: emotion.description))
    }

    func linkMemory(_ request: Message) throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["name", "memory_id"])
        let name = try entityName(request, body)
        guard let id = try body.string("memory_id") else { throw SoulError(.invalid, "memory_id: required") }
        let (entity, _, _) = try store.modify(name, create: false, at: Date()) { e in try e.link(memory: id) }
        return Reply.json(EntityView(entity))
    }

    /// How far past this node's clock an `at` may be: another node's clock may run ahead.
    static let decayClockSkew: TimeInterval = 60

    /// Decays every entity as of now, or as of the body's `at`, which may not be later than now
    /// (give or take ``decayClockSkew``): a decay as of next year would take every trust down a
    /// year early and hold decay until then.
    func decay(_ request: Message) throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["at"], emptyIsObject: true)
        let now = Date()
        let at = try body.time("at") ?? now
        guard at.timeIntervalSince(now) <= Self.decayClockSkew else {
            let text = ISO8601DateFormatter().string(from: now)
            let found = try body.string("at")?.prefix(40) ?? ""
            throw SoulError(.invalid, "at: expected a time no later than now (\(text)), found \(found)")
        }
        let changes = try store.decayAll(at: at)
        metrics.decayRuns.increment()
        try refreshGauges()
        return Reply.json(
            DecayView(
                updated: changes.filter { $0.change < 0 }.count, at: at,
                changes: Dictionary(changes.map { ($0.name, $0.change) }, uniquingKeysWith: min)))
    }

    /// Updates the gauges after `entity` changed.
    func changed(_ entity: SoulEntity) throws {
        metrics.lastTrust.record(entity.trust)
        try refreshGauges()
    }
}
