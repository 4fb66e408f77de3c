import CJameyABI
import CJameySystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One subscription: its pattern, its handler and its bounded FIFO mailbox — or, for a *direct*
/// subscription, no mailbox at all: its handler is called on the sending thread (see
/// ``callDirect(_:)``).
///
/// The mailbox is *scheduled* from the moment a message arrives in an empty, idle mailbox until a
/// worker finds it empty after a batch; while scheduled it is either on the run queue or being
/// drained by exactly one worker, which is what keeps the handler from running concurrently with
/// itself and keeps delivery in arrival order.
final class Subscription: Sendable {
    /// What happened to an offered message.
    enum Offer {
        /// Queued; `schedule` says the mailbox just became scheduled and must go on the run
        /// queue; `dropped` that the oldest message was dropped to make room (`.dropOldest`),
        /// and `evicted` is that message when it was a ``BusMessage`` (it may be a request).
        case queued(schedule: Bool, evicted: BusMessage?, dropped: Bool)
        /// Dropped because the mailbox is full (`.dropNewest`, or any full mailbox for requests).
        case full
        /// The subscription is closed.
        case closed
    }

    struct Mailbox {
        /// The messages of a Swift handler; beside ``ring``, the boxed ones of a C handler.
        var queue = RingBuffer<BusMessage>()
        /// Every message of a C handler, in order (see ``CompactRing``).
        var ring = CompactRing()
        var scheduled = false
        var closed = false
        var running = false
        var runner = pthread_t()

        /// Messages queued, for a mailbox of either kind.
        @inline(__always)
        func count(compact: Bool) -> Int { compact ? ring.count : queue.count }

        /// Drops the oldest message.
        /// - Returns: it, when it was a ``BusMessage`` (a boxed one for a C handler).
        @inline(__always)
        mutating func dropOldest(compact: Bool) -> BusMessage? {
            guard compact else { return queue.popFirst() }
            return ring.dropFirst() == .boxed ? queue.popFirst() : nil
        }
    }

    /// The subscription id (never 0).
    let id: UInt64
    /// The owner of the endpoint that subscribed.
    let owner: String
    /// The pattern topics are matched against.
    let pattern: TopicPattern
    /// Most messages the mailbox holds.
    let capacity: Int
    /// What a full mailbox does with one more event.
    let overflow: OverflowPolicy
    /// Declared as a responder: requests prefer it over passive (event) subscriptions.
    let isResponder: Bool
    /// Takes published events only: never given a request, even when no responder is declared
    /// (`JAMEY_SUBSCRIBE_EVENTS_ONLY`).
    let isEventsOnly: Bool
    /// Called on the sender's thread, concurrently with itself, instead of through the mailbox.
    let isDirect: Bool
    /// Direct calls in progress (on any thread).
    let directCalls = Atomic<Int>(0)
    /// The owner's metrics.
    let metrics: BusMetrics
    let handler: Handler
    /// Whether the mailbox holds compact records: a queued subscription with a C handler.
    let isCompact: Bool
    /// The mailbox of a compact subscription that drops the newest message when full (the
    /// default): publishers append without a lock (``Lane``). Nil for every other subscription,
    /// whose mailbox is ``mailbox`` (a `.dropOldest` one drops from the consumer's end, which
    /// needs the lock).
    let lane: Lane?
    /// The worker running the lane (`pthread_t` bits), for a close from inside the handler.
    let laneRunner = Atomic<UInt>(0)

    /// A subscription's handler: a Swift one takes the message by value; the ABI's trampoline
    /// is given it where it lies (in the worker's batch, or the sender's frame for a direct
    /// call), because passing a message by value out of a buffer copies it — six reference
    /// counts up, six down — and the trampoline only lays its fields out for C.
    enum Handler: Sendable {
        case value(@Sendable (BusMessage) -> Bool)
        case inPlace(@Sendable (UnsafePointer<BusMessage>) -> Bool)
        /// A C handler (the ABI's): given a `jamey_message` laid out over a compact record, or
        /// over a ``BusMessage``'s fields.
        case abi(@Sendable (UnsafePointer<jamey_message>) -> Bool)
        /// A plugin's C handler, called without a closure between (see ``PluginHandler``).
        case plugin(PluginHandler)

