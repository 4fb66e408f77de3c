import Foundation
import GRDB
import MemoryCore
import Synchronization

/// A change to one item, published once its transaction has committed as
/// `memory.events.item.<kind>` with a JSON payload `{"id", "layer", "source", ...detail}`
/// (README "Memory", "Events").
struct ItemEvent: Sendable, Equatable {
    /// What happened to the item.
    enum Kind: String, Sendable {
        /// A new item was stored.
        case stored
        /// An item changed: by an update (`reason: "update"`) or because a stored near-duplicate
        /// was merged into it (`reason: "merged"`).
        case updated
        /// An item is gone: `reason` is `request`, `evicted` (its layer was over capacity) or
        /// `merged` (consolidation merged it `into` another item).
        case deleted
        /// A sweep deleted the expired item.
        case expired
        /// Consolidation changed the item: `action` is `merged` (it absorbed the item
        /// `merged_id`) or `promoted` (it moved `from` another layer).
        case consolidated
    }

    var kind: Kind
    var id: String
    /// The item's layer after the change (for a deleted or expired item, the layer it was in).
    var layer: String
    var source: String
    /// More about the change (`reason`, `into`, `action`, `merged_id`, `from`).
    var detail: [String: String] = [:]

    /// The event's topic.
    var topic: String { "memory.events.item." + kind.rawValue }

    /// The event's JSON payload, keys sorted (as ``JSONText/data(_:)`` writes an object),
    /// written field by field: a store writes one per item inside its transaction.
    var payload: [UInt8] {
        var fields = detail
        fields["id"] = id
        fields["layer"] = layer
        fields["source"] = source
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(128)
        for (index, (key, value)) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.string(key, into: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.string(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The event of a row holding at least `id`, `layer` and `source`.
    init(_ kind: Kind, row: Row, _ detail: [String: String] = [:]) {
        self.init(kind: kind, id: row["id"], layer: row["layer"], source: row["source"], detail: detail)
    }

    init(kind: Kind, id: String, layer: String, source: String, detail: [String: String] = [:]) {
        self.kind = kind
        self.id = id
        self.layer = layer
        self.source = source
        self.detail = detail
    }

    /// The event of an item.
    init(_ kind: Kind, _ item: MemoryItem, _ detail: [String: String] = [:]) {
        self.init(kind: kind, id: item.id, layer: item.layer.name, source: item.source, detail: detail)
    }
}

/// The item events of write transactions, in order. The store writes each transaction's events
/// into the outbox with it (``Outbox``), which the plugin publishes from; tests read them here.
final class ItemEvents: Sendable {
    private let events = Mutex<[ItemEvent]>([])

    /// Records an event.
    func append(_ event: ItemEvent) { events.withLock { $0.append(event) } }

    /// How many events are recorded.
    var count: Int { events.withLock { $0.count } }

    /// The events recorded after the first `start`.
    func since(_ start: Int) -> [ItemEvent] { events.withLock { Array($0[min(start, $0.count)...]) } }

    /// The events recorded so far, oldest first, and forgets them.
    func take() -> [ItemEvent] {
        events.withLock { events in
            defer { events = [] }
            return events
        }
    }
}
