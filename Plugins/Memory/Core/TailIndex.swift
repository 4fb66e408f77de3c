/// An in-memory inverted index of the items committed but not yet merged into FTS5 and the
/// impact postings (the store's "pending tail", the memtable of its log-structured index).
///
/// A store commits an item to the `items` table and a row of `items_pending`; a background
/// merge adds pending items to FTS5 and the postings in large sorted batches. Until then a
/// search finds them here: ``matches(_:all:)`` gives the tail items holding the query's words,
/// ``impact(of:words:stats:)`` their BM25 impact with the statistics of index and tail
/// together. The caller keeps only the items its database snapshot still lists as pending, so a
/// stale entry (an item deleted or merged since) is harmless.
public struct TailIndex: Sendable {
    /// The terms of each tail item.
    public private(set) var documents: [Int64: TermCounts] = [:]
    /// Per term, the live items holding it and the items it was added with, in the order
    /// added; those may hold items since removed or re-added without the term
    /// (``matches(_:all:)`` checks ``documents``). A term's list is compacted once its stale
    /// entries outnumber its live items by more than ``slack``, and a term no item holds is
    /// dropped, so each removal costs about the same: rebuilding every list from
    /// ``documents`` at once (as before) cost in proportion to the whole tail, up to 140 ms at
    /// a million items with the pending tail's lock held and every store and search waiting.
    /// An item removed from the front of a list (the purge removes merged items oldest first,
    /// and a list is in the order its items were added) leaves no stale entry at all
    /// (``Term/head``): compacting the lists of the commonest terms, tens of thousands of
    /// entries each after a bulk load, held the lock 5-6 ms at a time while every single store
    /// waited for it. One table, not two: a store adds each of its terms with one lookup (two
    /// took about a fifth of a bulk store's work).
    private var terms: [String: Term] = [:]
    /// Entries in the terms' lists, stale ones included.
    public private(set) var postingEntries = 0
    /// Tokens of all tail items.
    public private(set) var tokens = 0

    public init() {}

    /// Items in the tail.
    public var count: Int { documents.count }

    /// Adds (or replaces) an item's text.
    public mutating func add(seq: Int64, content: String) { add(seq: seq, terms: TermCounts(content)) }

    /// Adds (or replaces) an item's counted terms.
    public mutating func add(seq: Int64, terms counted: TermCounts) {
        let previous = documents.updateValue(counted, forKey: seq)
        if let previous { forget(previous) }
        tokens += counted.length
        for term in counted.counts.keys {
            // A term the old text held keeps its entry, unless forgetting the old text dropped
            // the term (no other item held it).
            let added = previous?.counts[term] == nil || terms[term] == nil
            terms[term, default: Term()].add(seq, posting: added)
            if added { postingEntries += 1 }
        }
    }

    /// Forgets an item (nothing when it is not there).
    public mutating func remove(_ seq: Int64) {
        guard let terms = documents.removeValue(forKey: seq) else { return }
        forget(terms, removing: seq)
    }

    /// Stale entries a term's list may hold beyond its live items before it is compacted.
    public static let slack = 16

    /// Takes an item's terms out of the counts; called once ``documents`` no longer holds them.
    /// - Parameter removing: the item, when it leaves the tail (not replaced by a new text): the
    ///   stale entries at the front of its terms' lists, its own among them, are dropped.
    private mutating func forget(_ counted: TermCounts, removing: Int64? = nil) {
        tokens -= counted.length
        for term in counted.counts.keys {
            guard let index = terms.index(forKey: term) else { continue }
            terms.values[index].hits -= 1
            if let seq = removing {
                postingEntries -= terms.values[index].dropStaleFront { $0 == seq || documents[$0] == nil }
            }
            let entry = terms.values[index]
            if entry.hits <= 0 {
                postingEntries -= entry.entries
                terms.remove(at: index)
            } else if entry.entries > 2 * entry.hits + Self.slack {
                // Only the term's own list: the items still held, once each. Whether each still
                // holds the term is not asked (a lookup by the term's text per entry made a
                // compaction of a common term's 30 000 entries cost milliseconds): only an item
                // re-added without the term leaves such an entry, and ``matches(_:all:)`` and the
                // lookups check it anyway.
                var seen = Set<Int64>(minimumCapacity: entry.hits)
                var live = entry.listed.filter { documents[$0] != nil && seen.insert($0).inserted }
                if live.count > 2 * entry.hits + Self.slack {
                    live.removeAll { documents[$0]?.counts[term] == nil }
                }
                postingEntries -= entry.entries - live.count
                terms.values[index].items = live
                terms.values[index].head = 0
            }
        }
    }

    /// Tail items holding `term`.
    public func hits(_ term: String) -> Int { terms[term]?.hits ?? 0 }

    /// The items added with `term` (some may be stale).
    private func postings(_ term: String) -> ArraySlice<Int64> { terms[term]?.listed ?? [] }

    /// A term's live items and postings.
    private struct Term: Sendable {
        var hits = 0
        /// The entries from ``head`` on (the ones before it were dropped).
        var items: [Int64] = []
        /// Entries dropped from the front of ``items``, not yet moved out of it (they are once
        /// they are half of it: moving the rest down then costs at most as many entries as
        /// were dropped).
        var head = 0

        /// The entries of the list.
        var listed: ArraySlice<Int64> { items[head...] }
        /// How many entries the list has.
        var entries: Int { items.count - head }

        mutating func add(_ seq: Int64, posting: Bool) {
            hits += 1
            if posting { items.append(seq) }
        }