        /// Whether the handler takes a `jamey_message` (`.abi` or `.plugin`).
        var takesABI: Bool {
            switch self {
            case .abi, .plugin: true
            case .value, .inPlace: false
            }
        }

        /// Calls the handler with the message at `message`.
        @inline(__always)
        func callAsFunction(_ message: UnsafePointer<BusMessage>) -> Bool {
            switch self {
            case .value(let handler): handler(message.pointee)
            case .inPlace(let handler): handler(message)
            case .abi(let handler): BusMessage.withABIMessage(message) { handler($0) }
            case .plugin(let handler): BusMessage.withABIMessage(message) { handler($0) }
            }
        }

        /// Calls the handler with `message`.
        @inline(__always)
        func callAsFunction(_ message: BusMessage) -> Bool {
            switch self {
            case .value(let handler): handler(message)
            case .inPlace(let handler): withUnsafePointer(to: message) { handler($0) }
            case .abi(let handler): message.withABIMessage { handler($0) }
            case .plugin(let handler): message.withABIMessage { handler($0) }
            }
        }

        /// Calls an `.abi` or `.plugin` handler with `message`; false for any other handler.
        @inline(__always)
        func callABI(_ message: UnsafePointer<jamey_message>) -> Bool {
            switch self {
            case .abi(let handler): handler(message)
            case .plugin(let handler): handler(message)
            case .value, .inPlace: false
            }
        }
    }
    let mailbox = ShortLock(Mailbox())
    let closedFlag = Atomic<Bool>(false)
    /// Mirror of the queue length, written under the mailbox lock, read without it so that a
    /// full `.dropNewest` mailbox drops without contending with its worker.
    let depth = Atomic<Int>(0)
    let drops = Atomic<Int>(0)

    init(
        id: UInt64, owner: String, pattern: TopicPattern, capacity: Int, overflow: OverflowPolicy,
        isResponder: Bool = false, isDirect: Bool = false, isEventsOnly: Bool = false, metrics: BusMetrics,
        handler: Handler
    ) {
        self.isResponder = isResponder
        self.isEventsOnly = isEventsOnly && !isResponder
        self.isDirect = isDirect
        self.id = id
        self.owner = owner
        self.pattern = pattern
        self.capacity = max(1, capacity)
        self.overflow = overflow
        self.metrics = metrics
        self.handler = handler
        self.isCompact = handler.takesABI && !isDirect
        self.lane = isCompact && overflow == .dropNewest ? Lane(capacity: self.capacity) : nil
    }

    deinit { lane?.destroy() }

    /// A plugin's C handler as the ABI's `subscribe` gave it: its function and context, and the
    /// plugin's crash label. A call runs under the label (``CrashContext``), so a fault in the
    /// handler names the plugin; a bus worker delivering a batch enters the label once for the
    /// whole batch and calls ``callUnlabelled(_:)`` per message.
    struct PluginHandler: @unchecked Sendable {
        let function: jamey_message_handler_fn
        let context: UnsafeMutableRawPointer?
        let crashLabel: UnsafePointer<CChar>

        @inline(__always)
        func callAsFunction(_ message: UnsafePointer<jamey_message>) -> Bool {
            CrashContext.running(plugin: crashLabel, what: CrashContext.busHandler) { callUnlabelled(message) }
        }

        /// The call alone, for a caller already running under ``crashLabel``.
        @inline(__always)
        func callUnlabelled(_ message: UnsafePointer<jamey_message>) -> Bool { function(context, message) == JAMEY_OK }
    }

    /// Messages dropped by this mailbox so far.
    var dropCount: Int { drops.load(ordering: .relaxed) }

    /// Whether a worker (or, for a direct subscription, any thread) is running this
    /// subscription's handler right now.
    var isRunning: Bool {
        if isDirect { return directCalls.load(ordering: .sequentiallyConsistent) > 0 }
        if let lane { return lane.state == .running }
        return mailbox.withLock { $0.running }
    }

