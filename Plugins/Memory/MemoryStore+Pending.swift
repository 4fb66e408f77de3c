import Foundation
import GRDB
import MemoryCore
import Synchronization

/// The items committed but not yet in FTS5 and the impact postings, in memory (``TailIndex``).
///
/// A merged item is retired, not removed: a search whose database snapshot began before the
/// merge committed still needs it here, one that began after skips it (``matches(_:all:epoch:)``).
/// Which is which is told by the write epoch (``Reinforcements/epoch(_:)``): the merge's
/// transaction advances it and retires its items under the new value before it commits, and a
/// search reads the epoch in its own snapshot. (Retiring after the commit, stamped with the
/// time, left a window: a search begun between the commit and the retiring counted the merged
/// items in index and tail alike, and a pending item's `bm25()` for "three" came out −1.1e-6
/// against FTS5's −0.39.) Retired items are removed ``retireDelay`` later, longer than any
/// search's read transaction, and not before every search reading at an earlier epoch has ended
/// (``beginRead(epoch:)``): a search for two common words that FTS5 scores for seconds at a
/// million items would otherwise miss the items of a merge that committed while it ran.
final class PendingTail: Sendable {
    /// How long a merged item stays in memory after its merge committed, at least: it covers a
    /// search between the start of its snapshot and ``beginRead(epoch:)``.
    static let retireDelay: Duration = .seconds(2)

    private struct State {
        var index = TailIndex()
        var retired: [Retired] = []
        /// The epoch each retired item was retired under.
        var retiredAt: [Int64: Int64] = [:]
        /// The searches reading now, by the write epoch of their snapshot.
        var readers: [Int64: Int] = [:]

        /// Whether the items retired under `epoch` may go: no search reads at an earlier epoch
        /// (its snapshot lacks them in FTS5, so it counts them from here).
        func unread(_ epoch: Int64) -> Bool { !readers.keys.contains { $0 < epoch } }

        /// Adds (or replaces) an item, pending again should it have been retired.
        mutating func add(seq: Int64, terms: TermCounts) {
            unretire(seq)
            index.add(seq: seq, terms: terms)
        }

        /// The items, tokens and hits of each word of the items held and not retired under
        /// `epoch` or earlier.
        func counts(_ words: [String], epoch: Int64) -> (rows: Int, tokens: Int, hits: [Int]) {
            var rows = index.count
            var tokens = index.tokens
            var hits = words.map { index.hits($0) }
            for batch in retired where batch.epoch <= epoch {
                rows -= batch.rows
                tokens -= batch.tokens
                for (i, word) in words.enumerated() { hits[i] -= batch.hits[word] ?? 0 }
            }
            return (rows, tokens, hits)
        }

        /// Takes a retired item out of its batch's counts (it is pending again).
        mutating func unretire(_ seq: Int64) {
            guard let epoch = retiredAt.removeValue(forKey: seq), let terms = index.documents[seq],
                let i = retired.firstIndex(where: { $0.epoch == epoch })
            else { return }
            retired[i].uncount(terms)
        }

        /// Removes up to `limit` items of the batches retired before `cutoff`, oldest first, each
        /// taken out of its batch's counts as it goes (searches subtract what a batch still holds).
        /// The oldest batch is read in place, never copied: a copy held while the loop took items
        /// out of it made each call copy the batch's items and its per-term counts whole (10 000
        /// items and thousands of terms after a merge at a million items), about 40 % of the
        /// purge's time.
        /// - Returns: whether such items remain.
        mutating func purge(before cutoff: ContinuousClock.Instant, limit: Int) -> Bool {
            var budget = limit
            while !retired.isEmpty, retired[0].at < cutoff, unread(retired[0].epoch) {
                guard budget > 0 else { return true }
                let epoch = retired[0].epoch
                while budget > 0, let seq = retired[0].seqs.popLast() {
                    budget -= 1
                    guard retiredAt[seq] == epoch else { continue }
                    if let terms = index.documents[seq] { retired[0].uncount(terms) }
                    index.remove(seq)
                    retiredAt[seq] = nil
                }
                if retired[0].seqs.isEmpty { retired.removeFirst() }
            }
            return false
        }

        /// When every retired batch was retired before `cutoff` and the items still pending are
        /// at most a quarter of the retired ones, replaces the index with one of the pending
        /// items alone, built in time proportional to them, and returns what it replaced (to be
        /// freed outside the lock); nil otherwise. The end state is the full purge's. After a
        /// bulk load the last merges retire every item but the few stored since, and removing
        /// them one by one took hundreds of steps, each taking the lock from the stores then
        /// arriving.
        mutating func rebuildIfMostlyRetired(before cutoff: ContinuousClock.Instant) -> Replaced? {
            guard !retired.isEmpty, retired.allSatisfy({ $0.at < cutoff && unread($0.epoch) }),
                (index.count - retiredAt.count) * 4 <= retiredAt.count
            else { return nil }
            var fresh = TailIndex()
            for (seq, terms) in index.documents where retiredAt[seq] == nil { fresh.add(seq: seq, terms: terms) }
            defer {
                index = fresh
                retired = []
                retiredAt = [:]
            }
            return Replaced(index: index, retired: retired, retiredAt: retiredAt)
        }
    }

    /// What ``State/rebuildIfMostlyRetired(before:)`` replaced.
    private struct Replaced {
        var index: TailIndex
        var retired: [Retired]
        var retiredAt: [Int64: Int64]
    }

