import Foundation
import JameyPluginKit
import MemoryCore
import Synchronization

/// Replies: items as JSON objects, and errors as problem+json with a `status` header.
enum Replies {
    /// ISO 8601 with milliseconds, UTC. The last result is kept: the items of a batch share
    /// one time, and formatting is most of what replying to a bulk store costs.
    static func time(_ date: Date) -> String {
        if let (last, text) = lastTime.withLock({ $0 }), last == date { return text }
        let text = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
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
        let object: [String: Any] = [
            "type": "urn:jamey:problem:" + error.slug, "title": title(error.status), "status": error.status,
            "detail": error.detail,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Outgoing(Array(data), contentType: "application/problem+json", headers: ["status": String(error.status)])
    }

    private static func title(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 404: "Not Found"
        case 409: "Conflict"
        case 413: "Content Too Large"
        default: "Internal Server Error"
        }
    }

    /// Search hits as the `{"hits": [...]}` reply.
    static func hits(_ hits: [SearchHit]) -> [String: Any] {
        ["hits": hits.map { ["item": item($0.item, links: $0.links), "score": $0.score, "bm25": $0.bm25] }]
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
