import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Checkpoints the memory database's WAL from a connection and thread of its own, so a store's
/// commit never copies the WAL into the database itself.
///
/// SQLite's default (`wal_autocheckpoint = 1000`) runs a checkpoint inside the commit that
/// pushes the WAL past 1000 pages: that commit copies every page and syncs the WAL and the
/// database file twice, which made the durable single store's p99 several times its p50. The
/// writer therefore checkpoints only past ``MemoryStore/walBoundPages`` (a bound on the WAL's
/// size should this thread fall behind), and this thread runs a `PASSIVE` checkpoint every
/// ``interval``: it takes no writer lock, so stores carry on while it copies, and once it has
/// copied everything the next write transaction starts the WAL over. The bound is well above
/// what one merge writes (about 28 000 pages for 10 000 items at a million): past 16 384 pages,
/// as it was, every such merge's commit copied the whole WAL itself, 0.3 s on top of the
/// merge, with the stores behind it waiting.
///
/// **The WAL-reset bug.** SQLite 3.7.0 to 3.51.2 (Debian bookworm has 3.40.1) can corrupt a
/// database when a checkpoint starts on a WAL that an earlier checkpoint copied completely and,
/// while it runs, another connection's commit starts the WAL over
/// (<https://sqlite.org/wal.html#walresetbug>). A second connection checkpointing beside the
/// writer is that pattern, so this thread never checkpoints a WAL it knows is copied already:
/// the writer's connection reports every commit that wrote frames through SQLite's WAL hook
/// (``noteCommit(frames:connection:)``), and a checkpoint runs only when a commit added frames
/// after the last complete one (``WALLedger/due``). The writer's own checkpoints past the bound
/// run in that hook, one at a time with this thread's.
///
/// Durability is unchanged: a commit is in the WAL (written, not synced, with
/// `synchronous = NORMAL`) before the reply, so it survives the process being killed; the WAL is
/// synced to disk when a checkpoint runs, so a power cut can lose the last commits.
///
/// **The WAL file's size.** A WAL starts over from its first frame but its file keeps the size
/// it grew to (a bulk load takes it to hundreds of megabytes). SQLite's `journal_size_limit`
/// would cut it back in the commit that starts it over, a store's; this thread does it instead,
/// once no commit has come for ``idle`` and the file is larger than ``keptBytes``, with a
/// `TRUNCATE` checkpoint (``truncateIfLarge()``). That holds the writer's lock from its start,
/// so no commit can start the WAL over while it runs (the bug above cannot happen), and it
/// waits for nothing: with no busy handler on this thread's connection it gives up at once when
/// a store is writing or a search still reads frames of the WAL, and tries again after another
/// idle spell.
///
/// **Idle, the thread sleeps.** It looks at the WAL every ``interval`` only while there is
/// something to do: commits coming, a checkpoint a reader kept from finishing. Otherwise it waits
/// for the writer's next commit (``noteCommit(frames:connection:)`` wakes it), or, with a WAL file
/// past ``keptBytes``, for the end of the idle spell. An idle server used to wake it 50 times a
/// second to look at the WAL's size twice.
final class WALCheckpointer: Sendable {
    /// How often the thread looks at the WAL while commits come.
    static let interval: Duration = .milliseconds(20)
    /// The longest the thread waits for a commit (a bound only: a commit wakes it at once).
    static let longestWait: Duration = .seconds(60)

    private let running = Atomic<Bool>(true)
    /// The commits and checkpoints seen so far.
    private let ledger = Mutex(WALLedger())
    /// Held for the whole of every checkpoint, this thread's and the writer's.
    private let checkpointing = Mutex(())
    /// The checkpoints run so far, this thread's and the writer's (tests).
    private let runs = Atomic<Int>(0)
    private let queue: Mutex<DatabaseQueue?> = Mutex(nil)
    /// The writer's checkpoint threshold in pages.
    private let boundPages: Int32
    /// The WAL file's size past which an idle store's WAL is cut back.
    let keptBytes: Int
    /// How long without commits makes the store idle.
    let idle: Duration
    /// The WAL file (set by ``start(path:)``).
    private let walPath = Mutex<String?>(nil)
    /// The WAL files cut back so far.
    private let truncations = Atomic<Int>(0)
    /// The writer's commits that wrote frames (the ledger's count, where the thread can compare it
    /// with its own before it waits; sequentially consistent with ``parked``).
    private let commits = Atomic<UInt64>(0)
    /// Set while the thread waits for a commit; the commit that finds it set wakes the thread.
    private let parked = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    /// The thread's looks at the WAL so far (tests).
    private let looks = Atomic<Int>(0)

