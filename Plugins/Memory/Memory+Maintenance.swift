import Foundation
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
            status.withLock { $0.lastError = "\(error)" }
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
