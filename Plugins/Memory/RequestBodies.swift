import Foundation
import MemoryCore

import enum PluginReplies.ComposedText
import enum PluginReplies.JSONMembers
import enum PluginReplies.RFC3339
import struct PluginReplies.RequestBody

/// A link as sent by a caller.
struct LinkBody: Decodable {
    var kind: String
    var target: String
    var relation: String?

    private enum CodingKeys: String, CodingKey, CaseIterable { case kind, target, relation }

    init(from decoder: any Decoder) throws {
        let c = try decoder.members(CodingKeys.allCases.map(\.rawValue))
        kind = try c.decode(String.self, forKey: .init(CodingKeys.kind))
        target = try c.decode(String.self, forKey: .init(CodingKeys.target))
        relation = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.relation))
    }
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

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case id, layer, content, tags, source, importance, pinned, links
    }

    /// The members of an item to store: the store gives the id.
    static let storeMembers = CodingKeys.allCases.filter { $0 != .id }.map(\.rawValue)
    /// The members of a patch: an item's, and its `id` over the bus.
    static let patchMembers = CodingKeys.allCases.map(\.rawValue)

    init(from decoder: any Decoder) throws {
        // An item of a batch is stored; at the top the caller says (``Bodies/decode(_:_:members:)``).
        let c = try decoder.members(decoder.codingPath.isEmpty ? Self.patchMembers : Self.storeMembers)
        id = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.id))
        layer = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.layer))
        content = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.content))
        tags = try c.decodeIfPresent([String].self, forKey: .init(CodingKeys.tags))
        source = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.source))
        importance = try c.decodeIfPresent(Double.self, forKey: .init(CodingKeys.importance))
        pinned = try c.decodeIfPresent(Bool.self, forKey: .init(CodingKeys.pinned))
        links = try c.decodeIfPresent([LinkBody].self, forKey: .init(CodingKeys.links))
    }
}

/// A batch store: `{"items": [...]}`, nothing beside it. A body without `items` is one item
/// (`items` nil), which the caller decodes as ``ItemBody``.
struct BatchBody: Decodable {
    var items: [ItemBody]?

    private enum CodingKeys: String, CodingKey { case items }

    init(from decoder: any Decoder) throws {
        guard try decoder.container(keyedBy: CodingKeys.self).contains(.items) else { return }
        items = try decoder.members(["items"]).decodeIfPresent([ItemBody].self, forKey: .init(CodingKeys.items))
    }
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

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case id, query, syntax, mode, layer, layers, tag, tags, source, since, until, limit, reinforce
    }

    /// The members of a get or a delete over the bus.
    static let idMembers = ["id"]
    /// The members of a list: the filters and the limit.
    static let listMembers = ["layer", "layers", "tag", "tags", "source", "since", "until", "limit"]
    /// The members of a search: a list's, the query and how to read and count it.
    static let searchMembers = listMembers + ["query", "syntax", "mode", "reinforce"]

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.members(CodingKeys.allCases.map(\.rawValue))
        id = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.id))
        query = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.query))
        syntax = try c.decodeIfPresent(Bool.self, forKey: .init(CodingKeys.syntax))
        mode = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.mode))
        layer = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.layer))
        layers = try c.decodeIfPresent([String].self, forKey: .init(CodingKeys.layers))
        tag = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.tag))
        tags = try c.decodeIfPresent([String].self, forKey: .init(CodingKeys.tags))
        source = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.source))
        since = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.since))
        until = try c.decodeIfPresent(String.self, forKey: .init(CodingKeys.until))
        limit = try c.decodeIfPresent(Int.self, forKey: .init(CodingKeys.limit))
        reinforce = try c.decodeIfPresent(Bool.self, forKey: .init(CodingKeys.reinforce))
    }
}

/// A member that the object being decoded does not take.
struct UnknownMember: Error {
    /// The member's name.
    var name: String
    /// Where the object is in the body (empty at the top).
    var path: [any CodingKey]
    /// The names the object takes.
    var expected: [String]
}