    /// A checkpointer that starts work once ``start(path:)`` opens its connection.
    /// - Parameters:
    ///   - boundPages: the WAL frames past which the writer checkpoints in its commit.
    ///   - keptBytes: the WAL file's size past which it is cut back once the store is idle.
    ///   - idle: how long without commits that waits for.
    init(boundPages: Int32, keptBytes: Int = MemorySettings().walKeptBytes, idle: Duration = MemorySettings().walIdle) {
        self.boundPages = boundPages
        self.keptBytes = keptBytes
        self.idle = idle
    }

    /// Opens the checkpointing connection on the database at `path` and starts the thread.
    /// - Throws: when the connection cannot be opened.
    func start(path: String) throws {
        var configuration = Configuration()
        configuration.label = "memory.checkpoint"
        configuration.busyMode = .timeout(5)
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        self.queue.withLock { $0 = queue }
        walPath.withLock { $0 = path + "-wal" }
        let thread = Thread { [self] in loop() }
        thread.name = "memory-checkpoint"
        thread.start()
    }

    /// Stops the thread after its current checkpoint (it holds no reference to the store).
    func stop() {
        running.store(false, ordering: .sequentiallyConsistent)
        wake.signal()
    }

    /// The checkpoints run so far.
    var checkpointsRun: Int { runs.load(ordering: .relaxed) }

    /// The WAL files cut back so far.
    var truncationsRun: Int { truncations.load(ordering: .relaxed) }

    /// How often the thread has looked at the WAL so far.
    var looksRun: Int { looks.load(ordering: .relaxed) }

    /// Runs `body` as if this thread were checkpointing (tests).
    func whileCheckpointing<T>(_ body: () throws -> T) rethrows -> T { try checkpointing.withLock { _ in try body() } }

    /// Installs the WAL hook on a connection (every connection of the store's pool; only the
    /// writer's commits call it). Replaces SQLite's automatic checkpoint, which is a WAL hook too.
    func install(on db: Database) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(
            db.sqliteConnection,
            { context, connection, _, frames in
                guard let context else { return SQLITE_OK }
                let checkpointer = Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue()
                checkpointer.noteCommit(frames: frames, connection: connection)
                return SQLITE_OK
            }, context)
    }

    /// Notes a commit of the writer's that left `frames` frames in the WAL; past the bound,
    /// checkpoints on the writer's connection as SQLite's automatic checkpoint would, unless
    /// this thread is checkpointing at that moment: it is not behind then, and waiting for its
    /// copy would hold the commit, and every store behind it, for as long.
    func noteCommit(frames: Int32, connection: OpaquePointer? = nil) {
        ledger.withLock { $0.noteCommit(frames: frames) }
        commits.add(1, ordering: .sequentiallyConsistent)
        if parked.load(ordering: .sequentiallyConsistent), parked.exchange(false, ordering: .sequentiallyConsistent) {
            wake.signal()
        }
        guard frames >= boundPages, let connection else { return }
        checkpointing.withLockIfAvailable { _ in
            let before = ledger.withLock { $0.commits }
            var log: Int32 = 0
            var copied: Int32 = 0
            let status = sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
            runs.add(1, ordering: .relaxed)
            guard status == SQLITE_OK else { return }
            ledger.withLock { $0.noteCheckpoint(frames: Int(log), copied: Int(copied), commitsBefore: before) }
        }
    }

    private func loop() {
        var seen = commits.load(ordering: .sequentiallyConsistent)
        var quietSince = ContinuousClock.now
        while running.load(ordering: .relaxed) {
            looks.add(1, ordering: .relaxed)
            _ = try? checkpointIfDue()
            let now = commits.load(ordering: .sequentiallyConsistent)
            if now != seen {
                seen = now
                quietSince = .now
            } else {
                var large = walBytes > keptBytes
                if large, ContinuousClock.now - quietSince >= idle {
                    // A reader held frames of the WAL: the next try after another idle spell, not
                    // at every look (each takes the writer's lock for a moment).
                    if truncateIfLarge() { large = false } else { quietSince = .now }
                }
                // Nothing to copy and no commit since the last look: wait for one.
                if !ledger.withLock({ $0.due }) { park(seen: seen, until: large ? quietSince + idle : nil) }
            }
            usleep(useconds_t(Self.interval / .microseconds(1)))
        }
        queue.withLock { $0 = nil }
    }

    /// Waits until a commit comes after the `seen`-th (at once if one has), ``stop()``, or
    /// `deadline` (at most ``longestWait``).
    private func park(seen: UInt64, until deadline: ContinuousClock.Instant?) {
        parked.store(true, ordering: .sequentiallyConsistent)
        // After `parked` is set: a commit from here on finds it set and wakes the thread, and
        // one before is seen here.
        if commits.load(ordering: .sequentiallyConsistent) == seen, running.load(ordering: .sequentiallyConsistent) {
            let wait = min(deadline.map { $0 - .now } ?? Self.longestWait, Self.longestWait)
            _ = wake.wait(timeout: .now() + .nanoseconds(max(0, Int(wait / .nanoseconds(1)))))
        }
        parked.store(false, ordering: .sequentiallyConsistent)
    }

    /// The WAL file's size in bytes (0 when there is none).
    var walBytes: Int {
        guard let path = walPath.withLock({ $0 }) else { return 0 }
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Copies the whole WAL into the database and cuts its file to nothing, when the file is
    /// larger than ``keptBytes`` (a `TRUNCATE` checkpoint; see the type's notes). Gives up at
    /// once, cutting nothing and losing nothing, while a store writes or a search reads frames
    /// of the WAL.
    /// - Returns: whether the file was cut back.
    @discardableResult
    func truncateIfLarge() -> Bool {
        guard let queue = queue.withLock({ $0 }), walBytes > keptBytes else { return false }
        return checkpointing.withLock { _ in
            let status = try? queue.inDatabase { db in
                let connection = db.sqliteConnection
                // No waiting: the writer's lock is held from here to the end (a store waits for
                // it) and the readers' are asked for after the copy.
                sqlite3_busy_timeout(connection, 0)
                var log: Int32 = 0
                var copied: Int32 = 0
                return sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied)
            }
            runs.add(1, ordering: .relaxed)
            guard status == SQLITE_OK else { return false }
            // Nothing is left in the WAL; a commit noted from now on is in a new one.
            ledger.withLock { $0.noteCheckpoint(frames: 0, copied: 0, commitsBefore: $0.commits) }
            truncations.add(1, ordering: .relaxed)
            return true
        }
    }

    /// Runs one `PASSIVE` checkpoint unless the WAL is known to be copied already.
    /// - Returns: the WAL's frames and how many of them are now in the database, or nil when no
    ///   checkpoint was due.
    @discardableResult
    func checkpointIfDue() throws -> (frames: Int, checkpointed: Int)? {
        guard let queue = queue.withLock({ $0 }) else { return nil }
        return try checkpointing.withLock { _ throws -> (frames: Int, checkpointed: Int)? in
            let before = ledger.withLock { $0.due ? $0.commits : nil }
            guard let before else { return nil }
            let result = try queue.inDatabase { db -> (Int, Int) in
                guard let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") else { return (0, 0) }
                return (row[1] ?? 0, row[2] ?? 0)
            }
            runs.add(1, ordering: .relaxed)
            ledger.withLock { $0.noteCheckpoint(frames: result.0, copied: result.1, commitsBefore: before) }
            return result
        }
    }
}

