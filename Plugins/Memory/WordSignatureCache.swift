import GRDB
import MemoryCore
import Synchronization

/// The rows of `item_words` (``MemoryStore/createWordSignatures(_:)``) in memory, by item `seq`:
/// a near-duplicate check rules out hundreds of FTS5 candidates by their signatures in
/// microseconds, where reading them from the table cost about 2 µs a row at a million items,
/// so its lookup can take fewer words and more rows (``NearDuplicate/Lookup/cost(counts:items:)``).
///
/// Never stale. A signature enters only under the writer's lock, after the transaction that
/// wrote it committed (a merge, a fill) or read straight from the table (``load(_:)``, at open
/// and after a restore). It leaves when its row is deleted, whatever deletes it: a temporary
/// trigger on the writer's connection calls ``forget(_:)`` (``install(_:)``), in the deleting
/// transaction, so a rolled-back delete only leaves the row unknown here. An unknown row is
/// read from the table.
///
/// 16 bytes per seq up to the highest one held (16 MB at a million items); seqs from
/// ``capacity`` on are never held. A signature of no bits (an item of no words) reads as
/// unknown.
final class WordSignatureCache: Sendable {
    /// Seqs below this are held.
    static let capacity = 4_000_000

    private let signatures = Mutex<[NearDuplicate.WordSignature]>([])

    /// The SQL function the trigger of ``install(_:)`` calls with a deleted row's seq.
    static let forgetFunction = "memory_forget_word_signature"

    /// Registers ``forgetFunction`` on `db` (the writer's connection) and (re)creates the
    /// temporary trigger calling it for each deleted row of `item_words`.
    func install(_ db: Database) throws {
        db.add(
            function: DatabaseFunction(Self.forgetFunction, argumentCount: 1) { [self] values in
                if let seq = Int64.fromDatabaseValue(values[0]) { forget(seq) }
                return nil
            })
        try db.execute(
            sql: """
                DROP TRIGGER IF EXISTS temp.item_words_forget;
                CREATE TEMP TRIGGER item_words_forget AFTER DELETE ON main.item_words BEGIN
                    SELECT \(Self.forgetFunction)(old.seq);
                END;
                """)
    }

    /// Replaces every signature with the table's, read in `db` under the writer's lock (about
    /// 0.2 s at a million items).
    func load(_ db: Database) throws {
        var loaded: [NearDuplicate.WordSignature] = []
        let rows = try Row.fetchCursor(
            db, sql: "SELECT seq, low, high FROM item_words WHERE seq < ? ORDER BY seq", arguments: [Self.capacity])
        while let row = try rows.next() {
            let seq = Int(row[0] as Int64)
            guard seq >= 0 else { continue }  // never given out (a snapshot's are checked)
            if seq >= loaded.count {
                loaded.append(contentsOf: repeatElement(.init(low: 0, high: 0), count: seq + 1 - loaded.count))
            }
            loaded[seq] = .init(low: UInt64(bitPattern: row[1] as Int64), high: UInt64(bitPattern: row[2] as Int64))
        }
        signatures.withLock { $0 = loaded }
    }

    /// Holds these committed signatures (under the writer's lock).
    func set(_ entries: [(seq: Int64, signature: NearDuplicate.WordSignature)]) {
        guard !entries.isEmpty else { return }
        signatures.withLock { held in
            for (seq, signature) in entries where seq >= 0 && seq < Self.capacity {
                let at = Int(seq)
                if at >= held.count {
                    // Grown by half again at least, so a merge at a time does not copy it each time.
                    let size = min(Self.capacity, max(at + 1, held.count + held.count / 2))
                    held.append(contentsOf: repeatElement(.init(low: 0, high: 0), count: size - held.count))
                }
                held[at] = signature
            }
        }
    }

    /// Drops the signature of `seq` (its row was deleted).
    func forget(_ seq: Int64) {
        signatures.withLock { held in
            if seq >= 0 && seq < held.count { held[Int(seq)] = .init(low: 0, high: 0) }
        }
    }

    /// The signatures held of `seqs`, and the seqs not held.
    func lookup(_ seqs: [Int64]) -> (held: [Int64: NearDuplicate.WordSignature], unknown: [Int64]) {
        var result: [Int64: NearDuplicate.WordSignature] = [:]
        var unknown: [Int64] = []
        result.reserveCapacity(seqs.count)
        signatures.withLock { held in
            for seq in seqs {
                if seq >= 0, seq < held.count, held[Int(seq)].low | held[Int(seq)].high != 0 {
                    result[seq] = held[Int(seq)]
                } else {
                    unknown.append(seq)
                }
            }
        }
        return (result, unknown)
    }
}
