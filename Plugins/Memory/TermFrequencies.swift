import GRDB
import MemoryCore
import Synchronization

/// How many merged items (in FTS5) hold each term, for the terms near-duplicate checks looked
/// up: a cache in front of `hot_terms` and `fts5vocab`, which counts a term by walking its
/// doclist (a few hundred microseconds for a term of a thousand rows, tens of lookups a store).
///
/// A term is looked up once; each merge then adds its items' terms to the counts held
/// (``merged(_:)``), under the writer's lock after the commit, so a count follows the merges.
/// Deleting or changing a merged item does not lower its terms' counts: a count may overstate,
/// which only makes the check read that word later (the counts choose the words it looks
/// candidates up by, ``NearDuplicate/lookupWords(_:count:budget:)``; it finds candidates in FTS5
/// itself). Cleared when the database is restored, and when it holds ``capacity`` terms.
final class TermFrequencies: Sendable {
    /// Most terms held.
    static let capacity = 1_000_000

    private let counts = Mutex<[String: Int]>([:])

    /// The counts of `words`: those held, the others from `lookup` (then held).
    func counts(_ words: [String], lookup: ([String]) throws -> [String: Int]) rethrows -> [String: Int] {
        var result: [String: Int] = [:]
        var missing: [String] = []
        counts.withLock { held in
            for word in words {
                if let n = held[word] { result[word] = n } else { missing.append(word) }
            }
        }
        guard !missing.isEmpty else { return result }
        let found = try lookup(missing)
        counts.withLock { held in
            if held.count + missing.count > Self.capacity { held = [:] }
            for word in missing {
                let n = found[word] ?? 0
                result[word] = n
                held[word] = n
            }
        }
        return result
    }

    /// Adds the terms of items just merged into FTS5 (each item counts once per term held).
    func merged(_ items: [TermCounts]) {
        guard !items.isEmpty else { return }
        counts.withLock { held in
            guard !held.isEmpty else { return }
            for item in items {
                for term in item.counts.keys {
                    if let n = held[term] { held[term] = n + 1 }
                }
            }
        }
    }

    /// Forgets every count (the database was replaced).
    func clear() { counts.withLock { $0 = [:] } }
}
