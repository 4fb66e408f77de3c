import CJameySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension Subscription {
    /// Delivers queued messages to the handler, on the calling worker thread, batch by batch.
    ///
    /// Each batch of up to `limit` messages is taken under the mailbox lock; the handler runs for
    /// each without any lock held (stopping early if the subscription is closed meanwhile). After
    /// a batch, one more lock decides whether the mailbox is done (then it is no longer
    /// scheduled), must yield to other work, or goes on with the next batch.
    /// - Parameters:
    ///   - batch: A worker-owned buffer, empty on entry and on return.
    ///   - limit: Most messages per batch.
    ///   - requests: Where requests left undelivered by a close are failed.
    ///   - shouldYield: Whether other jobs wait for this worker (checked between batches).
    /// - Returns: Whether messages remain and the subscription must go back on the run queue.
    /// Never inlined: the deterministic gates (scripts/bench-gates.sh) count the instructions of
    /// the bus workers inside this function only.
    @inline(never)
    func deliver(
        into batch: inout [BusMessage], limit: Int, requests: RequestTimer, shouldYield: () -> Bool
    ) -> Bool {
        let me = pthread_self()
        let started = mailbox.withLock { box -> Bool in
            if box.closed {
                box.scheduled = false
                return false
            }
            box.queue.popFirst(upTo: limit, into: &batch)
            depth.store(box.queue.count, ordering: .relaxed)
            box.running = true
            box.runner = me
            return true
        }
        guard started else { return false }

        var released = 0
        defer {
            // A burst of this size left its payloads' memory free in the allocator's arenas:
            // hand it back to the system (rare and bounded: once per drained burst).
            if released >= Self.trimAfterSlots { jamey_release_free_memory() }
        }
        while true {
            runHandler(over: &batch, requests: requests)
            let yielding = shouldYield()
            let next = mailbox.withLock { box -> Bool? in
                if box.closed || box.queue.isEmpty {
                    box.running = false
                    box.scheduled = false
                    released = box.queue.shrinkIfEmpty(above: Self.keptSlots)
                    return false
                }
                if yielding {
                    box.running = false
                    return true
                }
                box.queue.popFirst(upTo: limit, into: &batch)
                depth.store(box.queue.count, ordering: .relaxed)
                return nil
            }
            if let next { return next }
        }
    }

    /// Mailbox slots kept allocated when a mailbox drains (about 7 MB); a larger ring — what
    /// a burst far beyond the usual depth leaves — is released, so that a subscription does not
    /// pin its peak memory, and the next burst of the usual size does not regrow it.
    static let keptSlots = 1 << 16
    /// A released ring at least this large also returns the freed heap to the system.
    static let trimAfterSlots = 1 << 17

    /// Runs the handler over `batch` (then empties it) and records the metrics.
    private func runHandler(over batch: inout [BusMessage], requests: RequestTimer) {
        var failed = 0
        // The handler is given each message where it lies in the batch: no copy, no reference
        // counting.
        let delivered = batch.withUnsafeBufferPointer { messages -> Int in
            guard let base = messages.baseAddress else { return 0 }
            var start = MonotonicClock.now()
            for index in messages.indices {
                if closedFlag.load(ordering: .relaxed) { return index }
                if !handler(base + index) { failed += 1 }
                let end = MonotonicClock.now()
                metrics.handlerDuration.recordNanoseconds(Int64(truncatingIfNeeded: end &- start))
                start = end
            }
            return messages.count
        }
        if delivered < batch.count { countDiscarded(batch[delivered...], requests: requests) }
        batch.removeAll(keepingCapacity: true)
        if delivered > 0 { metrics.messagesIn.increment(by: delivered) }
        if failed > 0 { metrics.handlerErrors.increment(by: failed) }
    }
}
