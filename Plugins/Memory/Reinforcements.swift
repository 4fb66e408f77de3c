import Foundation
import GRDB
import MemoryCore
import Synchronization

/// Retrievals (a get, a reinforcing search) counted and not yet written to `items`.
///
/// A retrieval used to write its reinforcement in a transaction of its own, so a get or a
/// default search waited for the writer: behind a merge's transaction it waited up to 1.4 s at
/// a million items while stores came (`MIXED=2000` in `scripts/probe-memory.sh`: p99 930 ms
/// against 21 ms for the same searches without reinforcement). Now a retrieval only reads, and
/// notes its items here. The writer adds what is noted to `items` at the start of every
/// transaction it commits (``MemoryStore/commitMerging``), so a store, a merge or a
/// consolidation writes them too; when no write comes, a flush ``flushDelay`` after the first
/// note does.
///
/// Every read adds to what its snapshot of the database gives the retrievals the snapshot does
/// not hold yet (``overlay(_:epoch:)``), so searches rank with them and replies show them at
/// once. Each transaction that writes noted retrievals advances `retrieval_epoch` in the file,
/// and what it writes moves here from the noted retrievals to the written ones, under that
/// epoch, before it commits, and stays for ``keepWritten``: a read reads the epoch in its own
/// snapshot and adds the retrievals still noted plus those written after it, so a commit between
/// a read's start and its look here neither loses nor doubles one. (Moved only after the commit,
/// they were counted twice by a read that began in between: an access count one too high.) A
/// transaction that rolls back puts them back
/// (``rolledBack(_:)``). (A read longer than ``keepWritten`` could miss some; searches take
/// milliseconds.)
///
/// A crash loses the retrievals noted since the last commit (at most about ``flushDelay`` of
/// them while the writer is free): access counts and last-access times, never an item.
final class Reinforcements: Sendable {
    /// What is noted for one item.
    struct Pending: Sendable, Equatable {
        /// The item's id (a seq can be reused after the newest item is deleted; the id cannot).
        var id: String
        /// Retrievals.
        var count: Int
        /// When the newest of them happened (seconds since 1970).
        var last: Double
    }

    /// What one transaction wrote: its epoch and the retrievals.
    struct Written: Sendable {
        var epoch: Int64
        var batch: [Int64: Pending]
    }

    private struct State {
        /// Noted and not written by a committed transaction.
        var pending: [Int64: Pending] = [:]
        /// Written by transactions, oldest first, with when each wrote them.
        var written: [(written: Written, at: ContinuousClock.Instant)] = []
        /// The epochs of those whose transactions have not committed yet.
        var uncommitted: Set<Int64> = []
    }

    /// How long after the first unwritten retrieval a flush writes them when nothing else does.
    static let flushDelay: Duration = .milliseconds(50)
    /// How long what a transaction wrote stays for reads whose snapshots began before it.
    static let keepWritten: Duration = .seconds(30)

    private let state = Mutex(State())
    private let flushScheduled = Atomic<Bool>(false)

