import ConscienceCore
import Dispatch
import JameyGRDB
import JameyPluginKit
import PluginReplies
import Synchronization

extension ConsciencePlugin {
    /// Bus topics this plugin answers.
    enum Topic {
        static let create = "conscience.rules.create"
        static let get = "conscience.rules.get"
        static let update = "conscience.rules.update"
        static let delete = "conscience.rules.delete"
        static let list = "conscience.rules.list"
        static let evaluate = "conscience.evaluate"
    }

    /// Members a rule body may have.
    static let ruleMembers: Set<String> = ["name", "description", "keywords", "weight", "polarity"]

    /// Subscribes every handler. Reads answer inline on a bus thread; `conscience.evaluate` is a
    /// direct subscription (it only reads the engine under a lock), so an HTTP evaluation is
    /// answered on the gateway's own thread. A change of a rule is a synced write and a reload
    /// of the rules: it answers from a thread of its own, off the bus's shared threads.
    func subscribeHandlers() throws {
        let bus = context.bus
        try bus.respondInline(Topic.list) { [self] request in
            answer(request) { Reply.json(RuleList(rules: engine.withLock { $0.rules })) }
        }
        try bus.respondInline(Topic.get) { [self] request in answer(request) { try getRule(request) } }
        try bus.respond(Topic.create) { [self] request in
            await onOwnThread(named: "conscience-rules") { [self] in answer(request) { try createRule(request) } }
        }
        try bus.respond(Topic.update) { [self] request in
            await onOwnThread(named: "conscience-rules") { [self] in answer(request) { try updateRule(request) } }
        }
        try bus.respond(Topic.delete) { [self] request in
            await onOwnThread(named: "conscience-rules") { [self] in answer(request) { try deleteRule(request) } }
        }
        try bus.respondInline(Topic.evaluate, direct: true) { [self] request in answer(request) { try evaluate(request) } }
    }

    /// Runs `body`, turning a ``ConscienceError`` into its problem reply and any other error
    /// into a database failure's problem (500, 503 or 507, the cause logged only).
    func answer(_ request: Message, _ body: () throws -> Outgoing) -> Outgoing {
        do {
            return try body()
        } catch let error as ConscienceError {
            return Reply.problem(error)
        } catch let error as BodyError {
            return Reply.badRequest(error.description)
        } catch {
            let failure = databaseFailures.failure(error, database: "conscience", requestID: request.requestID) {
                context.logger.error("\($0)")
            }
            return Reply.problem(
                status: failure.status, slug: failure.slug, detail: failure.detail, retryAfter: failure.retryAfterSeconds)
        }
    }

    /// The rule name of a request: the route's `{name}` parameter, else the body's `name`.
    func ruleName(_ request: Message, _ body: RequestBody) throws -> String {
        let fromPath = request.headers["http.param.name"]
        let fromBody = try body.string("name")
        if let fromPath, let fromBody, fromPath != fromBody {
            throw ConscienceError(
                .invalid,
                "name: the body names '\(fromBody.prefix(64))' but the path names '\(fromPath.prefix(64))'; rules cannot be renamed"
            )
        }
        guard let name = fromPath ?? fromBody else { throw ConscienceError(.invalid, "name: required") }
        try MoralRule.check(name: name)
        return name
    }