/// What the writer's commits and the checkpoints have done to the WAL: whether a checkpoint can
/// start without risking SQLite's WAL-reset bug (``WALCheckpointer``).
struct WALLedger: Equatable {
    /// A checkpoint that copied the whole WAL it saw.
    struct Complete: Equatable {
        /// ``commits`` when it started and when it returned.
        var commitsBefore: UInt64
        var commitsAfter: UInt64
        /// The WAL's frames it saw.
        var frames: Int
    }

    /// The commits that wrote frames.
    private(set) var commits: UInt64 = 0
    /// The WAL's frames after the latest of them.
    private(set) var frames = 0
    /// The last checkpoint, when it copied everything it saw (nil before the first or when it
    /// could not: readers held frames).
    private(set) var complete: Complete?

    /// Notes a commit that left `frames` frames in the WAL.
    mutating func noteCommit(frames: Int32) {
        commits += 1
        self.frames = Int(frames)
    }

    /// Notes a checkpoint that saw `frames` frames and left `copied` of them in the database.
    mutating func noteCheckpoint(frames: Int, copied: Int, commitsBefore: UInt64) {
        complete =
            copied >= frames ? Complete(commitsBefore: commitsBefore, commitsAfter: commits, frames: frames) : nil
    }

    /// Whether a checkpoint may run: none has copied everything yet, or a commit wrote frames
    /// the last complete one did not see.
    /// - A commit noted after that checkpoint returned began after it finished, so it either
    ///   started the WAL over or added to it: the WAL is no longer all copied.
    /// - A commit noted while it ran added to the WAL that checkpoint saw (it cannot have
    ///   started the WAL over: that checkpoint did not start on a copied WAL) and is past it
    ///   when it left more frames than the checkpoint saw.
    /// - Otherwise the WAL is all copied, and a checkpoint now is the bug's second checkpoint.
    var due: Bool {
        guard let complete else { return true }
        if commits > complete.commitsAfter { return true }
        return commits > complete.commitsBefore && frames > complete.frames
    }
}
