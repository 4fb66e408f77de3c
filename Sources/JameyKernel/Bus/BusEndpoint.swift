import CJameyABI
import CJameySystem
import Dispatch
import JameyReplyWatch
import Metrics
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An owner-scoped handle on a ``MessageBus``: what the kernel or one plugin publishes,
/// subscribes and requests through.
///
/// Every method is thread-safe and may be called from any thread, including from inside a bus
/// handler; none runs a handler on the caller's thread.
public final class BusEndpoint: Sendable {
    /// The plugin name (or `"kernel"`) that everything sent through this endpoint is attributed
    /// to: the `source` of its messages and the `plugin` dimension of its metrics.
    public let owner: String
    /// Whose subscriptions these are: the owner, or for the second instance of a plugin during a
    /// blue-green deploy a key of its own (`name@2`), so each instance's subscriptions are
    /// drained and removed apart.
    let instance: String
    let bus: MessageBus
    let metrics: BusMetrics
    /// The last route this endpoint looked up (see ``route(_:)``).
    private let lastRoute = Mutex<(topic: String, entry: RouteEntry)?>(nil)
    /// ``owner`` as a C string that lives as long as the process (the `source` of compact
    /// records).
    nonisolated(unsafe) let ownerCString: UnsafePointer<CChar>
    /// Whether async requests watch for their reply before suspending.
    let replySpin = ReplySpin()
    /// Every subscription made through this endpoint and not yet closed, routed or not (one
    /// ``retireAll(timeout:)`` took out of routing is still delivering its queue), so that
    /// ``unsubscribe(_:)`` finds it either way and returns only once its handler has stopped.
    /// A subscription leaves only after its close has waited for the handler.
    private let live = Mutex<[UInt64: Subscription]>([:])
    /// Set by ``close()``: no subscription is made from then on.
    private let closed = Atomic<Bool>(false)

    init(owner: String, instance: String? = nil, bus: MessageBus) {
        self.owner = owner
        self.instance = instance ?? owner
        self.bus = bus
        self.metrics = BusMetrics(owner: owner, factory: bus.metricsFactory)
        self.ownerCString = OwnerNames.cString(owner)
    }

    /// Delivers `message` to every subscription whose pattern matches its topic.
    ///
    /// Never blocks and never runs a handler on the caller's thread. A full mailbox drops per its
    /// ``OverflowPolicy`` (counted in ``MessageBus/dropCount(subscription:)`` and
    /// `jamey_bus_dropped_total`); the call still succeeds. Delivered copies carry
    /// `source = owner`, `replyTo = nil` and `correlationID = 0`.
    /// - Parameter message: The message; its topic must be concrete.
    /// - Throws: ``BusError/invalidTopic(_:)``, or ``BusError/shutdown``.
    public func publish(_ message: BusMessage) throws(BusError) {
        try deliver(message.stamped(source: owner))
    }

    /// ``publish(_:)`` for a message the caller gives up (the host's ABI path builds one per
    /// call): it is stamped in place and moved into the mailbox of a single subscriber, never
    /// copied.
    func publish(taking message: consuming BusMessage) throws(BusError) {
        message.source = owner
        message.replyTo = nil
        message.correlationID = 0
        try deliver(message)
    }

    private func deliver(_ delivered: consuming BusMessage) throws(BusError) {
        guard bus.isAccepting else { throw .shutdown }
        let entry = try route(delivered.topic)
        metrics.messagesOut.increment()
        if let split = entry.split {
            // A canary's split: the message goes to one of the two instances.
            let side = split.side(for: delivered)
            for subscription in entry.subscriptions where entry.accepts(subscription, side: side, split: split) {
                offer(copy delivered, to: subscription)
            }
            return
        }
        let subscriptions = entry.subscriptions
        switch subscriptions.count {
        case 0:
            return
        case 1:
            offer(consume delivered, to: subscriptions[0])
        default:
            // A copy for each subscriber but the last, which takes the message itself.
            let last = subscriptions.count - 1
            for subscription in subscriptions[..<last] { offer(copy delivered, to: subscription) }
            offer(consume delivered, to: subscriptions[last])
        }
    }

