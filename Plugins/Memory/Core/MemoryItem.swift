import Foundation

/// One remembered item, as stored and as returned.
public struct MemoryItem: Sendable, Equatable {
    /// Stable id (a UUID string).
    public var id: String
    /// The layer it lives in.
    public var layer: MemoryLayer
    /// The text, searchable.
    public var content: String
    /// Free-form labels, matched exactly by filters (at most ``maxTags``).
    public var tags: [String]
    /// The plugin (or caller) that stored it.
    public var source: String
    /// 0 (trivial) to 1 (vital).
    public var importance: Double
    /// When it was stored.
    public var createdAt: Date
    /// When it was last retrieved (initially `createdAt`).
    public var lastAccessedAt: Date
    /// How often it was retrieved (reinforcement).
    public var accessCount: Int
    /// When it expires; nil: never.
    public var expiresAt: Date?
    /// Pinned items never expire and are never evicted.
    public var pinned: Bool

    /// - Parameters: every field, see the properties.
    public init(
        id: String, layer: MemoryLayer, content: String, tags: [String] = [], source: String = "",
        importance: Double = 0.5, createdAt: Date, lastAccessedAt: Date? = nil, accessCount: Int = 0,
        expiresAt: Date? = nil, pinned: Bool = false
    ) {
        self.id = id
        self.layer = layer
        self.content = content
        self.tags = tags
        self.source = source
        self.importance = importance
        self.createdAt = createdAt
        self.lastAccessedAt = lastAccessedAt ?? createdAt
        self.accessCount = accessCount
        self.expiresAt = expiresAt
        self.pinned = pinned
    }

    /// The most tags an item holds: a store or an update with more is refused.
    public static let maxTags = 32

    /// Adds the tags of `others` it lacks, in their order, while it holds fewer than
    /// ``maxTags``: a merged near-duplicate (at a store or in consolidation) keeps its own tags
    /// and takes the other's up to the limit. (Taking the whole union gave an item more tags
    /// than a store or an update may give it, and every later update that left its tags alone
    /// was then refused with "at most 32 tags".)
    public mutating func absorbTags(_ others: [String]) {
        for tag in others where tags.count < Self.maxTags && !tags.contains(tag) { tags.append(tag) }
    }

    /// The later of two expiry times, nil (never) when either is.
    public static func laterExpiry(_ a: Date?, _ b: Date?) -> Date? {
        guard let a, let b else { return nil }
        return max(a, b)
    }
}
