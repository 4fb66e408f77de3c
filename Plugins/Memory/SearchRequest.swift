import MemoryCore
import PluginReplies

/// A search as the bus topic `memory.items.search`, the route `POST /v1/memory/search` and the
/// `memory.search` service table receive it: the JSON body, checked.
struct SearchRequest: Sendable {
    /// The FTS5 expression.
    var query: FTSQuery
    /// Which items.
    var filter: ItemFilter
    /// Most hits (default 10).
    var limit: Int
    /// Count the hits as retrieved (default true).
    var reinforce: Bool

    /// Parses a JSON body.
    /// - Parameter payload: the body.
    /// - Throws: ``MemoryError`` 400 for a bad body or query.
    init(_ payload: [UInt8]) throws(MemoryError) {
        let body = try Bodies.decode(QueryBody.self, payload, members: QueryBody.searchMembers)
        guard let text = body.query else { throw .badQuery("query is missing") }
        try MemoryError.refuseNUL(text, "query")
        guard let mode = FTSQuery.Mode(rawValue: body.mode ?? "all") else { throw .badQuery("mode must be 'all' or 'any'") }
        do { query = try FTSQuery(ComposedText.of(text), syntax: body.syntax ?? false, mode: mode) } catch {
            throw .badQuery(error.description)
        }
        filter = try Bodies.filter(body)
        limit = try Bodies.limit(body.limit, fallback: 10)
        reinforce = body.reinforce ?? true
    }
}