    /// Items retired together (one merge's), with what they add to the index's counts: a search
    /// whose snapshot has them in FTS5 takes them out of the tail's statistics, so index and tail
    /// do not count them twice.
    private struct Retired {
        /// The write epoch of the merge's transaction: snapshots at it or later have the items.
        var epoch: Int64
        /// When they were retired (they are removed ``retireDelay`` later).
        var at: ContinuousClock.Instant
        /// Newest first (the purge pops them).
        var seqs: [Int64]
        var rows = 0
        var tokens = 0
        var hits: [String: Int] = [:]

        /// Takes an item out of the counts (pending again, or removed).
        mutating func uncount(_ terms: TermCounts) {
            rows -= 1
            tokens -= terms.length
            for term in terms.counts.keys { hits[term, default: 0] -= 1 }
        }
    }

    private let state = Mutex(State())

    /// Items held and not retired (some may be deleted already).
    var count: Int { state.withLock { $0.index.count - $0.retiredAt.count } }

    /// True when no item is held but retired ones.
    var isEmpty: Bool { count == 0 }

    /// True when a search whose snapshot is at write epoch `epoch` would miss a held item in
    /// FTS5: one not retired, or retired under a later epoch (its merge had not committed when the
    /// snapshot began). A search FTS5 alone answers (operator syntax) merges first while so.
    func unmerged(at epoch: Int64) -> Bool {
        state.withLock { state in
            state.index.count > state.retiredAt.count || state.retired.contains { $0.epoch > epoch }
        }
    }

    /// Items held, retired ones too.
    var held: Int { state.withLock { $0.index.count } }

    /// Adds (or replaces) an item's text.
    func add(seq: Int64, content: String) { add(seq: seq, terms: TermCounts(content)) }

    /// Adds (or replaces) an item's counted terms (counted before the write transaction).
    func add(seq: Int64, terms: TermCounts) { state.withLock { $0.add(seq: seq, terms: terms) } }

    /// Adds (or replaces) the counted terms of several items under one hold of the lock: a
    /// batch's items, each added on its own, took the lock a thousand times a batch while the
    /// purge held it about half the time in its chunks, and the writer spent about as long
    /// waiting for it (in the futex call) as adding the items (perf of a 200 000-item bulk at a
    /// million items).
    func add(_ items: [(seq: Int64, terms: TermCounts)]) {
        guard !items.isEmpty else { return }
        state.withLock { state in for (seq, terms) in items { state.add(seq: seq, terms: terms) } }
    }

    /// Replaces everything with the pending items of a database just opened or restored.
    func load(_ items: [(Int64, String)]) {
        state.withLock { state in
            state = State()
            for (seq, content) in items { state.index.add(seq: seq, content: content) }
        }
    }

    /// Retires these items under write epoch `epoch`, and removes them once ``retireDelay`` has
    /// passed and no search reads at an earlier epoch (``purge()``). A merge calls it inside its transaction, before the commit makes
    /// `epoch` visible; ``restore(epoch:)`` undoes it should the transaction not commit. From the
    /// writer only.
    /// - Parameter known: how many of the items hold each term, when the caller counted them
    ///   from this tail's terms of exactly these items (a merge, ``MergeOutcome/terms``): used
    ///   as the batch's counts when every item is held and none retired, instead of counting
    ///   the same ten thousand items' terms again on the writer.
    func retire(_ seqs: [Int64], epoch: Int64, known: [String: Int]? = nil) {
        guard !seqs.isEmpty else { return }
        let now = ContinuousClock.now
        // Counted outside the lock, which every search takes (counting 10 000 items under it held
        // searches up to 30 ms at a million items). Only the writer adds and retires items, and
        // the caller is the writer: what is read here stays as it is until the retiring below.
        let held: [(seq: Int64, terms: TermCounts)] = state.withLock { state in
            seqs.compactMap { seq in
                state.retiredAt[seq] == nil ? state.index.documents[seq].map { (seq, $0) } : nil
            }
        }
        guard !held.isEmpty else { return }
        // Newest first: the purge pops them, so it removes each batch's items oldest first, the
        // order of the tail's lists (``TailIndex``), and drops their entries from the lists' fronts.
        var batch = Retired(epoch: epoch, at: now, seqs: held.map(\.seq).sorted(by: >))
        batch.rows = held.count
        if let known, held.count == seqs.count {
            batch.hits = known
            for (_, terms) in held { batch.tokens += terms.length }
        } else {
            for (_, terms) in held {
                batch.tokens += terms.length
                for term in terms.counts.keys { batch.hits[term, default: 0] += 1 }
            }
        }
        state.withLock { state in
            for seq in batch.seqs { state.retiredAt[seq] = epoch }
            state.retired.append(batch)
        }
    }

    /// Notes a search reading at write epoch `epoch` until ``endRead(epoch:)``: the items of merges
    /// after it stay here meanwhile, whatever ``retireDelay`` says.
    func beginRead(epoch: Int64) { state.withLock { $0.readers[epoch, default: 0] += 1 } }

    /// Ends what ``beginRead(epoch:)`` began.
    func endRead(epoch: Int64) {
        state.withLock { state in
            guard let n = state.readers[epoch] else { return }
            state.readers[epoch] = n > 1 ? n - 1 : nil
        }
    }