    func getRule(_ request: Message) throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["name"], emptyIsObject: true)
        let name = try ruleName(request, body)
        guard let rule = try store.rule(named: name) else { throw ConscienceError(.notFound, "no rule named '\(name)'") }
        return Reply.json(rule)
    }

    func createRule(_ request: Message) throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: Self.ruleMembers)
        let name = try ruleName(request, body)
        guard let description = try body.string("description") else { throw ConscienceError(.invalid, "description: required") }
        guard let weight = try body.weight() else { throw ConscienceError(.invalid, "weight: required (0 to 10)") }
        guard let polarity = try body.polarity() else {
            throw ConscienceError(.invalid, "polarity: required ('virtue' or 'prohibition')")
        }
        let rule = try MoralRule(
            name: name, description: description, keywords: try body.strings("keywords") ?? [], weight: weight,
            polarity: polarity)
        try writes.withLock { _ in
            guard try store.insert(rule) else { throw ConscienceError(.exists, "a rule named '\(name)' already exists") }
            try reload()
        }
        metrics.changed("create")
        return Reply.json(rule, status: 201)
    }

    /// Changes the members given; the others keep their values (keywords included, unless given).
    func updateRule(_ request: Message) throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: Self.ruleMembers)
        let name = try ruleName(request, body)
        let rule = try writes.withLock { _ in
            guard let old = try store.rule(named: name) else { throw ConscienceError(.notFound, "no rule named '\(name)'") }
            let (description, keywords) = (try body.string("description"), try body.strings("keywords"))
            let (weight, polarity) = (try body.weight() ?? old.weight, try body.polarity() ?? old.polarity)
            // A change of weight or polarity alone keeps the description and keywords as stored,
            // unchecked: a rule stored under earlier limits can still be tuned.
            let rule =
                description == nil && keywords == nil
                ? try MoralRule(
                    stored: name, description: old.description, keywords: old.keywords, weight: weight, polarity: polarity)
                : try MoralRule(
                    name: name, description: description ?? old.description, keywords: keywords ?? old.keywords,
                    weight: weight, polarity: polarity)
            guard try store.replace(rule) else { throw ConscienceError(.notFound, "no rule named '\(name)'") }
            try reload()
            return rule
        }
        metrics.changed("update")
        return Reply.json(rule)
    }

    func deleteRule(_ request: Message) throws -> Outgoing {
        let body = try RequestBody(request.payload, allowed: ["name"], emptyIsObject: true)
        let name = try ruleName(request, body)
        try writes.withLock { _ in
            guard try store.delete(named: name) else { throw ConscienceError(.notFound, "no rule named '\(name)'") }
            try reload()
        }
        metrics.changed("delete")
        return Reply.noContent
    }

    /// Evaluates `{"text": "..."}` (or Jamey 3.0's `{"action": "..."}`, or a `text/plain` body).
    func evaluate(_ request: Message) throws -> Outgoing {
        let text: String
        do {
            text = try Self.evaluatedText(request)
        } catch {
            metrics.refused.increment()
            throw error
        }
        let started = DispatchTime.now()
        let evaluation: Evaluation
        do {
            // A copy of the rules, evaluated outside the lock: evaluations (up to max_text_length
            // each) ran one at a time on this direct subscription, and rule changes and health
            // waited behind them.
            let rules = engine.withLock { $0 }
            evaluation = try rules.evaluate(text)
        } catch {
            metrics.refused.increment()
            throw error
        }
        metrics.duration.recordInterval(since: started)
        (evaluation.approved ? metrics.approved : metrics.rejected).increment()
        metrics.lastScore.record(evaluation.score)
        if configuration.memory.record {
            if mayRecord(request) {
                recorder.record(text: text, evaluation: evaluation)
            } else {
                metrics.recorded(.readOnlyCaller)
            }
        }
        return Reply.json(evaluation)
    }

    /// Whether the evaluation `request` asked for is recorded in memory: always for a plugin's
    /// request (no `auth.scope`: nothing came over HTTP), and for a caller whose key may write;
    /// a read-only caller's only with `memory.record_read_callers`. Each record takes a place in
    /// `short_term`, whose capacity drops the oldest items, so a read key evaluating in a loop
    /// pushed out items that write keys had stored (10 800 evaluations did, in the security
    /// audit).
    func mayRecord(_ request: Message) -> Bool {
        guard let scope = request.headers["auth.scope"] else { return true }
        return scope == "write" || scope == "admin" || configuration.memory.recordReadCallers
    }

    /// The text of an evaluation request.
    static func evaluatedText(_ request: Message) throws -> String {
        if request.contentType?.lowercased().hasPrefix("text/plain") == true {
            guard let text = String(validating: request.payload, as: UTF8.self) else {
                throw ConscienceError(.invalid, "text: expected UTF-8, found bytes that are not valid UTF-8")
            }
            return text
        }
        let body = try RequestBody(request.payload, allowed: ["text", "action"])
        // Both read, so a mistyped `action` beside a `text` is refused, not ignored.
        let (text, action) = (try body.string("text"), try body.string("action"))
        guard let text = text ?? action else {
            throw ConscienceError(.invalid, "text: required (a string of 1 to 10000 characters)")
        }
        return text
    }
}

/// The `conscience.rules.list` reply.
struct RuleList: Encodable {
    /// Every rule, by name.
    let rules: [MoralRule]
}
