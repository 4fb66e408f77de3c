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
/// and what it wrote stays here under that epoch for ``keepWritten`` after its commit: a read
/// reads the epoch in its own snapshot and adds the retrievals still noted plus those written
/// after it, so a commit between a read's start and its look here neither loses nor doubles one.
/// (A read longer than ``keepWritten`` could miss some; searches take milliseconds.)
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
        /// Written by committed transactions, oldest first, with when each committed.
        var written: [(written: Written, at: ContinuousClock.Instant)] = []
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

    /// Whether nothing is noted and not written.
    var isEmpty: Bool { state.withLock { $0.pending.isEmpty } }

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

    /// Adds the noted retrievals to `items` and advances the epoch, in the writer's transaction.
    /// - Returns: what it wrote, for ``written(_:)`` once the transaction has committed.
    func write(_ db: Database) throws -> Written? {
        let batch = state.withLock { $0.pending }
        guard !batch.isEmpty else { return nil }
        let epoch = try Self.advanceEpoch(db)
        let statement = try db.cachedStatement(
            sql: "UPDATE items SET access_count = access_count + ?, last_accessed_at = ? WHERE seq = ? AND id = ?")
        for (seq, p) in batch { try statement.execute(arguments: [p.count, p.last, seq, p.id]) }
        return Written(epoch: epoch, batch: batch)
    }

    /// After the commit of ``write(_:)``'s transaction: what it wrote leaves the noted
    /// retrievals (those noted since stay) and is kept for older snapshots.
    func written(_ written: Written?) {
        guard let written else { return }
        let now = ContinuousClock.now
        state.withLock { state in
            for (seq, w) in written.batch {
                guard var p = state.pending[seq], p.id == w.id else { continue }
                p.count -= w.count
                state.pending[seq] = p.count > 0 ? p : nil
            }
            state.written.removeAll { now - $0.at > Self.keepWritten }
            state.written.append((written, now))
        }
    }

    /// Forgets everything noted and written (the database was replaced).
    func clear() {
        state.withLock { $0 = State() }
    }
}
