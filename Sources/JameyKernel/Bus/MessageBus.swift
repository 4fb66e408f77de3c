import Foundation
import Metrics
import Synchronization

/// The kernel's in-process message bus: publish/subscribe on dotted topics and request/reply,
/// with owner-scoped handles (``BusEndpoint``) for the kernel and each plugin.
///
/// ## Threading model
///
/// - **Workers.** A fixed pool of worker threads (``BusConfiguration/workerCount``) runs every
///   handler; ``BusEndpoint/publish(_:)`` never runs one on the caller's thread and never blocks.
/// - **Mailboxes.** Each subscription has a bounded FIFO mailbox. Publishing appends to it; only
///   when the mailbox goes from idle to *scheduled* is the subscription put on the pool's run
///   queue (and a sleeping worker woken, unless one is already spinning for work). A worker takes
///   up to ``BusConfiguration/deliveryBatchSize`` messages from one mailbox, runs the handler for
///   each, then goes on with the next batch if nothing else waits, or puts the subscription back
///   at the end of the run queue if something does. Routing uses a cache from concrete topic to
///   matching subscriptions, invalidated by a generation counter on subscribe and unsubscribe.
/// - **Guarantees.** A subscription is scheduled at most once, so its handler never runs
///   concurrently with itself and sees each publisher's messages in publish order. Different
///   subscriptions run in parallel on different workers.
/// - **Re-entrancy.** Handlers may publish, subscribe, unsubscribe (even themselves), send
///   asynchronous requests and reply without deadlocking: no bus lock is held while user code
///   runs. A handler that blocks delays only its own subscription, but it does occupy a worker.
///   In particular, a blocking ``BusEndpoint/requestSync(_:timeout:)`` from a handler to a topic
///   served only by that same subscription can never be answered (the handler is busy waiting)
///   and ends in ``BusError/timeout``; and if *every* worker blocks in `requestSync` at once, their
///   requests time out too.
/// - **Requests.** One timer thread keeps request deadlines in a min-heap and sleeps in a timed
///   condition wait until the earliest. Completions run exactly once, never under a bus lock:
///   replies on the replying worker (or on a worker, when the reply comes from a foreign thread),
///   failures (`timeout`, `noResponders`, `queueFull`, `shutdown`) on the timer thread.
///
/// Keep the bus alive for as long as its endpoints are used: releasing the last reference to it
/// stops its threads without draining (call ``shutdown(deadline:)`` for an orderly stop).
public final class MessageBus: Sendable {
    /// The configuration the bus was created with (with `workerCount` resolved).
    public let configuration: BusConfiguration
    let metricsFactory: any MetricsFactory
    let identity = BusIdentity()
    let routes = RouteTable()
    let requests: RequestTimer
    let pool: WorkerPool
    private let nextSubscriptionID = Atomic<UInt64>(1)
    /// The settings a running bus can change (``apply(queueCapacity:requestTimeout:)``).
    private let queueCapacityValue: Atomic<Int>
    private let requestTimeoutNanoseconds: Atomic<Int64>
    private let accepting = Atomic<Bool>(true)
    private let shutdownStarted = Atomic<Bool>(false)

    /// Creates a bus and starts its worker and timer threads.
    /// - Parameters:
    ///   - configuration: Capacities, timeouts and worker count.
    ///   - metricsFactory: The backend every bus metric is created through.
    public init(configuration: BusConfiguration = .init(), metricsFactory: any MetricsFactory) {
        var resolved = configuration
        let processors = ProcessInfo.processInfo.activeProcessorCount
        if resolved.workerCount <= 0 {
            resolved.workerCount = max(2, processors)
        }
        resolved.defaultQueueCapacity = max(1, resolved.defaultQueueCapacity)
        resolved.deliveryBatchSize = max(1, resolved.deliveryBatchSize)
        self.configuration = resolved
        self.queueCapacityValue = Atomic(resolved.defaultQueueCapacity)
        self.requestTimeoutNanoseconds = Atomic(Self.nanoseconds(resolved.defaultRequestTimeout))
        self.metricsFactory = metricsFactory
        self.requests = RequestTimer(identity: identity)
        self.pool = WorkerPool(
            workerCount: resolved.workerCount, batchSize: resolved.deliveryBatchSize,
            identity: identity, requests: requests, processors: processors)
        requests.setSubmitter { [weak pool] work in
            if let pool { pool.submit(work) } else { work() }
        }
    }

    deinit {
        requests.close()
        requests.stop(deadline: 0, wait: false)
        pool.stop(deadline: 0, wait: false)
    }

