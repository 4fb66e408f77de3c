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

        while true {
            runHandler(over: &batch, requests: requests)
            let yielding = shouldYield()
            let next = mailbox.withLock { box -> Bool? in
                if box.closed || box.queue.isEmpty {
                    box.running = false
                    box.scheduled = false
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

    /// Runs the handler over `batch` (then empties it) and records the metrics.
    private func runHandler(over batch: inout [BusMessage], requests: RequestTimer) {
        var delivered = 0
        var failed = 0
        var start = MonotonicClock.now()
        for message in batch {
            if closedFlag.load(ordering: .relaxed) { break }
            if !handler(message) { failed += 1 }
            let end = MonotonicClock.now()
            metrics.handlerDuration.recordNanoseconds(Int64(truncatingIfNeeded: end &- start))
            start = end
            delivered += 1
        }
        if delivered < batch.count {
            for message in batch[delivered...] where message.correlationID != 0 {
                requests.fail(id: message.correlationID, with: .noResponders)
            }
        }
        batch.removeAll(keepingCapacity: true)
        if delivered > 0 { metrics.messagesIn.increment(by: delivered) }
        if failed > 0 { metrics.handlerErrors.increment(by: failed) }
    }
}