    @inline(__always)
    private func offer(_ message: consuming BusMessage, to subscription: Subscription) {
        if subscription.isDirect {
            _ = subscription.callDirect(message)
            return
        }
        scheduled(subscription, subscription.offer(consume message, isRequest: false))
    }

    /// Puts a mailbox that just became scheduled on the run queue, and fails a request that a
    /// `.dropOldest` mailbox dropped to make room.
    @inline(__always)
    private func scheduled(_ subscription: Subscription, _ outcome: consuming Subscription.Offer) {
        if case .queued(let schedule, let evicted, _) = outcome {
            if schedule { bus.pool.schedule(subscription) }
            if let evicted, evicted.correlationID != 0 {
                bus.requests.fail(id: evicted.correlationID, with: .queueFull)
            }
        }
    }

    /// Publishes an event given as C bytes (the host's `publish` of a message without content
    /// type or headers) without building a ``BusMessage``, when every subscription it reaches
    /// has a C handler: each queued one gets a copy of the bytes in its ``CompactRing``, each
    /// direct one is called with a `jamey_message` over them. Same guarantees as
    /// ``publish(_:)``.
    /// - Returns: false when the route needs the general path (a Swift handler matches, or a
    ///   canary's split); nothing was published then.
    /// - Throws: ``BusError/invalidTopic(_:)``, or ``BusError/shutdown``.
    func publishCompact(topic: UnsafePointer<CChar>, payload: UnsafeRawBufferPointer) throws(BusError) -> Bool {
        guard bus.isAccepting else { throw .shutdown }
        let topicLength = strlen(topic)
        let generation = bus.routes.generation
        // The common case — the thread's last topic, still current, to queued C handlers only —
        // is offered through the thread's cached route, borrowed without reference counting and
        // without a lock (no handler runs here: a queued offer calls no user code, so nothing
        // replaces the thread's cache meanwhile).
        let offered =
            ThreadRouteCache.withRoute(generation: generation, topic: topic, length: topicLength) { entry -> Bool in
                guard entry.queuesCompactOnly else { return false }
                offerCompact(to: entry, topic: topic, topicLength: topicLength, payload: payload)
                return true
            } ?? false
        if offered { return true }
        guard let entry = try compactRoute(topic, length: topicLength), entry.takesCompact else { return false }
        offerCompact(to: entry, topic: topic, topicLength: topicLength, payload: payload)
        return true
    }

    /// Offers an event given as C bytes to every subscription of `entry` (all with C handlers):
    /// a copy into each queued one's ring, a call of each direct one.
    @inline(__always)
    private func offerCompact(
        to entry: RouteEntry, topic: UnsafePointer<CChar>, topicLength: Int, payload: UnsafeRawBufferPointer
    ) {
        let source = ownerCString
        // The counter unretained, and the subscriptions through the buffer (an iterator would
        // retain the array): no reference counting per publish.
        metrics.messagesOutCounter._withUnsafeGuaranteedRef { $0.increment() }
        entry.unmanagedSubscriptions.withUnsafeBufferPointer { members in
            for member in members {
                member._withUnsafeGuaranteedRef { subscription in
                    if subscription.isDirect {
                        var message = jamey_message()
                        message.struct_size = UInt32(MemoryLayout<jamey_message>.size)
                        message.topic = topic
                        message.payload = payload.baseAddress
                        message.payload_len = payload.count
                        message.source = source
                        _ = withUnsafePointer(to: &message) { subscription.callDirect(abi: $0) }
                    } else {
                        let schedule = subscription.offerCompact(
                            topic: UnsafeRawPointer(topic), topicLength: topicLength, payload: payload, source: source,
                            requests: bus.requests)
                        if schedule { bus.pool.schedule(subscription) }
                    }
                }
            }
        }
    }

    /// ``route(_:)`` for a C topic of `length` bytes: the thread's cached compact route when it
    /// is for the same bytes and still current, else the general lookup's (then cached for the
    /// thread); nil for a topic that is not UTF-8 (the general path repairs it).
    @inline(__always)
    func compactRoute(_ topic: UnsafePointer<CChar>, length: Int) throws(BusError) -> RouteEntry? {
        let generation = bus.routes.generation
        if let cached = ThreadRouteCache.withRoute(generation: generation, topic: topic, length: length, { $0 }) {
            return cached
        }
        let bytes = UnsafeRawBufferPointer(start: topic, count: length)
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let entry = try route(text)
        ThreadRouteCache.store(CompactRoute(topic: bytes, entry: entry))
        return entry
    }