    /// Makes the items ``retire(_:epoch:)`` retired under `epoch` pending again (their merge's
    /// transaction did not commit).
    func restore(epoch: Int64) {
        state.withLock { state in
            guard let i = state.retired.lastIndex(where: { $0.epoch == epoch }) else { return }
            for seq in state.retired[i].seqs where state.retiredAt[seq] == epoch { state.retiredAt[seq] = nil }
            state.retired.remove(at: i)
        }
    }

    /// Retires every item held now under write epoch `epoch`, which no other batch has (after a
    /// merge left nothing pending: what is still here was deleted or merged).
    func retireAll(epoch: Int64) { retire(state.withLock { Array($0.index.documents.keys) }, epoch: epoch) }

    /// The held items holding every word (`all`) or any word of `words`, less those retired
    /// under write epoch `epoch` or earlier (a snapshot at `epoch` has them in FTS5), with the counts of the
    /// same items: items, tokens, and hits of each word. (Counting the retired ones too counted
    /// a merged item in index and tail alike for ``retireDelay`` after each merge: a pending
    /// item's `bm25()` was then off, "three" in one item of 33 scored −3.91 against FTS5's −3.20
    /// once merged.)
    func matches(_ words: [String], all: Bool, epoch: Int64)
        -> (seqs: [Int64], rows: Int, tokens: Int, hits: [Int])
    {
        state.withLock { state in
            var seqs = state.index.matches(words, all: all)
            if !state.retiredAt.isEmpty { seqs.removeAll { state.retiredAt[$0].map { $0 <= epoch } ?? false } }
            let counts = state.counts(words, epoch: epoch)
            return (seqs, counts.rows, counts.tokens, counts.hits)
        }
    }

    /// ``matches(_:all:epoch:)``'s items with their BM25 impact for `words` over index and tail
    /// together (``TailIndex/scored(_:all:stats:over:skip:)``), only those whose impact is over
    /// `floor`, in one pass under the lock.
    /// - Parameter indexed: the snapshot's index: its rows, its tokens, and the rows holding each
    ///   word.
    func scored(
        _ words: [String], all: Bool, epoch: Int64, indexed: (rows: Int64, tokens: Double, hits: [Int64]),
        over floor: Double
    ) -> [(seq: Int64, impact: Double)] {
        state.withLock { state in
            let tail = state.counts(words, epoch: epoch)
            let rows = indexed.rows + Int64(tail.rows)
            let tokens = indexed.tokens + Double(tail.tokens)
            var hits: [String: Int64] = [:]
            for (i, word) in words.enumerated() { hits[word] = indexed.hits[i] + Int64(tail.hits[i]) }
            let stats = TailIndex.Stats(rows: rows, averageLength: rows > 0 ? tokens / Double(rows) : 1, hits: hits)
            let retired = state.retiredAt
            return state.index.scored(words, all: all, stats: stats, over: floor) { seq in
                !retired.isEmpty && retired[seq].map { $0 <= epoch } ?? false
            }
        }
    }

    /// Whether some held item (retired ones too) may hold every word (`all`) or any word of
    /// `words`: a search with none of them pending reads no counts.
    func mayHold(_ words: [String], all: Bool) -> Bool {
        state.withLock { state in
            all ? words.allSatisfy { state.index.hits($0) > 0 } : words.contains { state.index.hits($0) > 0 }
        }
    }

    /// The items held and not retired that may be near-duplicates of a text with terms
    /// `terms`, most alike first (``TailIndex/resembling(_:words:budget:skip:)``), with their
    /// terms. From the writer only: a retired item is in FTS5 for it.
    func resembling(_ terms: TermCounts, budget: Int) -> [(seq: Int64, terms: TermCounts)] {
        state.withLock { state in
            state.index.resembling(terms, budget: budget) { state.retiredAt[$0] != nil }.compactMap { seq in
                state.index.documents[seq].map { (seq, $0) }
            }
        }
    }

    /// The items held and not retired that may be near-duplicates of a text with profile
    /// `profile`, with their terms: every one that can be (``TailIndex/candidates(_:skip:)``
    /// for the profile's lookup over this index's counts), or nil when the profile has no exact
    /// lookup (the caller then uses ``resembling(_:budget:)``). From the writer only: a retired
    /// item is in FTS5 for it.
    func nearDuplicateCandidates(_ profile: NearDuplicate.Profile, words: [String])
        -> [(seq: Int64, terms: TermCounts)]?
    {
        state.withLock { state in
            let counts = Dictionary(words.map { ($0, state.index.hits($0)) }) { a, _ in a }
            switch profile.lookup(counts: counts, items: state.index.count) {
            case nil: return nil
            case .nothing: return []
            case .read(let lookup):
                return state.index.candidates(lookup) { state.retiredAt[$0] != nil }.compactMap { seq in
                    state.index.documents[seq].map { (seq, $0) }
                }
            }
        }
    }

    /// Retired items removed under one hold of the lock (``purge()``): about 0.1 ms of it at a
    /// million items. Single stores right after a 200 000-item bulk, three runs alternating with
    /// chunks of 50 (MemoryProbe EXTRA=200000): p90 0.71-0.74 against 0.93-1.00 ms, p99 0.98-1.15
    /// against 1.29-1.35; the bulk's rate the same.
    static let purgeChunk = 16