/// A member whose value is `null` (no request schema allows one: a member is given or left out).
struct NullMember: Error {
    /// The member's name.
    var name: String
    /// Where its object is in the body (empty at the top).
    var path: [any CodingKey]
}

/// Any member name, to list an object's members.
struct MemberName: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    /// The name of a body's own key.
    init(_ key: some CodingKey) { stringValue = key.stringValue }
}

extension Decoder {
    /// The object being decoded, keyed by any name, once its members are checked: throws
    /// ``UnknownMember`` when it has a member not in `known`, or, at the top of the body, not
    /// among the members the caller allows there (``Bodies/decode(_:_:members:)``). A typo in an
    /// optional member would otherwise be dropped without a word and its default used. A
    /// member that is `null` throws ``NullMember``. The
    /// caller decodes from the container returned: Foundation's decoder reads an object's
    /// members into a table for each container asked for, and a second one per item made a
    /// bulk store about 7 % slower.
    func members(_ known: [String]) throws -> KeyedDecodingContainer<MemberName> {
        var allowed = known
        if codingPath.isEmpty, let top = userInfo[Bodies.topMembers] as? [String] { allowed = top }
        let container = try container(keyedBy: MemberName.self)
        let names = container.allKeys
        if names.contains(where: { !allowed.contains($0.stringValue) }) {
            let unknown = names.map(\.stringValue).filter { !allowed.contains($0) }.sorted()[0]
            throw UnknownMember(name: unknown, path: codingPath, expected: allowed)
        }
        // After the unknown ones, as `RequestBody` does: a misspelt member is named as such.
        let nulls = names.filter { (try? container.decodeNil(forKey: $0)) == true }
        if let null = nulls.map(\.stringValue).min() { throw NullMember(name: null, path: codingPath) }
        return container
    }
}