    /// The route of `topic`: this endpoint's last one when it is for the same topic and still
    /// current (a publisher mostly repeats its topic; this skips hashing it and the route
    /// table's lock), else the route table's.
    @inline(__always)
    func route(_ topic: String) throws(BusError) -> RouteEntry {
        let generation = bus.routes.generation
        let cached = lastRoute.withLock { last -> RouteEntry? in
            guard let last, last.entry.generation == generation, last.topic == topic else { return nil }
            return last.entry
        }
        if let cached { return cached }
        let entry = try bus.routes.route(topic)
        let stale = lastRoute.withLock { last in
            defer { last = (topic, entry) }
            return last
        }
        _ = stale  // released here, outside the lock
        return entry
    }

    /// Subscribes `handler` to every topic matching `pattern`.
    ///
    /// The handler runs on a bus worker thread, never concurrently with itself, and sees each
    /// publisher's messages in publish order. It returns `false` to report a failure (counted in
    /// `jamey_bus_handler_errors_total`; the message is not redelivered, and a request it has not
    /// replied to is answered with ``BusError/handlerFailed`` at once).
    ///
    /// A `direct` subscription has no mailbox: its handler runs on the thread that publishes or
    /// requests, inside that call, possibly concurrently with itself, so it must be thread-safe
    /// and short. `capacity` and `overflow` do not apply to it; nothing is queued or dropped.
    /// - Parameters:
    ///   - pattern: Dotted pattern; `*` matches one segment, a final `>` one or more.
    ///   - capacity: Mailbox capacity; `nil` (or a value below 1) for
    ///     ``BusConfiguration/defaultQueueCapacity``.
    ///   - overflow: What a full mailbox does with the next event.
    ///   - responder: Declares the subscription answers requests: a request goes to a declared
    ///     responder when one matches, otherwise to any matching subscription.
    ///   - direct: Call the handler on the sender's thread instead of a bus worker.
    ///   - handler: Called with each message.
    /// - Returns: The subscription id (never 0); it may be ignored when the subscription lives
    ///   until ``unsubscribeAll()``.
    /// - Throws: ``BusError/invalidPattern(_:)``, or ``BusError/shutdown``.
    @discardableResult
    public func subscribe(
        _ pattern: String, capacity: Int? = nil, overflow: OverflowPolicy = .dropNewest, responder: Bool = false,
        direct: Bool = false, eventsOnly: Bool = false, handler: @escaping @Sendable (BusMessage) -> Bool
    ) throws(BusError) -> UInt64 {
        try subscribe(
            pattern, capacity: capacity, overflow: overflow, responder: responder, direct: direct, eventsOnly: eventsOnly,
            handler: .value(handler))
    }

    /// ``subscribe(_:capacity:overflow:responder:direct:handler:)`` with either kind of
    /// ``Subscription/Handler`` (the ABI's trampoline is given the message where it lies, valid
    /// for the duration of the call, and lays it out for C without copying it first).
    /// `announce` is given the id before the subscription can deliver anything (the ABI writes
    /// `id_out` there: a handler may run on another thread before `subscribe` returns, and may
    /// read the id).
    func subscribe(
        _ pattern: String, capacity: Int?, overflow: OverflowPolicy, responder: Bool, direct: Bool, eventsOnly: Bool = false,
        handler: Subscription.Handler, announce: (UInt64) -> Void = { _ in }
    ) throws(BusError) -> UInt64 {
        guard bus.isAccepting, !closed.load(ordering: .acquiring) else { throw .shutdown }
        let parsed = try TopicPattern(pattern)
        let requested = capacity ?? 0
        let subscription = Subscription(
            id: bus.makeSubscriptionID(), owner: instance, pattern: parsed,
            capacity: requested > 0 ? requested : bus.defaultQueueCapacity,
            overflow: overflow, isResponder: responder, isDirect: direct, isEventsOnly: eventsOnly, metrics: metrics,
            handler: handler)
        announce(subscription.id)
        live.withLock { $0[subscription.id] = subscription }
        bus.routes.insert(subscription)
        // Closed meanwhile: ``close()`` may have unsubscribed everything before this was routed.
        if closed.load(ordering: .sequentiallyConsistent) {
            finish(subscription)
            throw .shutdown
        }
        return subscription.id
    }

