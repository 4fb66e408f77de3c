import Foundation
import GRDB
import JameyGRDB
import JameyPluginKit
import MemoryCore

extension Memory {
    /// The maintenance loop: once a second refreshes the counts per layer; sweeps and consolidates when
    /// their intervals are due. Ends when cancelled.
    func maintain() async {
        let clock = ContinuousClock()
        var nextSweep = sweepInterval.map { clock.now + $0 }
        var nextConsolidation = consolidationInterval.map { clock.now + $0 }
        while !Task.isCancelled {
            if let due = nextSweep, clock.now >= due, let interval = sweepInterval {
                await runSweep()
                nextSweep = clock.now + interval
            }
            if let due = nextConsolidation, clock.now >= due, let interval = consolidationInterval {
                _ = try? await runConsolidation()
                nextConsolidation = clock.now + interval
            }
            await refreshCounts()
            await tendOutbox()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Runs the searches of a request nobody made before the topics are answered, so the first
    /// real search does not pay for what a process does once: faulting in the plugin's code and
    /// the index's upper pages, and Swift's type metadata. At a million items the first search
    /// after a start took 5.6 ms against 2.1 for the next (3.2 ms against 1.6 inside its read).
    ///
    /// Words of the newest item, each through the handler's code (body, search, reply) without
    /// the cache, the metrics of searches or reinforcement: a frequent word (the impact
    /// postings), an infrequent one (FTS5) and two infrequent ones together. Nothing when the
    /// store is empty; errors are ignored (the real search meets them).
    func warmUp() async {
        guard
            let content = try? await store.pool.read({ db in
                try String.fetchOne(db, sql: "SELECT content FROM items ORDER BY seq DESC LIMIT 1")
            })
        else { return }
        let words = TermCounts(content).counts.keys.filter(TermCounts.isPlainASCII).sorted()
        let infrequent = words.filter { !store.hot.contains($0) }
        var queries: [String] = []
        if let frequent = words.first(where: store.hot.contains) { queries.append(frequent) }
        if let other = infrequent.first { queries.append(other) }
        // Not two frequent words: FTS5 scores every row holding both (0.65-0.9 s at a million).
        if infrequent.count >= 2 { queries.append(infrequent.prefix(2).joined(separator: " ")) }
        var ran = 0
        for text in queries {
            let body = Array(#"{"query":"\#(text)","limit":10,"reinforce":false}"#.utf8)
            guard let request = try? SearchRequest(body),
                let hits = try? await store.search(
                    request.query, filter: request.filter, limit: request.limit, reinforce: request.reinforce)
            else { continue }
            _ = Replies.hitsReply(hits)
            ran += 1
        }
        metrics.warmedUp(searches: ran)
    }

    /// Deletes expired items now.
    func runSweep() async {
        do {
            let events = ItemEvents()
            let removed = try await store.sweep(events: events)
            publish()
            metrics.swept(removed)
            let n = removed.values.reduce(0, +)
            status.withLock {
                $0.lastSweep = store.clock()
                $0.lastSweepRemoved = n
                $0.lastError = nil
            }
            if n > 0 {
                try? context.bus.publish(
                    "memory.events.swept",
                    Replies.json(["expired": Dictionary(uniqueKeysWithValues: removed.map { ($0.key.name, $0.value) })]))
            }
        } catch {
            // A stop cancelled the loop mid-sweep (GRDB refuses a cancelled task's write, or
            // interrupts its statement): not a failure. The pieces committed stay deleted; the
            // next sweep takes up the rest.
            if Task.isCancelled { return }
            // The health detail any read key sees: the sentence, not SQLite's text and SQL.
            let failure = DatabaseFailure(error, database: "memory")
            context.logger.error("memory maintenance failed: \(failure.logMessage)")
            status.withLock { $0.lastError = failure.detail }
        }
    }

    /// Runs consolidation now, publishes `memory.events.consolidated` and records metrics.
    func runConsolidation() async throws -> ConsolidationReport {
        let events = ItemEvents()
        let report = try await store.consolidate(events: events)
        publish()
        metrics.consolidated(report)
        let n = report.expired.values.reduce(0, +)
        status.withLock {
            $0.lastConsolidation = store.clock()
            $0.lastSweep = store.clock()
            $0.lastSweepRemoved = n
        }
        try? context.bus.publish("memory.events.consolidated", Replies.json(Replies.report(report)))
        return report
    }

    /// Publishes what a failed publish left in the outbox, deletes published rows no write has
    /// deleted yet, and updates the outbox's metrics.
    func tendOutbox() async {
        if store.outbox.depth > 0 { publish() }
        if store.outbox.hasPublishedRows { try? await store.deletePublishedEvents() }
        metrics.outbox(depth: store.outbox.depth, dropped: store.outbox.dropped)
    }

    /// Reads the items per layer for health and the gauges (``MemoryStore/counts()``: a few
    /// rows and the items expired but not yet swept, not a pass over the items).
    func refreshCounts() async {
        guard let counts = try? await store.counts() else { return }
        metrics.counts(counts)
        metrics.pending(store.tail.count)
        status.withLock { $0.counts = counts }
    }
}