    /// Messages queued and not yet taken by a worker.
    var queuedCount: Int { lane?.depth ?? depth.load(ordering: .acquiring) }

    /// Calls the handler of a direct subscription on the calling thread and records the metrics.
    /// - Parameter requests: for a request, where a handler's failure answers it (see
    ///   ``failUnanswered(_:requests:)``).
    /// - Returns: false when the subscription is closed (the handler was not called).
    func callDirect(_ message: BusMessage, requests: RequestTimer? = nil) -> Bool {
        callDirect {
            let ok = handler(message)
            if !ok, let requests { Self.failUnanswered(message, requests: requests) }
            return ok
        }
    }

    /// Answers the request `message` with ``BusError/handlerFailed``, after its responder's
    /// handler returned an error, unless it was answered already (then nothing happens), on the
    /// thread a reply would complete it on (``RequestTimer/failAsAReplyWould(id:with:)``). The
    /// requester hears at once instead of waiting out its timeout; a reply the handler sends
    /// later finds the request gone (`JAMEY_E_NOT_FOUND`). Events are left alone.
    @inline(__always)
    static func failUnanswered(_ message: BusMessage, requests: RequestTimer) {
        guard message.correlationID != 0, message.replyTo == RequestTimer.replyAddress else { return }
        requests.failAsAReplyWould(id: message.correlationID, with: .handlerFailed)
    }

    /// ``failUnanswered(_:requests:)`` for a request laid out as a C message.
    @inline(__always)
    static func failUnanswered(abi message: jamey_message, requests: RequestTimer) {
        guard message.correlation_id != 0, let replyTo = message.reply_to, RequestTimer.isReplyAddress(replyTo) else { return }
        requests.failAsAReplyWould(id: message.correlation_id, with: .handlerFailed)
    }

    /// ``callDirect(_:)`` with a C message, for a C handler (`.abi`); nothing is called for any
    /// other kind of handler.
    func callDirect(abi message: UnsafePointer<jamey_message>) -> Bool {
        guard handler.takesABI else { return false }
        return callDirect { handler.callABI(message) }
    }

    @inline(__always)
    private func callDirect(_ call: () -> Bool) -> Bool {
        directCalls.add(1, ordering: .sequentiallyConsistent)
        defer { directCalls.subtract(1, ordering: .sequentiallyConsistent) }
        if closedFlag.load(ordering: .sequentiallyConsistent) { return false }
        let start = MonotonicClock.now()
        let ok = DirectFrames.run(subscription: id, call)
        metrics.handlerDuration.recordNanoseconds(Int64(truncatingIfNeeded: MonotonicClock.now() &- start))
        metrics.messagesIn.increment(by: 1)
        if !ok { metrics.handlerErrors.increment(by: 1) }
        return true
    }

    /// Whether, after ``close(requests:)``, direct calls on other threads are still running.
    var hasDirectCallsElsewhere: Bool {
        directCalls.load(ordering: .sequentiallyConsistent) > DirectFrames.count(subscription: id)
    }

    /// Offers `message` to the mailbox. Never blocks beyond the mailbox lock.
    /// - Parameters:
    ///   - message: The message as it will be delivered.
    ///   - isRequest: Requests are refused by a full mailbox whatever its policy.
    @inline(__always)
    func offer(_ message: consuming BusMessage, isRequest: Bool) -> Offer {
        let compact = isCompact
        let outcome: Offer
        if let lane {
            switch lane.appendBoxed(message).0 {
            case .queued(let schedule): outcome = .queued(schedule: schedule, evicted: nil, dropped: false)
            case .full: outcome = .full
            case .closed: outcome = .closed
            }
        } else if refusesAtOnce(isRequest: isRequest) {
            outcome = .full
        } else {
            // Moved into the mailbox through the closure, not copied (and released outside the
            // lock when it is not queued).
            var pending: BusMessage? = consume message
            outcome = mailbox.withLock { box -> Offer in
                if box.closed { return .closed }
                var evicted: BusMessage? = nil
                var dropped = false
                if box.count(compact: compact) >= capacity {
                    if isRequest || overflow == .dropNewest { return .full }
                    evicted = box.dropOldest(compact: compact)
                    dropped = true
                }
                if compact { box.ring.appendBoxed() }
                box.queue.append(pending.take()!)
                return enqueued(&box, evicted: evicted, dropped: dropped)
            }
        }
        countDrop(outcome, isRequest: isRequest)
        return outcome
    }

