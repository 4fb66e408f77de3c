import MemoryCore

/// The `plugins.memory.config` section, decoded after the kernel validated it against
/// ``Memory/manifest``. Every field is optional so a missing section falls back to the
/// documented defaults (``LayerPolicy/defaults(for:)``, ``Promotion``, ``NearDuplicate``).
public struct MemoryConfiguration: Decodable, Sendable {
    /// `merge` (default), `reject` or `allow`: what storing a near-duplicate does.
    public var duplicates: String?
    /// Similarity (0 to 1) at or above which two items of a layer are near-duplicates.
    public var duplicateThreshold: Double?
    /// Largest item content in UTF-8 bytes.
    public var maxContentBytes: Int?
    /// Most results of one list or search.
    public var maxResults: Int?
    /// How long one search may run, in milliseconds (0: no limit).
    public var searchTimeoutMs: Int?
    /// Most items in one batch store.
    public var maxBatch: Int?
    /// Best rows kept per `(term, tf)` group of a frequent term's postings.
    public var postingsPerGroup: Int?
    /// Most pending items one merge transaction takes into FTS5 and the postings.
    public var mergeBatch: Int?
    /// `normal` (default) or `full`: whether each commit syncs the WAL (``MemorySettings/syncEveryCommit``).
    public var synchronous: String?
    /// How often expired items are swept, in milliseconds (0: only during consolidation).
    public var sweepIntervalMs: Int?
    /// How often consolidation runs, in milliseconds (0: only on demand).
    public var consolidationIntervalMs: Int?
    /// Per-layer policies.
    public var layers: Layers?
    /// Promotion thresholds.
    public var promotion: PromotionSection?

    /// The five layer sections.
    public struct Layers: Decodable, Sendable {
        /// `working`.
        public var working: Layer?
        /// `short_term`.
        public var shortTerm: Layer?
        /// `episodic`.
        public var episodic: Layer?
        /// `semantic`.
        public var semantic: Layer?
        /// `long_term`.
        public var longTerm: Layer?
    }

    /// One layer's policy.
    public struct Layer: Decodable, Sendable {
        /// Lifetime of unpinned items in seconds; 0: until deleted.
        public var ttlSeconds: Double?
        /// Most items; 0: no bound.
        public var capacity: Int?
        /// Items may be pinned.
        public var pinning: Bool?
        /// Weight of BM25 relevance.
        public var relevance: Double?
        /// Weight of recency.
        public var recency: Double?
        /// Recency half-life in seconds.
        public var halfLifeSeconds: Double?
        /// Weight of importance.
        public var importance: Double?
        /// Weight of reinforcement.
        public var reinforcement: Double?
    }

    /// Promotion thresholds (see ``Promotion``).
    public struct PromotionSection: Decodable, Sendable {
        /// Retrievals that move a short-term item to episodic.
        public var episodicAccesses: Int?
        /// Importance that moves a short-term item to episodic.
        public var episodicImportance: Double?
        /// Retrievals that move an episodic item to semantic.
        public var semanticAccesses: Int?
        /// Importance that moves a short-term or episodic item to long-term.
        public var longTermImportance: Double?
    }

    /// The store's settings, defaults filled in.
    /// - Throws: ``MemoryError`` for a value the schema could not rule out.
    func settings() throws(MemoryError) -> MemorySettings {
        var s = MemorySettings()
        if let text = duplicates {
            guard let policy = DuplicatePolicy(rawValue: text) else {
                throw .badRequest("duplicates must be merge, reject or allow, not '\(text)'")
            }
            s.duplicates = policy
        }
        if let t = duplicateThreshold { s.nearDuplicate.threshold = t }
        if let n = maxContentBytes { s.maxContentBytes = n }
        if let n = maxResults { s.maxResults = n }
        if let n = searchTimeoutMs { s.searchTimeout = n > 0 ? .milliseconds(n) : nil }
        if let n = maxBatch { s.maxBatch = n }
        if let n = postingsPerGroup { s.postingsPerGroup = n }
        if let n = mergeBatch { s.mergeBatch = n }
        if let text = synchronous {
            guard text == "normal" || text == "full" else {
                throw .badRequest("synchronous must be normal or full, not '\(text.prefix(32))'")
            }
            s.syncEveryCommit = text == "full"
        }
        var policies: [MemoryLayer: LayerPolicy] = [:]
        let sections: [(MemoryLayer, Layer?)] = [
            (.working, layers?.working), (.shortTerm, layers?.shortTerm), (.episodic, layers?.episodic),
            (.semantic, layers?.semantic), (.longTerm, layers?.longTerm),
        ]
        for (layer, section) in sections { policies[layer] = Self.policy(layer, section) }
        s.retention = Retention(policies: policies)
        if let p = promotion {
            s.promotion = Promotion(
                longTermImportance: p.longTermImportance ?? s.promotion.longTermImportance,
                semanticAccesses: p.semanticAccesses ?? s.promotion.semanticAccesses,
                episodicAccesses: p.episodicAccesses ?? s.promotion.episodicAccesses,
                episodicImportance: p.episodicImportance ?? s.promotion.episodicImportance)
        }
        return s
    }

    private static func policy(_ layer: MemoryLayer, _ section: Layer?) -> LayerPolicy {
        var p = LayerPolicy.defaults(for: layer)
        guard let section else { return p }
        if let ttl = section.ttlSeconds { p.ttlSeconds = ttl > 0 ? ttl : nil }
        if let capacity = section.capacity { p.capacity = capacity > 0 ? capacity : nil }
        if let pinning = section.pinning { p.allowsPinning = pinning }
        if let w = section.relevance { p.weights.relevance = w }
        if let w = section.recency { p.weights.recency = w }
        if let h = section.halfLifeSeconds { p.weights.halfLifeSeconds = max(h, 1) }
        if let w = section.importance { p.weights.importance = w }
        if let w = section.reinforcement { p.weights.reinforcement = w }
        return p
    }
}