    /// The table holding the epoch (migration `v9 retrieval epoch`).
    static func createTable(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE retrieval_epoch (epoch INTEGER NOT NULL);
                INSERT INTO retrieval_epoch VALUES (0);
                """)
    }

    /// The epoch of the snapshot `db` reads. Transactions that write retrievals advance it, and
    /// so do merges (``PendingTail``): the table keeps its first name, `retrieval_epoch`.
    static func epoch(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT epoch FROM retrieval_epoch")) ?? 0
    }

    /// Advances the epoch in the writer's transaction `db`.
    /// - Returns: the new epoch, which snapshots see once the transaction commits.
    static func advanceEpoch(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(sql: "UPDATE retrieval_epoch SET epoch = epoch + 1 RETURNING epoch")) ?? 0
    }

    /// Notes one retrieval of each item at `time`.
    /// - Returns: true when the caller should schedule a flush (none is scheduled yet).
    func note(_ items: [(seq: Int64, id: String)], at time: Date) -> Bool {
        guard !items.isEmpty else { return false }
        let seconds = time.timeIntervalSince1970
        state.withLock { state in
            for (seq, id) in items {
                if var p = state.pending[seq], p.id == id {
                    p.count += 1
                    p.last = max(p.last, seconds)
                    state.pending[seq] = p
                } else {
                    state.pending[seq] = Pending(id: id, count: 1, last: seconds)
                }
            }
        }
        return flushScheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    /// A flush is starting: retrievals noted from now on schedule another.
    func flushStarting() { flushScheduled.store(false, ordering: .releasing) }

    /// Whether nothing is noted and not written by a committed transaction.
    var isEmpty: Bool { state.withLock { $0.pending.isEmpty && $0.uncommitted.isEmpty } }

    /// What is noted and not written for the item at `seq`.
    func pending(_ seq: Int64) -> Pending? { state.withLock { $0.pending[seq] } }

    /// What a read of a snapshot at `epoch` adds for the item at `seq` (nil: nothing).
    func overlay(_ seq: Int64, epoch: Int64) -> Pending? {
        state.withLock { state in
            var sum = state.pending[seq]
            for (written, _) in state.written.reversed() {
                guard written.epoch > epoch else { break }
                guard let w = written.batch[seq] else { continue }
                if let s = sum, s.id != w.id { continue }
                sum = Pending(id: w.id, count: (sum?.count ?? 0) + w.count, last: max(sum?.last ?? w.last, w.last))
            }
            return sum
        }
    }

    /// Whether a read of a snapshot at `epoch` has anything to add.
    func anyOverlay(epoch: Int64) -> Bool {
        state.withLock { !$0.pending.isEmpty || ($0.written.last.map { $0.written.epoch > epoch } ?? false) }
    }

    /// `item` (at `seq`, read from a snapshot at `epoch`) with the retrievals that snapshot lacks.
    func overlaid(_ item: MemoryItem, seq: Int64, epoch: Int64) -> MemoryItem {
        guard let p = overlay(seq, epoch: epoch), p.id == item.id else { return item }
        var item = item
        item.accessCount += p.count
        item.lastAccessedAt = Date(timeIntervalSince1970: p.last)
        return item
    }

    /// Adds the noted retrievals to `items` and advances the epoch, in the writer's transaction,
    /// and moves them from the noted retrievals to the written ones under that epoch (those
    /// noted since stay noted): snapshots before the commit lack the epoch and add them, those
    /// after it have both.
    /// - Returns: what it wrote, for ``committed(_:)`` once the transaction has committed, or
    ///   ``rolledBack(_:)`` should it not.
    func write(_ db: Database) throws -> Written? {
        let batch = state.withLock { $0.pending }
        guard !batch.isEmpty else { return nil }
        let epoch = try Self.advanceEpoch(db)
        let statement = try db.cachedStatement(
            sql: "UPDATE items SET access_count = access_count + ?, last_accessed_at = ? WHERE seq = ? AND id = ?")
        for (seq, p) in batch { try statement.execute(arguments: [p.count, p.last, seq, p.id]) }
        let written = Written(epoch: epoch, batch: batch)
        let now = ContinuousClock.now
        state.withLock { state in
            for (seq, w) in batch {
                guard var p = state.pending[seq], p.id == w.id else { continue }
                p.count -= w.count
                state.pending[seq] = p.count > 0 ? p : nil
            }
            state.written.removeAll { now - $0.at > Self.keepWritten }
            state.written.append((written, now))
            state.uncommitted.insert(epoch)
        }
        return written
    }

    /// ``write(_:)``'s transaction committed.
    func committed(_ written: Written?) {
        guard let written else { return }
        _ = state.withLock { $0.uncommitted.remove(written.epoch) }
    }

    /// ``write(_:)``'s transaction rolled back: what it wrote is noted again (its epoch was
    /// rolled back with it, and the next transaction takes it).
    func rolledBack(_ written: Written?) {
        guard let written else { return }
        state.withLock { state in
            state.uncommitted.remove(written.epoch)
            state.written.removeAll { $0.written.epoch == written.epoch }
            for (seq, w) in written.batch {
                if var p = state.pending[seq] {
                    // Another item at a reused seq was noted since: the newer one stays, as `note` keeps it.
                    guard p.id == w.id else { continue }
                    p.count += w.count
                    p.last = max(p.last, w.last)
                    state.pending[seq] = p
                } else {
                    state.pending[seq] = w
                }
            }
        }
    }

    /// Forgets everything noted and written (the database was replaced).
    func clear() {
        state.withLock { $0 = State() }
    }
}