    /// Offers an event given as C bytes to a compact mailbox (``isCompact``): it is copied into
    /// the ring, with a pointer to the publisher's interned name. Never blocks beyond the
    /// mailbox lock. Drops are counted here, and a request a `.dropOldest` mailbox drops to make
    /// room is failed with ``BusError/queueFull``.
    /// - Returns: whether the mailbox just became scheduled (the caller puts it on the run queue).
    @inline(__always)
    func offerCompact(
        topic: UnsafeRawPointer, topicLength: Int, payload: UnsafeRawBufferPointer, source: UnsafePointer<CChar>,
        requests: RequestTimer
    ) -> Bool {
        if let lane {
            switch lane.appendEvent(topic: topic, topicLength: topicLength, payload: payload, source: source) {
            case .queued(let schedule): return schedule
            case .full: countDropped()
            case .closed: break
            }
            return false
        }
        if refusesAtOnce(isRequest: false) {
            countDropped()
            return false
        }
        var evicted: BusMessage? = nil
        let outcome = mailbox.withLock { box -> CompactOutcome in
            if box.closed { return .closed }
            var outcome: CompactOutcome = []
            if box.ring.count >= capacity {
                if overflow == .dropNewest { return .dropped }
                evicted = box.dropOldest(compact: true)
                outcome = .dropped
            }
            box.ring.appendEvent(topic: topic, topicLength: topicLength, payload: payload, source: source)
            depth.store(box.ring.count, ordering: .relaxed)
            if !box.scheduled {
                box.scheduled = true
                outcome.insert(.schedule)
            }
            return outcome
        }
        if outcome.contains(.dropped) {
            countDropped()
            if let evicted, evicted.correlationID != 0 { requests.fail(id: evicted.correlationID, with: .queueFull) }
        }
        return outcome.contains(.schedule)
    }

    /// What ``offerCompact(topic:topicLength:payload:source:requests:)`` did under the lock.
    private struct CompactOutcome: OptionSet {
        let rawValue: UInt8
        /// The mailbox just became scheduled.
        static let schedule = CompactOutcome(rawValue: 1)
        /// A message was dropped: the new one (full `.dropNewest`) or the oldest.
        static let dropped = CompactOutcome(rawValue: 2)
        /// The subscription is closed; nothing was queued or dropped.
        static let closed = CompactOutcome(rawValue: 4)
    }

    @inline(__always)
    private func countDropped() {
        drops.wrappingAdd(1, ordering: .relaxed)
        metrics.dropped.increment()
    }

    /// Whether a full mailbox refuses the message without taking the lock.
    @inline(__always)
    private func refusesAtOnce(isRequest: Bool) -> Bool {
        (isRequest || overflow == .dropNewest) && depth.load(ordering: .relaxed) >= capacity
            && !closedFlag.load(ordering: .relaxed)
    }

    /// After an append under the lock: the depth mirror and whether to schedule.
    @inline(__always)
    private func enqueued(_ box: inout Mailbox, evicted: consuming BusMessage?, dropped: Bool) -> Offer {
        depth.store(box.count(compact: isCompact), ordering: .relaxed)
        if box.scheduled { return .queued(schedule: false, evicted: evicted, dropped: dropped) }
        box.scheduled = true
        return .queued(schedule: true, evicted: evicted, dropped: dropped)
    }

    @inline(__always)
    private func countDrop(_ outcome: borrowing Offer, isRequest: Bool) {
        switch outcome {
        case .full where !isRequest, .queued(_, _, true): countDropped()
        default: break
        }
    }