    /// Removes the items retired more than ``retireDelay`` ago, ``purgeChunk`` at a time: every
    /// store and search takes this lock, and a merge retires its whole batch at once. Removing
    /// 20 000 items in one hold took 50-140 ms at a million items (the list of every term
    /// rebuilt at once, ``TailIndex``), and the stores and searches that came meanwhile waited
    /// that long. Between chunks it waits as long as the chunk held the lock (at least 0.1 ms):
    /// the lock is not fair, and with only a moment between chunks this thread held it nearly
    /// all the time for the half second a large purge takes, so most stores then waited part of
    /// a chunk (the first eighty single stores after a bulk at a million items took 5-25 ms).
    func purge() {
        let cutoff = ContinuousClock.now - Self.retireDelay
        while true {
            let started = ContinuousClock.now
            guard purgeStep(before: cutoff, limit: Self.purgeChunk) else { return }
            let held = ContinuousClock.now - started
            usleep(useconds_t(max(100, held / .microseconds(1))))
        }
    }

    /// Removes up to `limit` items retired before `cutoff` under one hold of the lock, or all
    /// of them at once when few items are pending besides (``State/rebuildIfMostlyRetired(before:)``;
    /// the replaced index is freed after the lock is released).
    /// - Returns: whether such items remain.
    func purgeStep(before cutoff: ContinuousClock.Instant, limit: Int) -> Bool {
        var replaced: Replaced?
        let more = state.withLock { state in
            replaced = state.rebuildIfMostlyRetired(before: cutoff)
            return replaced == nil && state.purge(before: cutoff, limit: limit)
        }
        withExtendedLifetime(replaced) {}
        return more
    }

    /// Runs `body` on the index.
    func read<T>(_ body: (TailIndex) -> T) -> T { state.withLock { body($0.index) } }

    /// The terms a search for `query` looks up, when this index can answer it: plain words that
    /// are one FTS5 term each (``TermCounts/terms(ofWord:)``: ASCII words as they are, others as
    /// SQLite's tokenizer folds them). Nil for anything else (operator syntax, a word FTS5 splits
    /// into a phrase), which merges first.
    static func terms(of query: FTSQuery) -> [String]? {
        guard !query.words.isEmpty else { return nil }
        var terms: [String] = []
        for word in query.words {
            guard let split = TermCounts.terms(ofWord: word), split.count == 1 else { return nil }
            terms.append(split[0])
        }
        return terms
    }
}

/// Runs the merge of pending items on a thread of its own: woken by each commit that left
/// items pending, it waits until stores pause, then merges them in batches of
/// ``MemorySettings/mergeBatch`` (``MemoryStore/mergePending(limit:)``) until none is left.
final class IndexMerger: Sendable {
    /// How long stores must pause before the merger takes the writer's lock. 100 ms rather than
    /// 20: in the 100k bench the single store's p99 was 0.5-3.8 ms (median 0.75) over five runs
    /// against 1.0-4.5 ms (median 2.2) over six, the bulk rate the same.
    static let coalesce: Duration = .milliseconds(100)

    private final class Target: Sendable {
        weak let store: MemoryStore?
        init(_ store: MemoryStore) { self.store = store }
    }