    /// Ends one of this owner's subscriptions. Queued messages are discarded (queued requests fail
    /// with ``BusError/noResponders``).
    ///
    /// When it returns, the handler is not running and will not run again — unless called from
    /// that subscription's own handler, in which case the current invocation completes normally.
    /// It waits for a handler running on another thread, so do not call it while holding a lock
    /// that handler needs.
    /// - Parameter id: The subscription id.
    /// - Returns: `false` when `id` is unknown or belongs to another owner.
    @discardableResult
    public func unsubscribe(_ id: UInt64) -> Bool {
        // Looked up among the live ones, not in the route table: a subscription being retired
        // or closed by another thread is no longer routed but its handler may still run, and
        // the caller frees what the handler uses once this returns.
        guard let subscription = live.withLock({ $0[id] }) ?? bus.routes.remove(id: id, owner: instance) else {
            return false
        }
        finish(subscription)
        return true
    }

    /// Takes `subscription` out of routing (if it still is), closes it, waits for its handler
    /// (unless on it) and forgets it.
    private func finish(_ subscription: Subscription) {
        _ = bus.routes.remove(id: subscription.id, owner: instance)
        bus.close(subscription)
        forget([subscription])
    }

    /// Drops closed subscriptions from ``live``.
    private func forget(_ subscriptions: [Subscription]) {
        guard !subscriptions.isEmpty else { return }
        live.withLock { live in
            for subscription in subscriptions { live.removeValue(forKey: subscription.id) }
        }
    }

    /// Waits until every subscription of this owner has an empty mailbox and no handler running
    /// (what graceful shutdown does before a plugin's `stop`), or until `timeout` passes.
    /// - Returns: whether everything drained in time.
    @discardableResult
    public func drain(timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while true {
            let busy = bus.routes.subscriptions(owner: instance).contains {
                $0.queuedCount > 0 || $0.isRunning
            }
            if !busy { return true }
            if clock.now >= end { return false }
            usleep(500)
        }
    }

    /// Ends every subscription of this owner (used when a plugin stops), with the guarantees of
    /// ``unsubscribe(_:)`` for each, waiting for running handlers until `deadline` (uptime
    /// nanoseconds; nil: as long as they take).
    /// - Returns: false when a handler was still running at `deadline` (a handler that never
    ///   returns held a stop, a reload or a deploy for good): its plugin must be abandoned, not
    ///   deinitialised.
    @discardableResult
    public func unsubscribeAll(deadline: UInt64? = nil) -> Bool {
        let routed = bus.routes.removeAll(owner: instance)
        // With those being retired (out of routing, still delivering their queues).
        let routedIDs = Set(routed.map(\.id))
        let all = routed + live.withLock { $0.values.filter { !routedIDs.contains($0.id) } }
        var stopped = true
        for subscription in all where !bus.close(subscription, deadline: deadline) { stopped = false }
        forget(all)
        return stopped
    }

    /// Ends every subscription (as ``unsubscribeAll(deadline:)``) and refuses new ones from now
    /// on (``BusError/shutdown``): what the kernel does before it invalidates a plugin's host
    /// context, so that no subscription a plugin thread makes meanwhile stays routed to a
    /// plugin that can no longer unsubscribe it.
    @discardableResult
    public func close(deadline: UInt64? = nil) -> Bool {
        closed.store(true, ordering: .sequentiallyConsistent)
        return unsubscribeAll(deadline: deadline)
    }