    /// Closes the subscription: no more deliveries, queued messages discarded (queued requests
    /// fail with ``BusError/noResponders``).
    /// - Returns: Whether the caller must wait for a running handler to finish (it is running on
    ///   another thread).
    func close(requests: RequestTimer) -> Bool {
        closedFlag.store(true, ordering: .sequentiallyConsistent)
        if isDirect { return hasDirectCallsElsewhere }
        let me = pthread_self()
        if let lane { return closeLane(lane, requests: requests, caller: me) }
        let (discarded, events, mustWait) = mailbox.withLock { box -> ([BusMessage], Int, Bool) in
            box.closed = true
            let events = box.ring.removeAll()
            let discarded = box.queue.removeAll()
            depth.store(0, ordering: .relaxed)
            return (discarded, events, box.running && pthread_equal(box.runner, me) == 0)
        }
        countDiscarded(discarded, requests: requests)
        countDiscarded(events: events)
        return mustWait
    }
}

extension Subscription {
    /// ``close(requests:)`` for a lane: no producer appends from now on; the queued messages are
    /// discarded here unless a worker is running the lane, which discards them itself when it
    /// sees the subscription closed.
    /// - Returns: whether the caller must wait for the worker (it is not the caller's thread).
    func closeLane(_ lane: Lane, requests: RequestTimer, caller: pthread_t) -> Bool {
        lane.closeProducers()
        while true {
            if lane.claim(from: .idle)
                || lane.claim(from: .scheduled)
            {
                discardLane(lane, requests: requests)
                return false
            }
            switch lane.state {
            case .closed: return false
            case .running: return UInt(caller) != laneRunner.load(ordering: .relaxed)
            case .idle, .scheduled: continue
            }
        }
    }

    /// Discards what the lane holds (by the thread holding it running) and leaves it closed.
    func discardLane(_ lane: Lane, requests: RequestTimer) {
        var boxed: [BusMessage] = []
        var requestIDs: [UInt64] = []
        let events = lane.discardAll({ boxed.append($0) }, request: { requestIDs.append($0) })
        lane.set(.closed)
        countDiscarded(boxed, requests: requests)
        for id in requestIDs { requests.fail(id: id, with: .noResponders) }
        countDiscarded(events: events)
    }

    /// Accounts for messages that will never reach the handler because the subscription closed:
    /// requests fail with ``BusError/noResponders``, events are counted as dropped (so that every
    /// published message is either delivered once or counted).
    func countDiscarded<Messages: Sequence<BusMessage>>(_ messages: Messages, requests: RequestTimer) {
        var events = 0
        for message in messages {
            if message.correlationID != 0 {
                requests.fail(id: message.correlationID, with: .noResponders)
            } else {
                events += 1
            }
        }
        countDiscarded(events: events)
    }

    /// Counts `events` discarded events as dropped.
    func countDiscarded(events: Int) {
        if events > 0 {
            drops.wrappingAdd(events, ordering: .relaxed)
            metrics.dropped.increment(by: events)
        }
    }
}

/// The direct calls running on the current thread, innermost first: a linked list of frames on
/// the thread's stack, its head in a thread-specific slot. It lets a subscription closed from its
/// own direct handler (or from a handler it called) wait for other threads' calls only.
enum DirectFrames {
    private struct Frame {
        let subscription: UInt64
        let previous: UnsafeMutableRawPointer?
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` as a direct call of `subscription` on this thread.
    static func run<R>(subscription: UInt64, _ body: () -> R) -> R {
        var frame = Frame(subscription: subscription, previous: pthread_getspecific(key))
        return withUnsafeMutablePointer(to: &frame) { pointer in
            pthread_setspecific(key, pointer)
            defer { pthread_setspecific(key, pointer.pointee.previous) }
            return body()
        }
    }

    /// How many direct calls of `subscription` the current thread is inside.
    static func count(subscription: UInt64) -> Int {
        var count = 0
        var next = pthread_getspecific(key)
        while let raw = next {
            let frame = raw.assumingMemoryBound(to: Frame.self).pointee
            if frame.subscription == subscription { count += 1 }
            next = frame.previous
        }
        return count
    }
}
