import CJameyABI
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
        into batch: inout DeliveryBatch, limit: Int, requests: RequestTimer, shouldYield: () -> Bool
    ) -> Bool {
        if let lane { return deliverLane(lane, limit: limit, requests: requests, shouldYield: shouldYield) }
        let me = pthread_self()
        let compact = isCompact
        var taken = (count: 0, boxed: 0)
        let started = mailbox.withLock { box -> Bool in
            if box.closed {
                box.scheduled = false
                return false
            }
            taken = take(from: &box, upTo: limit, into: &batch)
            box.running = true
            box.runner = me
            return true
        }
        guard started else { return false }

        var released = 0
        var releasedBytes = 0
        defer {
            // A burst of this size left its payloads' memory free in the allocator's arenas:
            // hand it back to the system (rare and bounded: once per drained burst).
            if released >= Self.trimAfterSlots || releasedBytes >= Self.trimAfterBytes { jamey_release_free_memory() }
        }
        while true {
            if compact {
                runCompactHandler(over: &batch, requests: requests)
            } else {
                runHandler(over: &batch.messages, requests: requests)
            }
            var yielding = shouldYield()
            if !yielding && taken.count < limit && taken.boxed == 0 && compact {
                let waiting = depth.load(ordering: .relaxed)
                if waiting > 0 && waiting < limit { yielding = letFill(shouldYield: shouldYield) }
            }
            let next = mailbox.withLock { box -> Bool? in
                if box.closed || box.count(compact: compact) == 0 {
                    box.running = false
                    box.scheduled = false
                    released = box.queue.shrinkIfEmpty(above: Self.keptSlots)
                    releasedBytes = box.ring.shrinkIfEmpty(above: Self.keptBytes)
                    return false
                }
                if yielding {
                    box.running = false
                    return true
                }
                taken = take(from: &box, upTo: limit, into: &batch)
                return nil
            }
            if let next { return next }
        }
    }

    /// ``deliver(into:limit:requests:shouldYield:)`` for a lane: the handler is called for each
    /// record where it lies in the lane, batch by batch, with no lock. Between batches the
    /// worker yields to other jobs, lets a stream fill the lane (as a locked mailbox does), or,
    /// when the lane is empty, leaves it idle (``jamey_lane_leave``: the barrier there is what
    /// lets publishers skip theirs).
    private func deliverLane(
        _ lane: Lane, limit: Int, requests: RequestTimer, shouldYield: () -> Bool
    ) -> Bool {
        guard lane.claim(from: .scheduled) else { return false }
        laneRunner.store(UInt(pthread_self()), ordering: .relaxed)
        defer {
            // A drained burst left its blocks' memory free in the allocator's arenas.
            if lane.releasedBytes >= Self.trimAfterBytes {
                lane.resetReleasedBytes()
                jamey_release_free_memory()
            }
        }
        while true {
            if closedFlag.load(ordering: .relaxed) {
                discardLane(lane, requests: requests)
                return false
            }
            let (delivered, boxed) = runLaneHandler(lane, limit: limit, requests: requests)
            if delivered == 0 {
                if linger(on: lane, shouldYield: shouldYield) || lane.leave() { continue }
                return false
            }
            var yielding = shouldYield()
            if !yielding && delivered < limit && boxed == 0 && lane.next() != nil {
                yielding = letFill(shouldYield: shouldYield)
            }
            if yielding {
                lane.set(.scheduled)
                return true
            }
        }
    }

    /// Calls the handler for up to `limit` records of the lane, in order, and records the metrics
    /// as ``runCompactHandler(over:requests:)`` does. Stops early when the subscription closes.
    /// - Returns: how many records were delivered, and how many of them were boxed.
    private func runLaneHandler(_ lane: Lane, limit: Int, requests: RequestTimer) -> (delivered: Int, boxed: Int) {
        var failed = 0
        var boxed = 0
        let delivered: Int
        switch handler {
        case .plugin(let plugin):
            delivered = CrashContext.running(plugin: plugin.crashLabel, what: CrashContext.busHandler) {
                deliverLaneRecords(lane, limit: limit, requests: requests, failed: &failed, boxed: &boxed) {
                    plugin.callUnlabelled($0)
                }
            }
        case .abi(let function):
            delivered = deliverLaneRecords(lane, limit: limit, requests: requests, failed: &failed, boxed: &boxed) {
                function($0)
            }
        case .value, .inPlace:
            return (0, 0)
        }
        if delivered > 0 { metrics.messagesIn.increment(by: delivered) }
        if failed > 0 { metrics.handlerErrors.increment(by: failed) }
        return (delivered, boxed)
    }

    /// ``deliverCompact(_:failed:boxedIndex:_:)`` over the lane's records, its calls timed by a
    /// ``GroupedCallTimer``.
    @inline(__always)
    private func deliverLaneRecords(
        _ lane: Lane, limit: Int, requests: RequestTimer, failed: inout Int, boxed: inout Int,
        _ call: (UnsafePointer<jamey_message>) -> Bool
    ) -> Int {
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: Swift.max(1, limit)) { durations -> Int in
            var message = jamey_message()
            message.struct_size = UInt32(MemoryLayout<jamey_message>.size)
            var delivered = 0
            var timer = GroupedCallTimer(into: durations)
            let clockStart = MonotonicClock.now()
            let ticksStart = timer.last
            while delivered < limit, let record = lane.next() {
                if closedFlag.load(ordering: .relaxed) { break }
                // Taken before the call, as a locked mailbox's batch is: a message in the handler's
                // hands no longer counts against the capacity.
                lane.take(record)
                let ok: Bool
                let kind = Lane.kind(record)
                if kind == UInt32(JAMEY_LANE_EVENT) {
                    Lane.describe(record, into: &message)
                    ok = withUnsafePointer(to: &message) { call($0) }
                } else if kind == UInt32(JAMEY_LANE_BOXED) {
                    let boxedMessage = Lane.boxed(record)
                    ok = BusMessage.withABIMessage(boxedMessage) { call($0) }
                    if !ok { Self.failUnanswered(boxedMessage.pointee, requests: requests) }
                    boxedMessage.deinitialize(count: 1)
                    boxed += 1
                } else {
                    Lane.describeRequest(record, into: &message)
                    ok = withUnsafePointer(to: &message) { call($0) }
                    if !ok { Self.failUnanswered(abi: message, requests: requests) }
                    message.reply_to = nil
                    message.correlation_id = 0
                    boxed += 1
                }
                if !ok { failed += 1 }
                timer.ended(delivered)
                delivered += 1
            }
            timer.finish(count: delivered)
            recordCalls(durations, count: delivered, ticks: timer.last &- ticksStart, since: clockStart)
            return delivered
        }
    }

    /// Records a batch's first `count` call durations, given in ticks, in the handler histogram:
    /// each scaled by the batch's nanoseconds per tick (`ticks` over the monotonic clock's time
    /// since `clockStart`). Counters of different CPUs may disagree slightly: a negative call
    /// counts as 0.
    @inline(__always)
    private func recordCalls(_ durations: UnsafeMutableBufferPointer<Int64>, count: Int, ticks: UInt64, since clockStart: UInt64)
    {
        guard count > 0 else { return }
        let nanoseconds = MonotonicClock.now() &- clockStart
        let scale = ticks > 0 ? Double(nanoseconds) / Double(ticks) : 1
        for i in 0..<count { durations[i] = Int64(Double(Swift.max(0, durations[i])) * scale) }
        metrics.handlerDuration.recordNanoseconds(UnsafeBufferPointer(rebasing: durations[..<count]))
    }

    /// Moves up to `limit` messages from the mailbox into `batch` (under the mailbox lock).
    /// - Returns: how many, and how many of them are boxed (0 for a Swift handler's mailbox).
    @inline(__always)
    private func take(
        from box: inout Mailbox, upTo limit: Int, into batch: inout DeliveryBatch
    ) -> (count: Int, boxed: Int) {
        let before = box.count(compact: isCompact)
        if isCompact {
            // Everything, when it fits a batch, by exchanging storage with the batch (the lock is
            // held for a few stores, not for a copy of every record).
            let boxed =
                box.ring.count <= limit
                ? box.ring.takeAll(into: &batch.records) : box.ring.popFirst(upTo: limit, into: &batch.records)
            if boxed > 0 { box.queue.popFirst(upTo: boxed, into: &batch.messages) }
            depth.store(box.ring.count, ordering: .relaxed)
            return (before - box.ring.count, boxed)
        }
        box.queue.popFirst(upTo: limit, into: &batch.messages)
        depth.store(box.queue.count, ordering: .relaxed)
        return (before - box.queue.count, 0)
    }

    /// How long a worker lets a compact mailbox fill before its next batch (see
    /// ``letFill(limit:shouldYield:)``).
    static let fillWaitNanoseconds: UInt64 = 2_000
    /// How long a worker that emptied a lane watches it for the next record (see
    /// ``linger(on:shouldYield:)``).
    static let lingerNanoseconds: UInt64 = 4_000
    /// When in the watch the worker yields its processor once.
    static let lingerYieldNanoseconds: UInt64 = 1_000

    /// Before a worker leaves an emptied lane idle, while no other job waits for it, it watches
    /// the lane for up to ``lingerNanoseconds``. A requester that sends its next request as soon
    /// as the last reply is in (a loop of requests, a handler calling a service several times)
    /// takes about 3 µs between them; a record that comes within the watch is taken at once,
    /// without the idle hand-off, the run queue and a worker's wake-up, which cost about 1.4 µs
    /// more per request (the README's bus threading model has the figures). The watch reads
    /// only the next record's kind word, which the publisher writes once per record. After
    /// ``lingerYieldNanoseconds`` it yields once, so that a publisher sharing the processor runs.
    /// Never inlined: the deterministic gates leave the watch out of their counts.
    /// - Returns: whether a record arrived (the lane is still the caller's).
    @inline(never)
    func linger(on lane: Lane, shouldYield: () -> Bool) -> Bool {
        let start = MonotonicClock.now()
        var yielded = false
        while lane.next() == nil {
            if shouldYield() || closedFlag.load(ordering: .relaxed) { return false }
            let elapsed = MonotonicClock.now() &- start
            if elapsed >= Self.lingerNanoseconds { return false }
            if !yielded && elapsed >= Self.lingerYieldNanoseconds {
                yielded = true
                sched_yield()
            }
        }
        return true
    }

    /// Between two batches of a compact mailbox, when the last one was short of `limit`, held
    /// plain events only (no request, nothing boxed), and events are waiting again: the worker
    /// keeps up with its publisher, and taking every event or two as it arrives makes both
    /// processors trade the mailbox's lock and ring lines for each of them (the README's bus
    /// threading model has the figures). It waits ``fillWaitNanoseconds`` first, yielding once (a
    /// publisher sharing its processor runs) and then spinning on its own clock without looking
    /// at the mailbox, which would cost the publisher a cache miss per look. A mailbox with a
    /// request in its last batch, an emptied one, and a full batch are taken at once.
    /// - Returns: whether the worker must yield to other jobs.
    @inline(never)
    private func letFill(shouldYield: () -> Bool) -> Bool {
        let start = MonotonicClock.now()
        sched_yield()
        while MonotonicClock.now() &- start < Self.fillWaitNanoseconds {}
        return shouldYield()
    }

    /// Mailbox slots kept allocated when a mailbox drains (about 7 MB); a larger ring — what
    /// a burst far beyond the usual depth leaves — is released, so that a subscription does not
    /// pin its peak memory, and the next burst of the usual size does not regrow it.
    static let keptSlots = 1 << 16
    /// A released ring at least this large also returns the freed heap to the system.
    static let trimAfterSlots = 1 << 17
    /// Bytes of a compact mailbox's ring kept allocated when it drains (64 K records of a
    /// 64-byte event), and the size from which a released one also trims the heap.
    static let keptBytes = 1 << 23
    static let trimAfterBytes = 1 << 24

    /// ``runHandler(over:requests:)`` for a compact mailbox: each record's event is handed to
    /// the C handler as a `jamey_message` laid out over the record; each boxed record's message
    /// (in `batch.messages`, in order) through ``BusMessage/withABIMessage(_:_:)``.
    private func runCompactHandler(over batch: inout DeliveryBatch, requests: RequestTimer) {
        let delivered: Int
        var failed = 0
        var boxedIndex = 0
        switch handler {
        case .plugin(let plugin):
            // One crash label for the batch: every call in it is this plugin's handler.
            delivered = CrashContext.running(plugin: plugin.crashLabel, what: CrashContext.busHandler) {
                deliverCompact(&batch, requests: requests, failed: &failed, boxedIndex: &boxedIndex) { plugin.callUnlabelled($0) }
            }
        case .abi(let function):
            delivered = deliverCompact(&batch, requests: requests, failed: &failed, boxedIndex: &boxedIndex) { function($0) }
        case .value, .inPlace:
            return
        }
        let left = batch.records.remaining(skipping: delivered)
        if left.events > 0 { countDiscarded(events: left.events) }
        if left.boxed > 0 { countDiscarded(batch.messages[boxedIndex...], requests: requests) }
        // The storage of a drained burst's ring may have come here with its last records.
        if batch.records.removeAll() >= Self.trimAfterBytes { jamey_release_free_memory() }
        batch.messages.removeAll(keepingCapacity: true)
        if delivered > 0 { metrics.messagesIn.increment(by: delivered) }
        if failed > 0 { metrics.handlerErrors.increment(by: failed) }
    }

    /// Calls `call` for each record of `batch` in order (a boxed record's message laid out as a
    /// `jamey_message`), stopping early if the subscription is closed, and records each call's
    /// run time in the handler histogram, all of the batch's in one call.
    ///
    /// Each call is timed in ticks (``jamey_ticks()``, a counter read much cheaper than the
    /// monotonic clock) and converted with the batch's own ratio of clock nanoseconds to ticks,
    /// read once at each end of the batch.
    /// - Returns: how many records were delivered.
    @inline(__always)
    private func deliverCompact(
        _ batch: inout DeliveryBatch, requests: RequestTimer, failed: inout Int, boxedIndex: inout Int,
        _ call: (UnsafePointer<jamey_message>) -> Bool
    ) -> Int {
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: Swift.max(1, batch.records.count)) { durations -> Int in
            var recorded = 0
            let clockStart = MonotonicClock.now()
            let ticksStart = jamey_ticks()
            var start = ticksStart
            let delivered = batch.messages.withUnsafeBufferPointer { boxed -> Int in
                batch.records.forEach { kind, message in
                    if closedFlag.load(ordering: .relaxed) { return false }
                    let ok: Bool
                    if kind == .event {
                        ok = call(message)
                    } else {
                        ok = BusMessage.withABIMessage(boxed.baseAddress! + boxedIndex) { call($0) }
                        if !ok { Self.failUnanswered(boxed[boxedIndex], requests: requests) }
                        boxedIndex += 1
                    }
                    if !ok { failed += 1 }
                    let end = jamey_ticks()
                    durations[recorded] = Int64(bitPattern: end &- start)
                    recorded += 1
                    start = end
                    return true
                }
            }
            recordCalls(durations, count: recorded, ticks: start &- ticksStart, since: clockStart)
            return delivered
        }
    }

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
                if !handler(base + index) {
                    failed += 1
                    Self.failUnanswered(base[index], requests: requests)
                }
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