/// Decoding of request bodies, with 400s that say what is wrong.
enum Bodies {
    /// Decodes `T` from a JSON payload; an empty payload decodes as `{}`. The bodies' keys are
    /// single words, so no key strategy: converting every key from snake case took a fifth of
    /// decoding a batch of 1 000 items.
    /// - Parameter members: the members the body's top object may have (default: every member
    ///   of `T`); any other is a 400 naming it, as is a member named twice in one object.
    static func decode<T: Decodable>(_ type: T.Type, _ payload: [UInt8], members: [String]? = nil) throws(MemoryError) -> T {
        // UTF-8 only, as every other plugin's bodies (`RequestBody`): JSONDecoder took UTF-16 and
        // UTF-32 (with a byte-order mark, or NULs between the characters) as well.
        guard String(validating: payload, as: UTF8.self) != nil else {
            throw .badRequest("the request body is not valid: expected UTF-8 JSON, found bytes that are not valid UTF-8")
        }
        guard !payload.contains(0) else { throw .badRequest(RequestBody.nulRefusal) }
        let decoder = JSONDecoder()
        if let members { decoder.userInfo[topMembers] = members }
        let data = payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) ? Data("{}".utf8) : Data(payload)
        do {
            let value = try decoder.decode(T.self, from: data)
            if let repeated = JSONMembers.firstDuplicate(in: payload) {
                throw MemoryError.badRequest("member '\(repeated.prefix(64))' appears more than once in one object")
            }
            return value
        } catch let error as MemoryError {
            throw error
        } catch let error as NullMember {
            throw .badRequest(RequestBody.nullRefusal(path(error.path + [MemberName(stringValue: error.name)])))
        } catch let error as UnknownMember {
            let place = error.path.isEmpty ? "the body" : path(error.path)
            throw .badRequest(
                "\(place): unknown member '\(error.name.prefix(64))'; expected \(error.expected.sorted().joined(separator: ", "))"
            )
        } catch let error as DecodingError {
            throw .badRequest("the request body is not valid: \(describe(error))")
        } catch {
            throw .badRequest("the request body is not valid JSON")
        }
    }

    /// The `userInfo` key of the members a body's top object may have.
    static let topMembers = CodingUserInfoKey(rawValue: "jamey.memory.members")!

    /// A place in a body: `items[3].links[0]`.
    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingPrefix(".").description
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "the body" : Self.path(context.codingPath)
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

    /// An RFC 3339 time (``RFC3339``; with or without fractional seconds) as Unix seconds.
    static func time(_ text: String?, _ field: String) throws(MemoryError) -> Double? {
        guard let text else { return nil }
        if let d = RFC3339.date(text) { return d.timeIntervalSince1970 }
        throw .badRequest("\(field) must be an ISO 8601 time such as 2026-01-31T12:00:00Z, not '\(text.prefix(40))'")
    }

    /// A list's or search's `limit`: `fallback` when absent, a 400 below 1 (the schemas'
    /// minimum); above `max_results` the store answers `max_results` hits.
    static func limit(_ given: Int?, fallback: Int) throws(MemoryError) -> Int {
        guard let given else { return fallback }
        guard given >= 1 else { throw .badRequest("limit must be at least 1, not \(given)") }
        return given
    }

    /// A new item from a body.
    static func newItem(_ body: ItemBody, defaultSource: String) throws(MemoryError) -> NewItem {
        guard let content = body.content else { throw .badRequest("content is missing") }
        return NewItem(
            layer: try layer(body.layer ?? MemoryLayer.shortTerm.name), content: content, tags: body.tags ?? [],
            source: body.source ?? defaultSource, importance: body.importance ?? 0.5, pinned: body.pinned ?? false,
            links: links(body.links ?? []))
    }

    /// Links from a body.
    static func links(_ bodies: [LinkBody]) -> [MemoryLink] {
        bodies.map { MemoryLink(kind: $0.kind, target: $0.target, relation: $0.relation ?? "") }
    }

    /// A patch from a body.
    static func patch(_ body: ItemBody) throws(MemoryError) -> ItemPatch {
        var layer: MemoryLayer?
        if let name = body.layer { layer = try Self.layer(name) }
        return ItemPatch(
            content: body.content, tags: body.tags, importance: body.importance, pinned: body.pinned, layer: layer,
            links: body.links.map(links))
    }

    /// The filter of a list or search.
    static func filter(_ body: QueryBody) throws(MemoryError) -> ItemFilter {
        var layers: [MemoryLayer] = []
        for name in (body.layers ?? []) + (body.layer.map { [$0] } ?? []) { layers.append(try layer(name)) }
        let tags = (body.tags ?? []) + (body.tag.map { [$0] } ?? [])
        for tag in tags { try MemoryError.refuseNUL(tag, "tag") }
        if let source = body.source { try MemoryError.refuseNUL(source, "source") }
        return ItemFilter(
            layers: layers, tags: tags.map(ComposedText.of), source: body.source.map(ComposedText.of),
            since: try time(body.since, "since"), until: try time(body.until, "until"))
    }

    /// A list request from an HTTP query string (`layer=episodic&tag=a&tag=b&limit=5`); any
    /// other parameter is a 400 naming it (a misspelt filter would otherwise list everything).
    static func query(_ text: String) throws(MemoryError) -> QueryBody {
        var body = QueryBody()
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            guard parts.count == 2 else {
                throw .badRequest("query parameter '\(parts.first?.prefix(64) ?? "")' needs a value (name=value)")
            }
            switch parts[0] {
            case "layer": body.layers = (body.layers ?? []) + [parts[1]]
            case "tag": body.tags = (body.tags ?? []) + [parts[1]]
            case "source": body.source = parts[1]
            case "since": body.since = parts[1]
            case "until": body.until = parts[1]
            case "limit":
                guard let n = Int(parts[1]) else { throw .badRequest("limit must be an integer, not '\(parts[1].prefix(20))'") }
                body.limit = n
            default:
                throw .badRequest(
                    "unknown query parameter '\(parts[0].prefix(64))'; expected layer, tag, source, since, until, limit")
            }
        }
        return body
    }
}
