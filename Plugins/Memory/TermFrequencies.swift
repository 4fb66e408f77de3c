import GRDB
import MemoryCore
import Synchronization

/// How many merged items (in FTS5) hold each term, in memory, for the lookup of near-duplicate
/// checks (``NearDuplicate/Profile/lookup(counts:items:)``): `fts5vocab` counts a
/// term by walking its doclist, which cost a store a few hundred microseconds.
///
/// Loaded whole when the store opens (one pass over the FTS5 index, before any write: about
/// 0.2 s at 100 000 items), then kept up by the merges: each adds its items' terms, under the
/// writer's lock after the commit. Deleting or changing a merged item does not lower its terms'
/// counts, so a count may overstate, which only makes the check read that word later (the
/// counts choose the words it looks candidates up by; it reads the candidates from FTS5
/// itself). A count never understates: the check takes a term counted 0 as held by no merged
/// item, and skips FTS5 when such terms alone rule every item out. Past ``capacity`` terms the table holds only the
/// terms looked up since, each counted from the database once (`lookup`).
final class TermFrequencies: Sendable {
    /// Most terms held.
    static let capacity = 2_000_000
    /// The longest term held (bytes of UTF-8), the bound of every per-term table in memory
    /// (``HotTerms/maxTermBytes``): a longer one is looked up in the database every time (held as
    /// unknown). The cap counted terms, not bytes, and tokens may be 64 KiB long.
    static let maxTermBytes = HotTerms.maxTermBytes

    private struct State {
        var counts: [String: Int] = [:]
        /// True when every term of FTS5 is held (a term not held is in no merged item).
        var complete = false
        /// Items in FTS5: its own total when loaded, then counted up by the merges (deletes and
        /// changes not subtracted, so it may overstate, like the counts).
        var items = 0
    }

    private let state = Mutex(State())

    /// Replaces the counts with every term's (`SELECT term, doc FROM items_vocab`).
    func load(_ db: Database) throws {
        var counts: [String: Int] = [:]
        var complete = true
        let rows = try Row.fetchCursor(db, sql: "SELECT term, doc FROM items_vocab")
        while let row = try rows.next() {
            guard counts.count < Self.capacity else {
                counts = [:]
                complete = false
                break
            }
            let term: String = row[0]
            if term.utf8.count <= Self.maxTermBytes { counts[term] = row[1] }
        }
        let items = Int(try MemoryStore.indexTotals(db)?.rows ?? 0)
        state.withLock { $0 = State(counts: counts, complete: complete, items: items) }
    }

    /// The counts of `words`: from the table, or (when it is not complete) from `lookup` for
    /// those it does not hold (then held).
    func counts(_ words: [String], lookup: ([String]) throws -> [String: Int]) rethrows -> [String: Int] {
        var result: [String: Int] = [:]
        var missing: [String] = []
        state.withLock { state in
            for word in words {
                if word.utf8.count > Self.maxTermBytes {
                    missing.append(word)
                } else if let n = state.counts[word] {
                    result[word] = n
                } else if state.complete {
                    result[word] = 0
                } else {
                    missing.append(word)
                }
            }
        }
        guard !missing.isEmpty else { return result }
        let found = try lookup(missing)
        state.withLock { state in
            if state.counts.count + missing.count > Self.capacity { state = State(items: state.items) }
            for word in missing {
                let n = found[word] ?? 0
                result[word] = n
                if !state.complete, word.utf8.count <= Self.maxTermBytes { state.counts[word] = n }
            }
        }
        return result
    }

    /// The count of `term` when the table knows it (held, or 0 when the table is complete).
    func held(_ term: String) -> Int? {
        guard term.utf8.count <= Self.maxTermBytes else { return nil }
        return state.withLock { state in state.counts[term] ?? (state.complete ? 0 : nil) }
    }

    /// Adds the terms of `items` items just merged into FTS5: `terms`, how many of them hold
    /// each term.
    func merged(_ terms: [String: Int], items: Int) {
        guard items > 0 else { return }
        state.withLock { state in
            for (term, n) in terms where term.utf8.count <= Self.maxTermBytes {
                if let held = state.counts[term] {
                    state.counts[term] = held + n
                } else if state.complete {
                    state.counts[term] = n
                }
            }
            state.items += items
            if state.counts.count > Self.capacity { state = State(items: state.items) }
        }
    }

    /// About how many items FTS5 holds (see `State.items`): the near-duplicate check's cost
    /// estimate, which read FTS5's totals record for it, 3 % of a merge-mode store at a million
    /// items.
    var items: Int { state.withLock { $0.items } }
}