    private let running = Atomic<Bool>(true)
    private let signal = DispatchSemaphore(value: 0)
    private let commits = Atomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)
    /// The longest the merger waits for stores to pause.
    static let maxWait: Duration = .seconds(1)

    /// Starts the thread (it holds the store weakly and ends with it).
    init(store: MemoryStore) {
        let target = Target(store)
        let thread = Thread { [self] in loop(target) }
        thread.name = "memory-merge"
        thread.start()
    }

    /// Wakes the thread (a commit left items pending).
    func wake() {
        commits.add(1, ordering: .relaxed)
        segments.store(true, ordering: .relaxed)
        folding.store(true, ordering: .relaxed)
        signal.signal()
    }

    /// Stops the thread after the merge batch or fold chunk in progress (the rest of a backlog
    /// stays pending for the next start).
    /// - Parameter wait: also wait (up to 30 s) until the thread has ended (the plugin's stop:
    ///   no merge runs once it returns). Not from the thread itself.
    func stop(wait: Bool = false) {
        running.store(false, ordering: .relaxed)
        signal.signal()
        if wait { _ = finished.wait(timeout: .now() + .seconds(30)) }
    }

    /// Whether an older file's items may still lack word signatures (until a fill finds none).
    private let filling = Atomic<Bool>(true)

    /// Looks again for items lacking word signatures and for groups of postings past their cap
    /// (a restored older file).
    func refill() {
        filling.store(true, ordering: .relaxed)
        trimming.store(true, ordering: .relaxed)
    }

    /// Whether groups of postings may be stored past their cap (an older file's, until a trim
    /// finds none).
    private let trimming = Atomic<Bool>(true)

    /// Whether FTS5's segments may need merging (a commit since the last catch-up found none to).
    private let segments = Atomic<Bool>(true)

    /// Whether a fold of the postings delta may be due (a commit since the last catch-up found
    /// none, or a fold was left for later).
    private let folding = Atomic<Bool>(true)

    /// While stores pause and `pending` holds, runs `step` (one short write transaction) until a
    /// store commits; clears `pending` once a step finds nothing left to do (or fails). The
    /// background catch-up of an older file: word signatures (``MemoryStore/fillWordSignatures(batch:)``)
    /// and groups of postings past their cap (``MemoryStore/trimOversized(limit:)``).
    private func catchUp(_ target: Target, _ pending: borrowing Atomic<Bool>, _ step: (MemoryStore) throws -> Bool) {
        guard pending.load(ordering: .relaxed) else { return }
        let seen = commits.load(ordering: .relaxed)
        while running.load(ordering: .relaxed), commits.load(ordering: .relaxed) == seen, let store = target.store {
            guard (try? step(store)) ?? false else {
                pending.store(false, ordering: .relaxed)
                return
            }
        }
    }

    private func loop(_ target: Target) {
        defer { finished.signal() }
        while running.load(ordering: .relaxed) {
            let woken = signal.wait(timeout: .now() + .milliseconds(500)) == .success
            guard running.load(ordering: .relaxed) else { return }
            guard woken || target.store?.tail.isEmpty == false else {
                target.store?.tail.purge()
                catchUp(target, filling) { try $0.fillWordSignatures() }
                catchUp(target, trimming) { try $0.trimOversized() }
                catchUp(target, segments) { try $0.mergeSegments() }
                catchUp(target, folding) { try $0.foldPostingsIfDue(chunks: 1) > 0 }
                continue
            }
            // Merges when stores pause for ``coalesce`` (so a merge rarely holds the writer's
            // lock while a store waits for it), after ``maxWait`` at the latest, or at once when
            // a batch is full.
            let started = ContinuousClock.now
            while running.load(ordering: .relaxed) {
                let seen = commits.load(ordering: .relaxed)
                usleep(useconds_t(Self.coalesce.components.attoseconds / 1_000_000_000_000))
                guard let store = target.store else { return }
                if commits.load(ordering: .relaxed) == seen || ContinuousClock.now - started >= Self.maxWait
                    || store.tail.count >= store.settings.mergeBatch
                {
                    break
                }
            }
            while signal.wait(timeout: .now()) == .success {}
            guard let store = target.store else { return }
            // While stores keep coming, only full batches: merging each store's few items as it
            // lands (the merge and the stores alternating on the writer) rewrote most pages of
            // the postings per thousand items.
            var seen = commits.load(ordering: .relaxed)
            var quietSince = seen
            // A stop ends the backlog after the batch or fold chunk in progress: the rest stays in
            // the log for the next start. (It merged the whole backlog first, which after a bulk
            // store takes seconds, and the plugin's stop missed its deadline.)
            store.mergeBacklog(
                purging: true, folding: true,
                pause: {
                    let now = self.commits.load(ordering: .relaxed)
                    defer { seen = now }
                    return !self.running.load(ordering: .relaxed)
                        || (now != seen && store.tail.count < store.settings.mergeBatch)
                },
                quiet: {
                    let now = self.commits.load(ordering: .relaxed)
                    defer { quietSince = now }
                    return self.running.load(ordering: .relaxed) && now == quietSince
                })
        }
    }
}

/// What a merge step did.
struct MergeOutcome {
    /// The items merged.
    var seqs: [Int64] = []
    /// How many of them hold each term (``TermFrequencies``).
    var terms: [String: Int] = [:]
    /// The postings written to `term_postings_new` (``MemoryStore/deltaPostings``).
    var postingsWritten = 0
    /// The word signatures written (``WordSignatureCache``).
    var signatures: [(seq: Int64, signature: NearDuplicate.WordSignature)] = []
    /// Where the step's time went (the commit's is added after it).
    var timing = MergeTiming()
}

/// Where a merge's time went, by phase, for ``MemoryStore/mergeObserved`` (the plugin's
/// `memory_index_merge_phase_seconds`): the writer runs merges and stores one at a time, so
/// these phases bound how fast items can be stored in bulk.
struct MergeTiming: Sendable {
    /// The items merged.
    var items = 0
    /// FTS5's insert of the items, and the merging of its segments (``mergeSegments(_:pages:)``).
    var fts: Duration = .zero
    /// Sorting the items' terms into hot and not (and checking some for promotion), and their
    /// word signatures.
    var terms: Duration = .zero
    /// Writing the hot terms' impact postings and trimming their groups.
    var postings: Duration = .zero
    /// The rest of the step: reading the pending log, forgetting unindexed rows, clearing the log.
    var other: Duration = .zero
    /// The transaction's commit (FTS5's new segment and every page changed go to the WAL).
    var commit: Duration = .zero

    /// The phases by name, as the metric labels them.
    var phases: [(String, Duration)] {
        [("fts", fts), ("terms", terms), ("postings", postings), ("other", other), ("commit", commit)]
    }
}