/// A bus worker's buffers for the batch it delivers: the messages of a Swift handler's mailbox,
/// or the records of a C handler's (``CompactRing``) with their boxed messages.
struct DeliveryBatch {
    var messages: [BusMessage] = []
    var records = CompactBatch()

    init(capacity: Int) { messages.reserveCapacity(capacity) }
}

/// Times a batch's handler calls for `jamey_bus_handler_duration_seconds` (one sample per call),
/// reading the tick counter once per group of ``groupSize`` calls while calls are fast.
///
/// The counter costs about 15 ns a read on this project's VMs: a fifth of a delivery's time when
/// a C handler is as short as the fan-out benchmark's. A group that took at most
/// ``fastGroupTicks`` (1 µs, the histogram's smallest bucket) gives each of its calls its share,
/// and every one of them lands in the bucket it would have alone. A group that took longer gives
/// its whole time to one call (a slow call among fast ones, the usual case, keeps its bucket) and
/// 0 to the others, and the batch's later calls are timed one by one. The histogram's sum is
/// exact either way.
struct GroupedCallTimer {
    static let groupSize = 8

    /// Ticks in 1 µs (the smallest bucket of the handler histogram), measured once.
    static let fastGroupTicks: UInt64 = {
        let clockStart = MonotonicClock.now()
        let ticksStart = jamey_ticks()
        while MonotonicClock.now() &- clockStart < 200_000 {}
        let ticks = jamey_ticks() &- ticksStart
        let nanoseconds = MonotonicClock.now() &- clockStart
        return Swift.max(1, ticks &* 1000 / Swift.max(1, nanoseconds))
    }()

