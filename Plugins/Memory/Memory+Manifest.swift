import JameyPluginKit
import MemoryCore

extension Memory {
    /// The plugin's name, version, config schema (`plugins.memory.config`) and routes.
    public static let manifest = PluginManifest(
        name: "memory",
        version: "1.0.0",
        description: "Five layers of memory with full-text search (SQLite FTS5), retention and consolidation",
        // Search replies go through the cache's L1 when it runs: started first, not a condition.
        requires: [.init("cache.l1", "^1.0", optional: true)],
        provides: [.init("memory.search", "1.0.0")],
        configuration: [
            .string(
                "duplicates", default: "merge", allowed: ["merge", "reject", "allow"],
                description: "Storing a near-duplicate of an item in the same layer: merge into it, reject (409) or allow"),
            .double(
                "duplicate_threshold", default: 0.8, range: 0.0...1.0,
                description: "Word-shingle Jaccard similarity at or above which two items are near-duplicates"),
            .int("max_content_bytes", default: 65536, range: 1...16_777_216, description: "Largest item content (UTF-8 bytes)"),
            .int("max_results", default: 1000, range: 1...100_000, description: "Most results of one list or search"),
            .int(
                "search_timeout_ms", default: 5000, range: 0...600_000,
                description: "How long one search may run before it is stopped (503 search-timeout); 0: no limit"),
            .int("max_batch", default: 1000, range: 1...100_000, description: "Most items in one batch store"),
            .int(
                "postings_per_group", default: 4096, range: 16...1_048_576,
                description:
                    "Best rows kept per (term, occurrences) group of a frequent term's postings; a one-word search needing more asks FTS5"
            ),
            .int(
                "merge_batch", default: 10000, range: 100...100_000,
                description:
                    "Most stored items one background merge into the search index takes in one transaction; stores wait for a merge in progress, so a smaller batch shortens the longest store wait under steady ingest and merges less per second"
            ),
            .string(
                "synchronous", default: "normal", allowed: ["normal", "full"],
                description:
                    "When a commit reaches the disk: normal (in the WAL before the reply, synced at checkpoints; survives the process being killed, a power cut can lose the last commits) or full (the WAL synced before every reply; survives a power cut, each store waits for the disk)"
            ),
            .int(
                "sweep_interval_ms", default: 60000, range: 0...86_400_000,
                description: "How often expired items are deleted (0: only by consolidation); reads never return them anyway"),
            .int(
                "consolidation_interval_ms", default: 3_600_000, range: 0...604_800_000,
                description: "How often consolidation runs (0: only on demand, POST /v1/memory/consolidate)"),
            .object(
                "layers", description: "Per-layer retention, capacity, pinning and ranking weights",
                fields: MemoryLayer.all.map { .object($0.name, description: "The \($0.name) layer", fields: layerKeys($0)) }),
            .object("promotion", description: "When consolidation moves items up", fields: promotionKeys),
        ],
        routes: routes,
        metricHelp: MemoryMetrics.help
    )

    static func layerKeys(_ layer: MemoryLayer) -> [ConfigKey] {
        let p = LayerPolicy.defaults(for: layer)
        return [
            .double(
                "ttl_seconds", default: p.ttlSeconds ?? 0, range: 0...3_153_600_000,
                description: "Lifetime of unpinned items in seconds (0: until deleted)"),
            .int("capacity", default: Int64(p.capacity ?? 0), range: 0...1_000_000_000, description: "Most items (0: no bound)"),
            .bool("pinning", default: p.allowsPinning, description: "Items may be pinned (no expiry, never evicted)"),
            .double("relevance", default: p.weights.relevance, range: 0...100, description: "Ranking weight of BM25 relevance"),
            .double("recency", default: p.weights.recency, range: 0...100, description: "Ranking weight of recency"),
            .double(
                "half_life_seconds", default: p.weights.halfLifeSeconds, range: 1...3_153_600_000,
                description: "Recency half-life in seconds"),
            .double("importance", default: p.weights.importance, range: 0...100, description: "Ranking weight of importance"),
            .double(
                "reinforcement", default: p.weights.reinforcement, range: 0...100,
                description: "Ranking weight of reinforcement (retrievals)"),
        ]
    }

    static let promotionKeys: [ConfigKey] = [
        .int("episodic_accesses", default: 3, range: 1...1_000_000, description: "Retrievals: short_term → episodic"),
        .double("episodic_importance", default: 0.7, range: 0...1, description: "Importance: short_term → episodic"),
        .int("semantic_accesses", default: 5, range: 1...1_000_000, description: "Retrievals: episodic → semantic"),
        .double(
            "long_term_importance", default: 0.9, range: 0...1, description: "Importance: short_term or episodic → long_term"),
    ]
}