extension MemoryStore {
    /// The pending log (migration `v4 pending index`): a store commits the item and its
    /// `items_pending` row (by trigger until `v13`, then once per batch by
    /// ``recordInserted(_:after:)``); FTS5 and the impact postings get it from the merge. Deleting a
    /// merged item removes it from FTS5, a pending one only from the log; changing a merged
    /// item's content removes the old text from FTS5 and queues the item again.
    static func createPendingLog(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE items_pending (seq INTEGER PRIMARY KEY);
                DROP TRIGGER items_fts_insert;
                DROP TRIGGER items_fts_delete;
                DROP TRIGGER items_fts_update;
                CREATE TRIGGER items_pending_insert AFTER INSERT ON items BEGIN
                    INSERT INTO items_pending(seq) VALUES (new.seq);
                END;
                CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
                    INSERT INTO items_fts(items_fts, rowid, content)
                        SELECT 'delete', old.seq, old.content
                        WHERE NOT EXISTS (SELECT 1 FROM items_pending WHERE seq = old.seq);
                    DELETE FROM items_pending WHERE seq = old.seq;
                END;
                CREATE TRIGGER items_fts_update AFTER UPDATE OF content ON items BEGIN
                    INSERT INTO items_fts(items_fts, rowid, content)
                        SELECT 'delete', old.seq, old.content
                        WHERE NOT EXISTS (SELECT 1 FROM items_pending WHERE seq = old.seq);
                    INSERT OR IGNORE INTO items_pending(seq) VALUES (new.seq);
                END;
                """)
    }

    /// Migration `v10 segment merges by the merger`: FTS5 no longer merges its segments by itself
    /// (`automerge` 0); the merger does (``mergeSegments(_:pages:)``), in its batch merges and
    /// while stores pause.
    ///
    /// FTS5's automerge runs in whatever transaction writes to the index: it counts the leaf
    /// pages written and, each time the count crosses 64, merges 64 pages for each level of the
    /// index. A store into a full layer writes one page (its eviction's delete), so every 64th
    /// such store merged hundreds of pages of older segments in its own transaction: 15-30 ms,
    /// the single store's p99 in an `episodic` layer at its 100 000 items. FTS5 still merges a level
    /// that reaches 16 segments at once (`crisismerge`), so the index stays bounded if the
    /// merger falls behind.
    static func stopAutomerge(_ db: Database) throws {
        try db.execute(sql: "INSERT INTO items_fts(items_fts, rank) VALUES('automerge', 0)")
    }

    /// Merges FTS5's segments, up to `pages` leaf pages written, where a level holds four or more
    /// (FTS5's `merge` command, as its automerge would), inside the caller's transaction.
    /// - Returns: whether there was anything to merge.
    static func mergeSegments(_ db: Database, pages: Int) throws -> Bool {
        let before = db.totalChangesCount
        try db.cachedStatement(sql: "INSERT INTO items_fts(items_fts, rank) VALUES('merge', ?)").execute(arguments: [pages])
        return db.totalChangesCount - before >= 2
    }

    /// One step of the merger's catch-up while stores pause: merges FTS5's segments (up to 100
    /// pages, a few milliseconds, so a store that comes meanwhile waits little) in a transaction
    /// of its own.
    /// - Returns: whether there was anything to merge.
    func mergeSegments() throws -> Bool {
        try pool.write { db in try Self.mergeSegments(db, pages: 100) }
    }

    /// The pending items with their contents.
    static func pendingItems(_ db: Database) throws -> [(Int64, String)] {
        try Row.fetchAll(
            db, sql: "SELECT items.seq, items.content FROM items_pending CROSS JOIN items ON items.seq = items_pending.seq"
        ).map { ($0[0], $0[1]) }
    }

    /// Merges up to `limit` pending items, oldest first, inside the caller's transaction: adds
    /// them to FTS5 in one statement, records their impact postings (written sorted by
    /// ``addCounts(_:_:cap:)``) and clears their log rows. The caller adds `promotions.terms` to
    /// ``hot`` and retires the outcome's items from ``tail`` after the commit.
    func mergeStep(_ db: Database, limit: Int, promotions: Promotions) throws -> MergeOutcome {
        let started = ContinuousClock.now
        try forgetUnindexed(db, promoted: promotions.terms)
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT items.seq, items.content FROM items_pending CROSS JOIN items ON items.seq = items_pending.seq
                ORDER BY items_pending.seq LIMIT ?
                """, arguments: [limit])
        guard let last = rows.last?[0] as Int64? else { return MergeOutcome() }
        let read = ContinuousClock.now
        try db.execute(
            sql: """
                INSERT INTO items_fts(rowid, content)
                SELECT items.seq, items.content FROM items_pending CROSS JOIN items ON items.seq = items_pending.seq
                WHERE items_pending.seq <= ?
                """, arguments: [last])
        // About the merge work FTS5's automerge would do for this batch (its pages written, about
        // one per 50 items at a million, times the index's levels), so a large merge is spread
        // over batches and a small batch (a few stores' items) holds the writer briefly.
        _ = try Self.mergeSegments(db, pages: max(16, rows.count / 8))
        let indexed = ContinuousClock.now
        // The tail counted the items' terms when they were stored (or loaded).
        let held = tail.read { index in rows.map { index.documents[$0[0] as Int64] } }
        let counted = zip(rows, held).map { row, terms in terms ?? TermCounts(row[1] as String) }
        // The batch's items holding each term (all in FTS5 now), for the hot-term checks.
        // Sized at once (at most the terms counted), not rehashed at each doubling.
        var batch: [String: Int] = [:]
        batch.reserveCapacity(min(counted.reduce(0) { $0 + $1.counts.count }, 1 << 16))
        for terms in counted { for term in terms.counts.keys { batch[term, default: 0] += 1 } }
        var outcome = MergeOutcome(seqs: rows.map { $0[0] }, terms: batch)
        try indexImpacts(db, items: zip(rows, counted).map { ($0[0], $1) }, batch: batch, promotions: promotions)
        let signatures = try RawStatement(db, sql: Self.setWordSignatureSQL)
        for (row, terms) in zip(rows, counted) {
            if terms.isExact {
                let signature = NearDuplicate.WordSignature(words: terms.counts.keys)
                try Self.setWordSignature(signatures, seq: row[0], signature)
                outcome.signatures.append((row[0], signature))
            }
        }
        let classified = ContinuousClock.now
        outcome.postingsWritten = try Self.addCounts(db, promotions, cap: settings.postingsPerGroup)
        let posted = ContinuousClock.now
        try db.execute(sql: "DELETE FROM items_pending WHERE seq <= ?", arguments: [last])
        outcome.timing = MergeTiming(
            items: rows.count, fts: indexed - read, terms: classified - indexed, postings: posted - classified,
            other: (read - started) + (ContinuousClock.now - posted))
        return outcome
    }

    /// Merges up to `limit` pending items in a transaction of their own.
    /// - Returns: how many were merged.
    @discardableResult
    func mergePending(limit: Int) throws -> Int {
        try mergingWrite { [self] db, promotions in
            let outcome = try mergeStep(db, limit: limit, promotions: promotions)
            return (outcome.seqs.count, outcome)
        }
    }

    /// Runs `body` in a write transaction; once it committed, and still under the writer's
    /// lock, the terms it promoted join ``hot`` and the items it merged leave ``tail``.
    ///
    /// Under the lock, because the next writer must see a promoted term as hot: a merge that
    /// classified its items' terms against the old hot set would leave the term's postings
    /// without them.
    func mergingWrite<T>(_ body: (Database, Promotions) throws -> (T, MergeOutcome)) throws -> T {
        try pool.writeWithoutTransaction { db in try commitMerging(db, events: nil, body) }
    }

    /// ``mergingWrite(_:)`` on GRDB's writer queue, without blocking the caller's thread; the
    /// events `body` adds to `events` are written to the outbox in the same transaction and
    /// handed to it after the commit, still under the writer's lock (``Outbox``).
    func mergingWrite<T: Sendable>(
        events: ItemEvents? = nil, _ body: @escaping @Sendable (Database, Promotions) throws -> (T, MergeOutcome)
    ) async throws -> T {
        // Counted as waiting until it holds the lock (a fold then yields it after a piece).
        let waiting = WaitingWriter(self)
        defer { waiting.arrived() }
        return try await pool.writeWithoutTransaction { [self] db in
            waiting.arrived()
            return try commitMerging(db, events: events, body)
        }
    }

    /// ``mergingWrite(events:_:)`` for a transaction that merges nothing.
    func eventWrite<T: Sendable>(events: ItemEvents?, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await mergingWrite(events: events) { db, _ in (try body(db), MergeOutcome()) }
    }

    /// The transaction of ``mergingWrite(_:)``, on the writer's connection.
    private func commitMerging<T>(
        _ db: Database, events: ItemEvents?, _ body: (Database, Promotions) throws -> (T, MergeOutcome)
    ) throws -> T {
        let promotions = Promotions()
        var result: (T, MergeOutcome)?
        var commit = Outbox.Commit()
        let start = events?.count ?? 0
        var reinforced: Reinforcements.Written?
        var retiring: Int64?
        var committing = ContinuousClock.now
        do {
            try db.inTransaction {
                // First, so the body (a consolidation's promotions) sees every retrieval.
                reinforced = try reinforcements.write(db)
                result = try body(db, promotions)
                try forgetUnindexed(db, promoted: promotions.terms)
                commit = try outbox.record(db, events?.since(start) ?? [])
                // Last: the merged items leave the tail for snapshots that have them in FTS5.
                if let seqs = result?.1.seqs, !seqs.isEmpty {
                    let epoch = try Reinforcements.advanceEpoch(db)
                    retiring = epoch
                    tail.retire(seqs, epoch: epoch, known: result?.1.terms)
                    beforeMergeCommit.current?(())
                }
                committing = ContinuousClock.now
                return .commit
            }
        } catch {
            if let retiring { tail.restore(epoch: retiring) }
            reinforcements.rolledBack(reinforced)
            evictions.withLock { $0 = [:] }
            throw error
        }
        let evicted = evictions.withLock { evicted in
            defer { evicted = [:] }
            return evicted
        }
        if !evicted.isEmpty, let observed = evictionObserved.current { observed(evicted) }
        guard let (value, outcome) = result else { preconditionFailure("a committed transaction has a result") }
        if !outcome.seqs.isEmpty, let observed = mergeObserved.current {
            var timing = outcome.timing
            timing.commit = ContinuousClock.now - committing
            observed(timing)
        }
        if !outcome.seqs.isEmpty { afterMergeCommit.current?(()) }
        reinforcements.committed(reinforced)
        if !commit.entries.isEmpty { CrashHook.committed() }
        outbox.committed(commit)
        finishMerge(outcome, promotions)
        return value
    }

    /// After a merge committed: its promotions join ``hot``, its items' terms are counted in
    /// ``frequencies`` and their signatures join ``signatures`` (they left ``tail`` in the
    /// transaction).
    private func finishMerge(_ outcome: MergeOutcome, _ promotions: Promotions) {
        hot.add(promotions.terms)
        signatures.set(outcome.signatures)
        if !outcome.seqs.isEmpty { frequencies.merged(outcome.terms, items: outcome.seqs.count) }
        if outcome.postingsWritten > 0 { deltaPostings.withLock { $0 = $0.map { $0 + outcome.postingsWritten } } }
    }

    /// Chunks of a due fold of the postings delta after each merge batch: more than a merge of
    /// ``MemorySettings/mergeBatch`` items adds to the delta (about 75 000 postings for 10 000
    /// items at a million, a chunk ``MemorySettings/postingsFoldChunk`` is 100 000), so a fold
    /// left for later still ends while stores never pause.
    static let foldChunksPerMerge = 2

    /// Merges until nothing is pending (the merger's work; also the fallback of a search
    /// ``PendingTail`` cannot answer).
    /// - Parameters:
    ///   - purging: remove the items retired meanwhile afterwards (the merger; a search that
    ///     merges first leaves that to it rather than wait for it).
    ///   - folding: after each batch, fold up to ``foldChunksPerMerge`` chunks of the postings
    ///     delta when it is due (``foldPostingsIfDue(chunks:)``; the merger, which folds the
    ///     rest while stores pause: a search that merges first does not wait for a fold, which
    ///     takes seconds at a million items).
    ///   - pause: asked after each batch; true leaves the rest pending (the merger, while
    ///     stores are coming and less than a batch is pending).
    ///   - quiet: asked after a fold's ``foldChunksPerMerge`` chunks and each further one: true
    ///     (no store came during the last) folds on.
    func mergeBacklog(
        purging: Bool = false, folding: Bool = false, pause: () -> Bool = { false }, quiet: () -> Bool = { false }
    ) {
        defer { if purging { tail.purge() } }
        do {
            while try mergePending(limit: settings.mergeBatch) > 0 {
                if folding { try foldPostingsIfDue(chunks: Self.foldChunksPerMerge, more: quiet) }
                if pause() { return }
            }
            // Under the writer's lock: no store is between its tail entry and its commit. Under an
            // epoch of its own, as a merge's items: each retired batch has its own.
            var retiring: Int64?
            do {
                try pool.write { [tail] db in
                    guard tail.count > 0, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items_pending") == 0 else { return }
                    let epoch = try Reinforcements.advanceEpoch(db)
                    retiring = epoch
                    tail.retireAll(epoch: epoch)
                }
            } catch {
                if let retiring { tail.restore(epoch: retiring) }
                throw error
            }
        } catch {
            // The next wake tries again; the items are in the log and searchable meanwhile.
        }
    }

    /// Signals the merger after a commit that left items pending (nothing when merging in the
    /// background is off: tests merge by hand).
    func pendingCommitted() { merger.withLock { $0 }?.wake() }

    /// The best `count` pending items by BM25 for a plain-word query among the items meeting
    /// `conditions`, best first, with `bm25()` values computed over index and tail together.
    /// - Parameters:
    ///   - words: the query's terms (``PendingTail/terms(of:)``).
    ///   - below: only items ranked better (a lower `bm25()`) than this: the caller's `count`
    ///     candidates from the index already fill its list down to it, so no other pending item
    ///     would make it. For a common word, the tail's matches, thousands of items under steady
    ///     stores, were all ranked and `count` of them read from `items`, to be outranked.
    func tailCandidates(
        _ db: Database, query: FTSQuery, words: [String], conditions: String, arguments: [DatabaseValue], count: Int,
        below threshold: Double? = nil, epoch: Int64
    ) throws -> [Candidate] {
        let all = query.mode == .all
        guard tail.mayHold(words, all: all) else { return [] }
        let totals = try Self.indexTotals(db)
        let hotCount = try db.cachedStatement(sql: "SELECT rows FROM hot_terms WHERE term = ?")
        let vocabCount = try db.cachedStatement(sql: "SELECT doc FROM items_vocab WHERE term = ?")
        let indexed = try words.map { word in
            try Int64.fetchOne(hotCount, arguments: [word]) ?? Int64.fetchOne(vocabCount, arguments: [word]) ?? 0
        }
        let index = (rows: totals?.rows ?? 0, tokens: Double(totals?.rows ?? 0) * (totals?.averageLength ?? 0), hits: indexed)
        // Ranked better than `threshold` (−impact < threshold) is an impact over −threshold.
        var ranked = tail.scored(words, all: all, epoch: epoch, indexed: index, over: threshold.map { -$0 } ?? -.infinity)
        ranked.sort { ($0.impact, $1.seq) > ($1.impact, $0.seq) }
        var found: [Candidate] = []
        var start = 0
        while found.count < count && start < ranked.count {
            let chunk = ranked[start..<min(start + 500, ranked.count)]
            start = chunk.endIndex
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            let bySeq = try Row.fetchAll(
                db,
                sql: """
                    SELECT items.seq, items.layer, items.importance, items.created_at, items.last_accessed_at,
                        items.access_count
                    FROM items_pending CROSS JOIN items ON items.seq = items_pending.seq
                    WHERE items_pending.seq IN (\(marks)) AND \(conditions)
                    """, arguments: StatementArguments(chunk.map { $0.0.databaseValue } + arguments)
            ).reduce(into: [Int64: Row]()) { $0[$1[0]] = $1 }
            for (seq, impact) in chunk {
                if let row = bySeq[seq] { found.append(Candidate(row, bm25: BM25.rank(impact: impact))) }
            }
        }
        return Array(found.prefix(count))
    }
}

/// One write counted in ``MemoryStore/writersWaiting`` until it holds the writer's lock, or
/// fails before it does (``arrived()`` takes it off once).
private final class WaitingWriter: Sendable {
    private let store: MemoryStore
    private let done = Atomic<Bool>(false)

    init(_ store: MemoryStore) {
        self.store = store
        store.writersWaiting.add(1, ordering: .relaxed)
    }

    func arrived() {
        if !done.exchange(true, ordering: .relaxed) { store.writersWaiting.subtract(1, ordering: .relaxed) }
    }
}