        /// Drops the front entries whose items are `gone`, up to the first that is not.
        /// - Returns: how many were dropped.
        mutating func dropStaleFront(_ gone: (Int64) -> Bool) -> Int {
            let start = head
            while head < items.count, gone(items[head]) { head += 1 }
            let dropped = head - start
            if head >= 32, head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
            return dropped
        }
    }

    /// The tail items holding every word (`all`) or any word of `words` (plain lower-case terms).
    /// (``scored(_:all:stats:over:skip:)``'s items; any statistics whose idf is a number do.)
    public func matches(_ words: [String], all: Bool) -> [Int64] {
        scored(words, all: all, stats: Stats(rows: 2, averageLength: 1, hits: [:])).map(\.seq)
    }

    /// The tail items that may be near-duplicates of a text with terms `terms`, most alike
    /// first: those holding any of its lookup words (``NearDuplicate/lookupWords(_:count:budget:)``
    /// over the tail's counts), ordered by how many of those words they hold, a rarer word
    /// counting a little more (newest first among equals). The caller compares the texts.
    /// - Parameters:
    ///   - terms: the text's terms.
    ///   - words: most lookup words.
    ///   - budget: most tail items the lookup words may hold together (unless fewer than two fit).
    ///   - skip: items left out.
    public func resembling(
        _ terms: TermCounts, words: Int = 5, budget: Int = .max, skip: (Int64) -> Bool = { _ in false }
    ) -> [Int64] {
        let known = terms.counts.keys.compactMap { term in hits(term) > 0 ? (word: term, items: hits(term)) : nil }
        var scores: [Int64: Double] = [:]
        for word in NearDuplicate.lookupWords(known, count: words, budget: budget) {
            let weight = 1 + 1 / Double(max(hits(word), 1))
            for seq in postings(word) where documents[seq]?.counts[word] != nil && !skip(seq) {
                scores[seq, default: 0] += weight
            }
        }
        return scores.sorted { ($0.value, $0.key) > ($1.value, $1.key) }.map(\.key)
    }

    /// The tail items meeting `lookup` (holding every word of ``NearDuplicate/Lookup/required``
    /// and at least ``NearDuplicate/Lookup/least`` of its words), most words held first (newest
    /// first among equals): every possible near-duplicate of the text the lookup was planned for
    /// (``NearDuplicate/Profile/lookup(counts:items:)`` over ``hits(_:)``). The caller compares
    /// the texts.
    /// - Parameters:
    ///   - lookup: the condition.
    ///   - skip: items left out.
    public func candidates(_ lookup: NearDuplicate.Lookup, skip: (Int64) -> Bool = { _ in false }) -> [Int64] {
        let required = Set(lookup.required)
        // Per item: the lookup words it holds, and how many of them are required.
        var held: [Int64: (all: Int, required: Int)] = [:]
        for word in Set(lookup.words) {
            let isRequired = required.contains(word)
            for seq in postings(word) where documents[seq]?.counts[word] != nil && !skip(seq) {
                held[seq, default: (0, 0)].all += 1
                if isRequired { held[seq, default: (0, 0)].required += 1 }
            }
        }
        return held.filter { $0.value.all >= lookup.least && $0.value.required == required.count }
            .sorted { ($0.value.all, $0.key) > ($1.value.all, $1.key) }.map(\.key)
    }

    /// Index statistics for BM25 over index and tail together.
    public struct Stats: Sendable {
        /// Rows in index and tail.
        public var rows: Int64
        /// Tokens per row.
        public var averageLength: Double
        /// Rows holding each word.
        public var hits: [String: Int64]

        public init(rows: Int64, averageLength: Double, hits: [String: Int64]) {
            self.rows = rows
            self.averageLength = averageLength
            self.hits = hits
        }
    }

    /// The items ``matches(_:all:)`` finds, less those `skip` names, with their BM25 impact
    /// (−`bm25()`) for `words` (FTS5's sum over the query's phrases, each scored with ``BM25``),
    /// only those whose impact is over `floor`. One pass over the lists, one lookup of each item
    /// and of each word in it, each word's idf computed once: finding the items and then scoring
    /// them looked everything up twice, for thousands of items when a frequent word is pending.
    public func scored(
        _ words: [String], all: Bool, stats: Stats, over floor: Double = -.infinity, skip: (Int64) -> Bool = { _ in false }
    ) -> [(seq: Int64, impact: Double)] {
        guard !words.isEmpty else { return [] }
        let idfs = words.map { BM25.idf(rows: stats.rows, hits: stats.hits[$0] ?? 1) }
        let averageLength = max(stats.averageLength, 1)
        // With `all`, the shortest list (an item must hold every word); otherwise each word's.
        let lists = all ? [words.min { postings($0).count < postings($1).count } ?? words[0]] : Array(Set(words))
        var seen = Set<Int64>()
        var scored: [(seq: Int64, impact: Double)] = []
        for list in lists {
            for seq in postings(list) {
                guard let terms = documents[seq] else { continue }
                var impact = 0.0
                var held = 0
                for (word, idf) in zip(words, idfs) {
                    guard let f = terms.counts[word] else { continue }
                    held += 1
                    if f > 0 {
                        impact += BM25.impact(idf: idf, frequency: f, length: terms.length, averageLength: averageLength)
                    }
                }
                // A stale entry (the item no longer holds the list's word) holds fewer words.
                guard all ? held == words.count : terms.counts[list] != nil else { continue }
                guard !skip(seq), seen.insert(seq).inserted, impact > floor else { continue }
                scored.append((seq, impact))
            }
        }
        return scored
    }
}
