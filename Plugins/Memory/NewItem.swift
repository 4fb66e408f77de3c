import MemoryCore
import PluginReplies

/// A link from an item to an entity (the soul's) or to another item.
struct MemoryLink: Sendable, Equatable, Codable {
    /// `entity` or `item`.
    var kind: String
    /// The entity id or item id.
    var target: String
    /// What the link means (`about`, `follows`, ...); empty when unsaid.
    var relation: String

    /// The kinds a link may have.
    static let kinds: Set<String> = ["entity", "item"]
    /// The most links an item holds: a store or an update with more is refused, and a merge of
    /// near-duplicates adds the other item's links up to it (``MemoryStore/addLinks(_:to:_:)``).
    static let maxPerItem = 64
}

/// An item to store, as a caller describes it.
struct NewItem: Sendable {
    /// Target layer.
    var layer: MemoryLayer
    /// The text.
    var content: String
    /// Labels.
    var tags: [String] = []
    /// The storing plugin or caller.
    var source: String = ""
    /// 0 to 1.
    var importance: Double = 0.5
    /// Never expire, never evicted (where the layer allows pinning).
    var pinned: Bool = false
    /// Links to entities and items.
    var links: [MemoryLink] = []
}

/// Changes to an item; nil fields stay as they are.
struct ItemPatch: Sendable {
    /// New text.
    var content: String?
    /// New labels (replacing the old).
    var tags: [String]?
    /// New importance.
    var importance: Double?
    /// Pin or unpin (the expiry is recomputed from now).
    var pinned: Bool?
    /// Move to another layer (the expiry is recomputed from now).
    var layer: MemoryLayer?
    /// New links (replacing the old).
    var links: [MemoryLink]?
}

/// Which items a list or search considers.
struct ItemFilter: Sendable {
    /// Only these layers (empty: all).
    var layers: [MemoryLayer] = []
    /// Only items carrying every one of these tags.
    var tags: [String] = []
    /// Only items from this source.
    var source: String?
    /// Only items created at or after this time (Unix seconds).
    var since: Double?
    /// Only items created before this time (Unix seconds).
    var until: Double?

    /// True when it admits every item (visibility aside).
    var admitsAll: Bool { layers.isEmpty && tags.isEmpty && source == nil && since == nil && until == nil }
}

/// A search hit with its scores.
struct SearchHit: Sendable {
    /// The item's row in `items`.
    var seq: Int64
    /// The item (as it was before this search reinforced it).
    var item: MemoryItem
    /// Its links.
    var links: [MemoryLink]
    /// The combined score (``Ranker``), higher is better.
    var score: Double
    /// FTS5's BM25 rank (negative; lower is more relevant).
    var bm25: Double
}

// Texts in Unicode's composed form (``ComposedText``), taken after the checks: a length the
// route schemas state counts the code points as sent.
extension MemoryLink {
    var composed: MemoryLink {
        MemoryLink(kind: kind, target: ComposedText.of(target), relation: ComposedText.of(relation))
    }
}

extension NewItem {
    var composed: NewItem {
        var item = self
        item.content = ComposedText.of(content)
        item.tags = tags.map(ComposedText.of)
        item.source = ComposedText.of(source)
        item.links = links.map(\.composed)
        return item
    }
}
