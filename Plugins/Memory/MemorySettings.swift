import MemoryCore

/// What the store enforces, from the config (``MemoryConfiguration``) or set by tests.
struct MemorySettings: Sendable {
    /// Per-layer TTL, capacity, pinning and ranking weights.
    var retention = Retention()
    /// What storing a near-duplicate does.
    var duplicates = DuplicatePolicy.merge
    /// Near-duplicate detection.
    var nearDuplicate = NearDuplicate()
    /// When consolidation promotes items.
    var promotion = Promotion()
    /// Largest content accepted, in UTF-8 bytes.
    var maxContentBytes = 65_536
    /// Most results of one list or search.
    var maxResults = 1000
    /// How long one search may run before SQLite is interrupted (a 504-length query in operator
    /// syntax kept a core busy for minutes after its caller had gone); nil: no limit.
    var searchTimeout: Duration? = .seconds(5)
    /// Most items one batch may store.
    var maxBatch = 1000
    /// Most items per layer one consolidation run compares for near-duplicates (the newest).
    var consolidationScan = 10_000
    /// Most items of that scan one consolidation transaction looks at, and the time after which
    /// it commits and lets the writer go (stores wait at most about this long for it). At 100 000
    /// items (CONSOLIDATE=1 MemoryBench), 20 ms let stores beside a run wait p99 20 ms and took
    /// the run 0.76-0.84 s; 10 ms, p99 10.8 ms and 0.86-0.88 s; 5 ms, p99 5.6-5.8 ms but p50
    /// 4.4-4.6 ms and 0.93-0.98 s; 2 ms, 1.21 s.
    var consolidationPiece = 512
    /// Most expired items one sweep transaction deletes. A count, not a time: a delete is quick
    /// but FTS5 writes what the transaction deleted at its commit, so a 10 ms budget of deletes
    /// made commits of 60 ms. Sweeping 20 000 of 100 000 items (EXPIRED=20000 CONSOLIDATE=1
    /// MemoryBench), stores beside it waited at most 22-34 ms with 100, 72-81 ms with 500, and
    /// 1.9 s in one transaction.
    var sweepPiece = 100
    var consolidationPieceMs = 10
    /// Rows a term must be in before it gets impact-ordered postings (``HotTerms``); below it
    /// FTS5 scores every matching row quickly enough.
    var hotTermRows: Int64 = 500
    /// A term not yet hot has its row count checked every this many stores of it.
    var hotTermCheckEvery = 256
    /// Postings kept per `(term, tf)` group of a hot term: its best rows by length (a group is
    /// trimmed back to this once past twice it). A one-word search needs at most as many rows
    /// of a group as candidates (``MemoryStore/candidates(for:)``: 200 for up to 20 results,
    /// ten per result above), so one asking for more than a tenth of this, or filtering out
    /// most rows, goes to FTS5 instead.
    var postingsPerGroup = 4096
    /// Merges write their postings to a small table, folded into the main one once it holds
    /// more than one in this many of all postings (``MemoryStore/createPostingsDelta(_:)``)…
    /// 4, not 8: at a million items each fold took about 2 s of the writer, every 12 merges or
    /// so; with the delta up to a quarter, half as often (MemoryProbe EXTRA=200000 stored and
    /// merged in 13.7-14.4 s against 15.1-16.0 s, where 8 folded 11 chunks), and the searches'
    /// p99 stayed under 3 ms in the bench (scripts/bench-memory.sh at a million items).
    var postingsDeltaShare = 4
    /// …and at least this many.
    var postingsDeltaMinimum = 50_000
    /// Postings one fold transaction moves (whole terms: a little more). At a million items a
    /// chunk of 100 000 held the writer about 180 ms, 2.0 s a fold in all; chunks of 50 000 took
    /// 130-140 ms each but 2.8-3.1 s in all (MemoryProbe EXTRA=200000), and a merge holds it
    /// about 0.4 s anyway.
    var postingsFoldChunk = 100_000
    /// A fold transaction moves its chunk this many postings at a time, and commits early when
    /// a store is waiting for the writer: such a store waits for a piece (about 15 ms at a
    /// million items), not a chunk (115-170 ms; the first two single stores after a bulk waited
    /// 117 ms each for the chunks folded after its last merge, scripts/bench-memory.sh).
    var postingsFoldPiece = 12_500
    /// Merge pending items into FTS5 and the postings on a background thread (tests turn it
    /// off to hold items pending; they are merged then only by a search that needs it, a
    /// store that finds ``maxPending`` reached or consolidation).
    var backgroundMerge = true
    /// Most pending items one merge transaction takes.
    var mergeBatch = 10_000
    /// Whether every commit syncs the WAL before the store answers (`synchronous: full`,
    /// SQLite's `synchronous = FULL`): an acknowledged item then survives a power cut, not only
    /// the process being killed. Off (`NORMAL`), a commit is written to the WAL, which is synced
    /// when a checkpoint copies it into the database.
    var syncEveryCommit = false
    /// Pending items past which a store first merges a batch itself (bounds the tail a search
    /// scans in memory).
    var maxPending = 50_000
    /// Most item events the outbox holds while they cannot be published; past it the oldest are
    /// dropped (counted in `memory_outbox_dropped_total`).
    var maxOutbox = 100_000
    /// A WAL file that grew past this is cut back to nothing once no store has committed for
    /// ``walIdle`` (``WALCheckpointer``), never by a store's own commit.
    var walKeptBytes = 64 << 20
    /// How long the store must be without commits before its WAL file is cut back.
    var walIdle: Duration = .seconds(2)
}