    /// The tick reading that ended the last group (or, one by one, the last call).
    private(set) var last: UInt64
    private let durations: UnsafeMutableBufferPointer<Int64>
    private let fastTicks: UInt64
    private var groupFirst = 0
    private var oneByOne = false

    /// A timer whose batch starts now (``last``), writing each call's ticks to `durations`.
    init(into durations: UnsafeMutableBufferPointer<Int64>) {
        fastTicks = Self.fastGroupTicks  // measured before the batch's first reading
        self.durations = durations
        last = jamey_ticks()
    }

    /// Call `index` (counted from 0) has returned.
    @inline(__always)
    mutating func ended(_ index: Int) {
        if oneByOne {
            let now = jamey_ticks()
            durations[index] = Int64(bitPattern: now &- last)
            last = now
        } else if index + 1 - groupFirst == Self.groupSize {
            close(upTo: index + 1)
        }
    }

    /// The batch ended after `count` calls.
    mutating func finish(count: Int) {
        if !oneByOne && count > groupFirst { close(upTo: count) }
    }

    private mutating func close(upTo end: Int) {
        let now = jamey_ticks()
        let ticks = now &- last
        let calls = UInt64(end - groupFirst)
        if ticks <= fastTicks {
            for index in groupFirst..<end { durations[index] = Int64(ticks / calls) }
            durations[end - 1] += Int64(ticks % calls)
        } else {
            for index in groupFirst..<end { durations[index] = 0 }
            durations[end - 1] = Int64(bitPattern: ticks)
            oneByOne = true
        }
        last = now
        groupFirst = end
    }
}
