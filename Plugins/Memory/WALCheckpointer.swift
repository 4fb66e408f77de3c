import Foundation
import GRDB
import Synchronization

/// Checkpoints the memory database's WAL from a connection and thread of its own, so a store's
/// commit never copies the WAL into the database itself.
///
/// SQLite's default (`wal_autocheckpoint = 1000`) runs a checkpoint inside the commit that
/// pushes the WAL past 1000 pages: that commit copies every page and syncs the WAL and the
/// database file twice, which made the durable single store's p99 several times its p50. The
/// writer's automatic checkpoint is therefore raised to ``MemoryStore/walBoundPages`` (a bound
/// on the WAL's size should this thread fall behind), and this thread runs a `PASSIVE`
/// checkpoint every ``interval`` while the WAL holds frames: it takes no writer lock, so stores
/// carry on while it copies, and once it has copied everything the next write transaction starts
/// the WAL over.
///
/// Durability is unchanged: a commit is in the WAL (written, not synced, with
/// `synchronous = NORMAL`) before the reply, so it survives the process being killed; the WAL is
/// synced to disk when a checkpoint runs, so a power cut can lose the last commits.
final class WALCheckpointer: Sendable {
    /// How often the thread looks at the WAL.
    static let interval: Duration = .milliseconds(20)

    private let running = Atomic<Bool>(true)
    private let queue: DatabaseQueue

    /// Opens the checkpointing connection on the database at `path` and starts its thread.
    init(path: String) throws {
        var configuration = Configuration()
        configuration.label = "memory.checkpoint"
        configuration.busyMode = .timeout(5)
        queue = try DatabaseQueue(path: path, configuration: configuration)
        let thread = Thread { [self] in loop() }
        thread.name = "memory-checkpoint"
        thread.start()
    }

    /// Stops the thread after its current checkpoint (it holds no reference to the store).
    func stop() { running.store(false, ordering: .relaxed) }

    private func loop() {
        while running.load(ordering: .relaxed) {
            _ = try? checkpoint()
            let nanoseconds = Self.interval.components.attoseconds / 1_000_000_000
            usleep(useconds_t(nanoseconds / 1000))
        }
    }

    /// Runs one `PASSIVE` checkpoint.
    /// - Returns: the WAL's frames and how many of them are now in the database.
    @discardableResult
    func checkpoint() throws -> (frames: Int, checkpointed: Int) {
        try queue.inDatabase { db in
            guard let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") else { return (0, 0) }
            return (row[1] ?? 0, row[2] ?? 0)
        }
    }
}