    /// Takes every subscription of this endpoint out of routing — no new message reaches them —
    /// then lets each finish what is queued and running before it is closed (a blue-green
    /// deploy's old instance). A message routed in the instant before the removal is still
    /// delivered: the queues are watched until they stay empty.
    /// - Returns: false when something was still queued or running at `timeout` (then dropped).
    @discardableResult
    public func retireAll(timeout: Duration) -> Bool {
        let retired = bus.routes.removeAll(owner: instance)
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var quietSince: ContinuousClock.Instant?
        var drained = false
        while clock.now < end {
            let busy = retired.contains { $0.queuedCount > 0 || $0.isRunning }
            if busy {
                quietSince = nil
            } else if let since = quietSince {
                if clock.now - since >= .milliseconds(20) {
                    drained = true
                    break
                }
            } else {
                quietSince = clock.now
            }
            usleep(500)
        }
        // A handler still running at the end is left to run, and its subscription kept: the
        // plugin's deinitialisation (``unsubscribeAll(deadline:)``) waits for it, within the
        // stop deadline, or the plugin is abandoned.
        let until = DispatchTime.now().uptimeNanoseconds
        let running = retired.filter { !bus.close($0, deadline: until) }
        if !running.isEmpty { drained = false }
        let runningIDs = Set(running.map(\.id))
        forget(retired.filter { !runningIDs.contains($0.id) })
        return drained
    }
}

/// A thread's last compact route: a ``RouteEntry`` and the C topic it was looked up for.
/// Reached through ``ThreadRouteCache`` without reference counting on the publish path.
final class CompactRoute: Sendable {
    let entry: RouteEntry
    /// ``entry``, unretained (``entry`` keeps it alive).
    let borrowedEntry: Unmanaged<RouteEntry>
    private let length: Int
    nonisolated(unsafe) private let bytes: UnsafeMutableRawPointer

    init(topic: UnsafeRawBufferPointer, entry: RouteEntry) {
        self.entry = entry
        borrowedEntry = .passUnretained(entry)
        length = topic.count
        bytes = .allocate(byteCount: max(1, topic.count), alignment: 1)
        if let base = topic.baseAddress { bytes.copyMemory(from: base, byteCount: topic.count) }
    }

    deinit { bytes.deallocate() }

    /// Whether `topic` (`length` bytes) is this route's topic.
    @inline(__always)
    func matches(_ topic: UnsafePointer<CChar>, length: Int) -> Bool {
        length == self.length && memcmp(bytes, topic, length) == 0
    }
}

/// Each thread's last compact route (``BusEndpoint/publishCompact(topic:payload:)``), in a
/// thread-local slot (`jamey_tls.h`): the publish path reads it with no lock and no reference
/// counting, which a per-endpoint cache needs (a lock) when several threads publish through
/// one endpoint. Route-table generations are unique in the process, so an entry current for
/// the bus being published to is that bus's.
///
/// The slot holds its route strongly until the thread caches another or exits (a pthread key's
/// destructor releases it): a closed subscription stays allocated, never called, until then.
enum ThreadRouteCache {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { route in
            if let route { Unmanaged<CompactRoute>.fromOpaque(route).release() }
        }
        return key
    }()

    /// Calls `body` with the thread's cached entry when it is for `topic` (`length` bytes) at
    /// `generation`; nil otherwise. `body` must not publish (it could replace the cache).
    @inline(__always)
    static func withRoute<R>(
        generation: UInt64, topic: UnsafePointer<CChar>, length: Int, _ body: (RouteEntry) -> R
    ) -> R? {
        guard let raw = jamey_thread_route_slot().pointee else { return nil }
        return Unmanaged<CompactRoute>.fromOpaque(raw)._withUnsafeGuaranteedRef { cached in
            cached.borrowedEntry._withUnsafeGuaranteedRef { entry in
                entry.generation == generation && cached.matches(topic, length: length) ? body(entry) : nil
            }
        }
    }

    /// Makes `route` the thread's cached route, releasing the previous one.
    static func store(_ route: CompactRoute) {
        let slot = jamey_thread_route_slot()
        let previous = slot.pointee
        let retained = Unmanaged.passRetained(route).toOpaque()
        slot.pointee = retained
        pthread_setspecific(key, retained)
        if let previous { Unmanaged<CompactRoute>.fromOpaque(previous).release() }
    }
}