    /// An owner-scoped handle: every publish, subscribe and request through it is attributed to
    /// `owner`, and it can only unsubscribe `owner`'s subscriptions.
    ///
    /// Thread-safe; cheap enough to call once per plugin. Two endpoints with the same owner act
    /// on the same subscriptions and feed the same metric series.
    /// - Parameter owner: A plugin name or `"kernel"`; the `plugin` dimension of its metrics.
    public func endpoint(owner: String, instance: String? = nil) -> BusEndpoint {
        BusEndpoint(owner: owner, instance: instance, bus: self)
    }

    /// Stops the bus in order; idempotent, and safe to call from any thread, including a handler.
    ///
    /// New publishes, subscriptions and requests fail with ``BusError/shutdown`` from the moment
    /// it is called; pending requests fail with ``BusError/shutdown``; messages already queued are
    /// still delivered until `deadline`; then the worker and timer threads stop (a handler still
    /// running keeps its thread until it returns) and every subscription is closed.
    /// - Parameter deadline: How long to wait for queued messages and for the threads to exit.
    public func shutdown(deadline: Duration = .seconds(5)) {
        guard !shutdownStarted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let end = MonotonicClock.deadline(after: deadline)
        accepting.store(false, ordering: .sequentiallyConsistent)
        requests.close()
        _ = pool.waitUntilIdle(deadline: end)
        pool.stop(deadline: end, wait: true)
        requests.stop(deadline: end, wait: true)
        for subscription in routes.removeAll(owner: nil) {
            _ = subscription.close(requests: requests)
        }
    }

    /// Mailbox capacity of a subscription that does not ask for one (from now on).
    public var defaultQueueCapacity: Int { queueCapacityValue.load(ordering: .relaxed) }

    /// Deadline of a request that does not give one (from now on).
    public var defaultRequestTimeout: Duration { .nanoseconds(requestTimeoutNanoseconds.load(ordering: .relaxed)) }

    /// ``defaultRequestTimeout`` in nanoseconds (what a request without a timeout registers).
    var defaultRequestTimeoutNanoseconds: UInt64 { UInt64(max(0, requestTimeoutNanoseconds.load(ordering: .relaxed))) }

    /// Changes the defaults a running bus can change safely (a config reload): the mailbox
    /// capacity of subscriptions made from now on (existing mailboxes keep theirs) and the
    /// deadline of requests sent from now on. The worker count and batch size are fixed at start.
    public func apply(queueCapacity: Int, requestTimeout: Duration) {
        queueCapacityValue.store(max(1, queueCapacity), ordering: .relaxed)
        requestTimeoutNanoseconds.store(Self.nanoseconds(requestTimeout), ordering: .relaxed)
    }

    private static func nanoseconds(_ d: Duration) -> Int64 { d.wholeNanoseconds }

    /// Whether ``shutdown(deadline:)`` has been called.
    public var isShutDown: Bool { !accepting.load(ordering: .relaxed) }

    /// Messages dropped so far by subscription `id`'s full mailbox, or `nil` for an unknown (or
    /// closed) subscription. For tests and introspection.
    /// - Parameter id: A subscription id from ``BusEndpoint/subscribe(_:capacity:overflow:handler:)``.
    public func dropCount(subscription id: UInt64) -> Int? {
        routes.subscription(id: id)?.dropCount
    }

    /// Requests currently waiting for a reply. For tests and introspection.
    public var pendingRequestCount: Int { requests.pendingCount }

    @inline(__always)
    var isAccepting: Bool { accepting.load(ordering: .relaxed) }

    func makeSubscriptionID() -> UInt64 {
        nextSubscriptionID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Closes a subscription already removed from the route table and, unless called from its
    /// own handler, waits until its handler is not running, or until `deadline` (uptime
    /// nanoseconds; nil: as long as it takes).
    /// - Returns: false when its handler was still running at `deadline`: whatever it uses must
    ///   not be freed (the kernel abandons the plugin).
    @discardableResult
    func close(_ subscription: Subscription, deadline: UInt64? = nil) -> Bool {
        guard subscription.close(requests: requests) else { return true }
        if subscription.isDirect {
            // Direct calls run on their callers' threads; they are short by contract.
            while subscription.hasDirectCallsElsewhere {
                if let deadline, DispatchTime.now().uptimeNanoseconds >= deadline { return false }
                usleep(50)
            }
            return true
        }
        return pool.waitUntilNotRunning(subscription, deadline: deadline)
    }
}
