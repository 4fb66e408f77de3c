import Foundation
import JameyPluginKit
import MemoryCore
import Synchronization

import enum PluginReplies.RFC3339
import enum PluginReplies.Reply

/// Replies: items as JSON objects, and errors as problem+json with a `status` header.
enum Replies {
    /// RFC 3339 with milliseconds, UTC, as requests' times are read (``RFC3339``: the proleptic
    /// Gregorian calendar before 1582 too). The last result is kept: the items of a batch share
    /// one time.
    static func time(_ date: Date) -> String {
        if let (last, text) = lastTime.withLock({ $0 }), last == date { return text }
        let text = RFC3339.string(date)
        lastTime.withLock { $0 = (date, text) }
        return text
    }

    private static let lastTime = Mutex<(Date, String)?>(nil)

    /// An item as a JSON object.
    static func item(_ item: MemoryItem, links: [MemoryLink]) -> [String: Any] {
        [
            "id": item.id, "layer": item.layer.name, "content": item.content, "tags": item.tags, "source": item.source,
            "importance": item.importance, "created_at": time(item.createdAt),
            "last_accessed_at": time(item.lastAccessedAt), "access_count": item.accessCount,
            "expires_at": item.expiresAt.map { time($0) as Any } ?? NSNull(), "pinned": item.pinned,
            "links": links.map { ["kind": $0.kind, "target": $0.target, "relation": $0.relation] },
        ]
    }

    /// A JSON reply with an HTTP status.
    static func json(_ object: [String: Any], status: Int = 200) -> Outgoing {
        Outgoing(JSONText.data(object) ?? Array("{}".utf8), contentType: "application/json", headers: ["status": String(status)])
    }

    /// An error as problem+json (RFC 9457) with the `status` header.
    static func problem(_ error: MemoryError) -> Outgoing {
        Reply.problem(status: error.status, slug: error.slug, detail: error.detail, retryAfter: error.retryAfter)
    }

    /// The 200 reply to a search, `{"hits": [{"bm25", "item", "score"}, ...]}` with each item as
    /// ``item(_:links:)`` gives it: written field by field with the keys in sorted order, the
    /// bytes ``json(_:)`` writes for the same dictionaries (which took about a tenth of a
    /// search's CPU, perf, rare words at a million items). A score that is not a finite number
    /// gives `{}`, as there.
    static func hitsReply(_ hits: [SearchHit]) -> Outgoing {
        var out: [UInt8] = []
        out.reserveCapacity(64 + hits.reduce(0) { $0 + 320 + $1.item.content.utf8.count })
        out.append(contentsOf: #"{"hits":["#.utf8)
        for (index, hit) in hits.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"bm25":"#.utf8)
            guard JSONText.number(hit.bm25, into: &out) else { return json([:]) }
            out.append(contentsOf: #","item":"#.utf8)
            guard write(hit.item, links: hit.links, into: &out) else { return json([:]) }
            out.append(contentsOf: #","score":"#.utf8)
            guard JSONText.number(hit.score, into: &out) else { return json([:]) }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: "]}".utf8)
        return Outgoing(out, contentType: "application/json", headers: ["status": "200"])
    }

    /// The reply to a batch store, `{"results": [{"item", "merged"}, ...]}` (201), each item
    /// with its links after the store (``StoreOutcome/links``), written as ``hitsReply(_:)`` is: the bytes ``json(_:status:)`` writes for the
    /// same dictionaries, which for a batch of a thousand took about 4 % of a bulk store's CPU
    /// (perf, 100 000 items).
    static func storedReply(_ outcomes: [StoreOutcome]) -> Outgoing {
        var out: [UInt8] = []
        out.reserveCapacity(64 + outcomes.reduce(0) { $0 + 320 + $1.item.content.utf8.count })
        out.append(contentsOf: #"{"results":["#.utf8)
        for (index, outcome) in outcomes.enumerated() {
            out.append(contentsOf: (index > 0 ? #",{"item":"# : #"{"item":"#).utf8)
            guard write(outcome.item, links: outcome.links, into: &out) else { return json([:], status: 201) }
            out.append(contentsOf: (outcome.merged ? #","merged":true}"# : #","merged":false}"#).utf8)
        }
        out.append(contentsOf: "]}".utf8)
        return Outgoing(out, contentType: "application/json", headers: ["status": "201"])
    }

    /// Appends ``item(_:links:)``'s object as `JSONText` writes it (keys sorted).
    /// - Returns: false when the importance is not a finite number.
    private static func write(_ item: MemoryItem, links: [MemoryLink], into out: inout [UInt8]) -> Bool {
        func raw(_ text: String) { out.append(contentsOf: text.utf8) }
        raw(#"{"access_count":"#)
        out.append(contentsOf: String(item.accessCount).utf8)
        raw(#","content":"#)
        JSONText.string(item.content, into: &out)
        raw(#","created_at":"#)
        JSONText.string(time(item.createdAt), into: &out)
        raw(#","expires_at":"#)
        if let expiresAt = item.expiresAt { JSONText.string(time(expiresAt), into: &out) } else { raw("null") }
        raw(#","id":"#)
        JSONText.string(item.id, into: &out)
        raw(#","importance":"#)
        guard JSONText.number(item.importance, into: &out) else { return false }
        raw(#","last_accessed_at":"#)
        JSONText.string(time(item.lastAccessedAt), into: &out)
        raw(#","layer":"#)
        JSONText.string(item.layer.name, into: &out)
        raw(#","links":["#)
        for (index, link) in links.enumerated() {
            raw(index > 0 ? #",{"kind":"# : #"{"kind":"#)
            JSONText.string(link.kind, into: &out)
            raw(#","relation":"#)
            JSONText.string(link.relation, into: &out)
            raw(#","target":"#)
            JSONText.string(link.target, into: &out)
            raw("}")
        }
        raw(#"],"pinned":"#)
        raw(item.pinned ? "true" : "false")
        raw(#","source":"#)
        JSONText.string(item.source, into: &out)
        raw(#","tags":["#)
        for (index, tag) in item.tags.enumerated() {
            if index > 0 { raw(",") }
            JSONText.string(tag, into: &out)
        }
        raw("]}")
        return true
    }

    /// A consolidation report as JSON.
    static func report(_ r: ConsolidationReport) -> [String: Any] {
        func byLayer(_ d: [MemoryLayer: Int]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: d.map { ($0.key.name, $0.value) })
        }
        return [
            "expired": byLayer(r.expired), "merged": byLayer(r.merged), "promoted": r.promoted, "evicted": byLayer(r.evicted),
        ]
    }
}
