import Foundation
import MemoryCore

/// A link as sent by a caller.
struct LinkBody: Decodable {
    var kind: String
    var target: String
    var relation: String?
}

/// One item to store, or the fields of a patch (with `id` over the bus).
struct ItemBody: Decodable {
    var id: String?
    var layer: String?
    var content: String?
    var tags: [String]?
    var source: String?
    var importance: Double?
    var pinned: Bool?
    var links: [LinkBody]?
}

/// A batch store.
struct BatchBody: Decodable {
    var items: [ItemBody]?
}

/// A list or search request (over HTTP a list comes as query parameters).
struct QueryBody: Decodable {
    var id: String?
    var query: String?
    var syntax: Bool?
    var mode: String?
    var layer: String?
    var layers: [String]?
    var tag: String?
    var tags: [String]?
    var source: String?
    var since: String?
    var until: String?
    var limit: Int?
    var reinforce: Bool?
}

/// Decoding of request bodies, with 400s that say what is wrong.
enum Bodies {
    /// Decodes `T` from a JSON payload; an empty payload decodes as `{}`. The bodies' keys are
    /// single words, so no key strategy: converting every key from snake case took a fifth of
    /// decoding a batch of 1 000 items.
    static func decode<T: Decodable>(_ type: T.Type, _ payload: [UInt8]) throws(MemoryError) -> T {
        let decoder = JSONDecoder()
        let data = payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) ? Data("{}".utf8) : Data(payload)
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw .badRequest("the request body is not valid: \(describe(error))")
        } catch {
            throw .badRequest("the request body is not valid JSON")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "the body" : p
        }
        switch error {
        case .typeMismatch(let type, let c): return "\(path(c)): expected \(type)"
        case .valueNotFound(let type, let c): return "\(path(c)): expected \(type), found null"
        case .keyNotFound(let key, _): return "\(key.stringValue) is missing"
        case .dataCorrupted(let c): return c.codingPath.isEmpty ? "it is not JSON" : "\(path(c)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// The layer called `name`.
    static func layer(_ name: String) throws(MemoryError) -> MemoryLayer {
        guard let layer = MemoryLayer(name: name) else {
            throw .badRequest("unknown layer '\(name.prefix(64))'; the layers are \(MemoryLayer.names)")
        }
        return layer
    }

    /// An ISO 8601 time (with or without fractional seconds) as Unix seconds.
    static func time(_ text: String?, _ field: String) throws(MemoryError) -> Double? {
        guard let text else { return nil }
        if let d = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return d.timeIntervalSince1970
        }
        if let d = try? Date(text, strategy: .iso8601) { return d.timeIntervalSince1970 }
        throw .badRequest("\(field) must be an ISO 8601 time such as 2026-01-31T12:00:00Z, not '\(text.prefix(40))'")
    }

    /// A new item from a body.
    static func newItem(_ body: ItemBody, defaultSource: String) throws(MemoryError) -> NewItem {
        guard let content = body.content else { throw .badRequest("content is missing") }
        return NewItem(
            layer: try layer(body.layer ?? MemoryLayer.shortTerm.name), content: content, tags: body.tags ?? [],
            source: body.source ?? defaultSource, importance: body.importance ?? 0.5, pinned: body.pinned ?? false,
            links: (body.links ?? []).map { MemoryLink(kind: $0.kind, target: $0.target, relation: $0.relation ?? "") })
    }

    /// A patch from a body.
    static func patch(_ body: ItemBody) throws(MemoryError) -> ItemPatch {
        var layer: MemoryLayer?
        if let name = body.layer { layer = try Self.layer(name) }
        return ItemPatch(
            content: body.content, tags: body.tags, importance: body.importance, pinned: body.pinned, layer: layer,
            links: body.links?.map { MemoryLink(kind: $0.kind, target: $0.target, relation: $0.relation ?? "") })
    }

    /// The filter of a list or search.
    static func filter(_ body: QueryBody) throws(MemoryError) -> ItemFilter {
        var layers: [MemoryLayer] = []
        for name in (body.layers ?? []) + (body.layer.map { [$0] } ?? []) { layers.append(try layer(name)) }
        let tags = (body.tags ?? []) + (body.tag.map { [$0] } ?? [])
        for tag in tags { try MemoryError.refuseNUL(tag, "tag") }
        if let source = body.source { try MemoryError.refuseNUL(source, "source") }
        return ItemFilter(
            layers: layers, tags: tags, source: body.source,
            since: try time(body.since, "since"), until: try time(body.until, "until"))
    }

    /// A list request from an HTTP query string (`layer=episodic&tag=a&tag=b&limit=5`).
    static func query(_ text: String) throws(MemoryError) -> QueryBody {
        var body = QueryBody()
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "layer": body.layers = (body.layers ?? []) + [parts[1]]
            case "tag": body.tags = (body.tags ?? []) + [parts[1]]
            case "source": body.source = parts[1]
            case "since": body.since = parts[1]
            case "until": body.until = parts[1]
            case "limit":
                guard let n = Int(parts[1]) else { throw .badRequest("limit must be an integer, not '\(parts[1].prefix(20))'") }
                body.limit = n
            default: continue
            }
        }
        return body
    }
}
