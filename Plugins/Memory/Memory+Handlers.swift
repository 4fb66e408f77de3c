import Foundation
import JameyPluginKit
import MemoryCore

extension Memory {
    /// Answers `memory.items.store|get|update|delete|list|search` and `memory.consolidate`.
    /// Over HTTP the api plugin forwards the same topics (path parameters as `http.param.*`
    /// headers, the list's filters as `http.query`).
    func registerHandlers() throws {
        let bus = context.bus
        try bus.respond("memory.items.store") { [self] m in await answer(m) { try await storeItems(m) } }
        try bus.respond("memory.items.get") { [self] m in
            await answer(m) {
                let (item, links) = try await store.get(id: try id(of: m))
                return Replies.json(Replies.item(item, links: links))
            }
        }
        try bus.respond("memory.items.update") { [self] m in
            await answer(m) {
                let body = try Bodies.decode(ItemBody.self, m.payload, members: ItemBody.patchMembers)
                let events = ItemEvents()
                let item = try await store.update(id: try id(of: m, body: body.id), try Bodies.patch(body), events: events)
                publish()
                return Replies.json(Replies.item(item, links: []))
            }
        }
        try bus.respond("memory.items.delete") { [self] m in
            await answer(m) {
                let id = try id(of: m)
                let events = ItemEvents()
                guard try await store.delete(id: id, events: events) else { throw MemoryError.notFound(id) }
                publish()
                return Outgoing([], headers: ["status": "204"])
            }
        }
        try bus.respond("memory.items.list") { [self] m in
            await answer(m) {
                let body =
                    m.headers["http.method"] != nil
                    ? try Bodies.query(m.headers["http.query"] ?? "")
                    : try Bodies.decode(QueryBody.self, m.payload, members: QueryBody.listMembers)
                let items = try await store.list(try Bodies.filter(body), limit: try Bodies.limit(body.limit, fallback: 100))
                return Replies.json(["items": items.map { Replies.item($0.0, links: $0.1) }])
            }
        }
        try bus.respond("memory.items.search") { [self] m in await answer(m) { try await cachedSearch(m) } }
        try bus.respond("memory.consolidate") { [self] m in
            await answer(m) { Replies.json(Replies.report(try await runConsolidation())) }
        }
    }

    /// Runs `body`; a ``MemoryError`` becomes its problem reply, anything else a database
    /// failure's (500, 503 or 507, the cause logged only).
    private func answer(_ request: Message, _ body: () async throws -> Outgoing) async -> Outgoing {
        do {
            return try await body()
        } catch let error as MemoryError {
            metrics.failed()
            return Replies.problem(error)
        } catch {
            metrics.failed()
            return Replies.problem(
                MemoryError.database(error, request: request, logger: context.logger, recent: databaseFailures))
        }
    }

    /// The item id: the `{id}` path parameter over HTTP, or `id` in the JSON payload (a patch's
    /// `body`, else the payload's only member); both given must agree.
    private func id(of m: Message, body: String? = nil) throws -> String {
        let path = m.headers["http.param.id"]
        let given = try body ?? (path == nil ? Bodies.decode(QueryBody.self, m.payload, members: QueryBody.idMembers).id : nil)
        if let path, let given, path != given {
            throw MemoryError.badRequest("id: the body says '\(given.prefix(64))' but the path says '\(path.prefix(64))'")
        }
        guard let id = path ?? given, !id.isEmpty else { throw MemoryError.badRequest("id is missing") }
        try MemoryError.refuseNUL(id, "id")
        return id
    }

    private func storeItems(_ m: Message) async throws -> Outgoing {
        let batch = try Bodies.decode(BatchBody.self, m.payload)
        let source = m.source == "api" ? "" : m.source
        if let bodies = batch.items {
            var items: [NewItem] = []
            for body in bodies { items.append(try Bodies.newItem(body, defaultSource: source)) }
            let events = ItemEvents()
            let outcomes = try await store.store(items, events: events)
            stored(outcomes)
            return Replies.storedReply(outcomes)
        }
        let item = try Bodies.newItem(
            try Bodies.decode(ItemBody.self, m.payload, members: ItemBody.storeMembers), defaultSource: source)
        let events = ItemEvents()
        let outcomes = try await store.store([item], events: events)
        stored(outcomes)
        let outcome = outcomes[0]
        return Replies.json(
            ["item": Replies.item(outcome.item, links: outcome.links), "merged": outcome.merged],
            status: outcome.merged ? 200 : 201)
    }

    private func stored(_ outcomes: [StoreOutcome]) {
        for o in outcomes where !o.merged { metrics.stored(o.item.layer) }
        publish()
    }

    /// Publishes the item events committed and not yet published (each transaction wrote its
    /// events to the outbox), oldest first, as `memory.events.item.<kind>` with `event_id`. What
    /// the bus does not take stays in the outbox for the maintenance task or the next start.
    func publish() {
        let bus = context.bus
        store.outbox.drain(
            read: store.outboxRows,
            publish: { entry in try bus.publish(entry.topic, Outgoing(entry.published, contentType: "application/json")) })
    }
}
