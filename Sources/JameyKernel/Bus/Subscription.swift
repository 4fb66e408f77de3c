import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One subscription: its pattern, its handler and its bounded FIFO mailbox.
///
/// The mailbox is *scheduled* from the moment a message arrives in an empty, idle mailbox until a
/// worker finds it empty after a batch; while scheduled it is either on the run queue or being
/// drained by exactly one worker, which is what keeps the handler from running concurrently with
/// itself and keeps delivery in arrival order.
final class Subscription: Sendable {
    /// What happened to an offered message.
    enum Offer {
        /// Queued; `schedule` says the mailbox just became scheduled and must go on the run
        /// queue; `evicted` is the oldest message dropped to make room (`.dropOldest`).
        case queued(schedule: Bool, evicted: BusMessage?)
        /// Dropped because the mailbox is full (`.dropNewest`, or any full mailbox for requests).
        case full
        /// The subscription is closed.
        case closed
    }

    struct Mailbox {
        var queue = RingBuffer<BusMessage>()
        var scheduled = false
        var closed = false
        var running = false
        var runner = pthread_t()
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
    /// The owner's metrics.
    let metrics: BusMetrics
    let handler: @Sendable (BusMessage) -> Bool
    let mailbox = Mutex(Mailbox())
    let closedFlag = Atomic<Bool>(false)
    /// Mirror of the queue length, written under the mailbox lock, read without it so that a
    /// full `.dropNewest` mailbox drops without contending with its worker.
    let depth = Atomic<Int>(0)
    private let drops = Atomic<Int>(0)

    init(
        id: UInt64, owner: String, pattern: TopicPattern, capacity: Int, overflow: OverflowPolicy,
        isResponder: Bool = false, metrics: BusMetrics, handler: @escaping @Sendable (BusMessage) -> Bool
    ) {
        self.isResponder = isResponder
        self.id = id
        self.owner = owner
        self.pattern = pattern
        self.capacity = max(1, capacity)
        self.overflow = overflow
        self.metrics = metrics
        self.handler = handler
    }

    /// Messages dropped by this mailbox so far.
    var dropCount: Int { drops.load(ordering: .relaxed) }

    /// Whether a worker is running this subscription's handler right now.
    var isRunning: Bool { mailbox.withLock { $0.running } }

    /// Offers `message` to the mailbox. Never blocks beyond the mailbox lock.
    /// - Parameters:
    ///   - message: The message as it will be delivered.
    ///   - isRequest: Requests are refused by a full mailbox whatever its policy.
    @inline(__always)
    func offer(_ message: BusMessage, isRequest: Bool) -> Offer {
        let outcome: Offer
        if (isRequest || overflow == .dropNewest) && depth.load(ordering: .relaxed) >= capacity
            && !closedFlag.load(ordering: .relaxed)
        {
            outcome = .full
        } else {
            outcome = mailbox.withLock { box -> Offer in
                if box.closed { return .closed }
                var evicted: BusMessage? = nil
                if box.queue.count >= capacity {
                    if isRequest || overflow == .dropNewest { return .full }
                    evicted = box.queue.popFirst()
                }
                box.queue.append(message)
                depth.store(box.queue.count, ordering: .relaxed)
                if box.scheduled { return .queued(schedule: false, evicted: evicted) }
                box.scheduled = true
                return .queued(schedule: true, evicted: evicted)
            }
        }
        switch outcome {
        case .full where !isRequest, .queued(_, .some):
            drops.wrappingAdd(1, ordering: .relaxed)
            metrics.dropped.increment()
        default:
            break
        }
        return outcome
    }

    /// Closes the subscription: no more deliveries, queued messages discarded (queued requests
    /// fail with ``BusError/noResponders``).
    /// - Returns: Whether the caller must wait for a running handler to finish (it is running on
    ///   another thread).
    func close(requests: RequestTimer) -> Bool {
        closedFlag.store(true, ordering: .sequentiallyConsistent)
        let me = pthread_self()
        let (discarded, mustWait) = mailbox.withLock { box -> ([BusMessage], Bool) in
            box.closed = true
            let discarded = box.queue.removeAll()
            depth.store(0, ordering: .relaxed)
            return (discarded, box.running && pthread_equal(box.runner, me) == 0)
        }
        for message in discarded where message.correlationID != 0 {
            requests.fail(id: message.correlationID, with: .noResponders)
        }
        return mustWait
    }
}
