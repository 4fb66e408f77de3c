import CJameyABI
import JameyReplyWatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension BusEndpoint {
    /// Sends a request to one responder and calls `completion` with its reply.
    ///
    /// The bus picks one matching subscription (round-robin among several) and delivers the
    /// request with ``BusMessage/replyTo`` and ``BusMessage/correlationID`` set. Never blocks.
    /// `completion` is called exactly once and never under a bus lock: with the reply on a worker
    /// thread, or on the timer thread with ``BusError/timeout``, ``BusError/noResponders``,
    /// ``BusError/queueFull`` or ``BusError/shutdown``. It is not called on the caller's thread
    /// unless `anyThread` is set: then a reply completes the request on the replier's thread —
    /// for a direct responder, the caller's own, before this returns.
    /// - Parameters:
    ///   - message: The request; its topic must be concrete.
    ///   - timeout: How long to wait for the reply; `nil` for
    ///     ``BusConfiguration/defaultRequestTimeout``.
    ///   - anyThread: `completion` may run on any thread, including inside this call.
    ///   - completion: Receives the reply or the failure.
    /// - Throws: ``BusError/invalidTopic(_:)`` or ``BusError/shutdown``; `completion` is then not
    ///   called.
    public func request(
        _ message: BusMessage, timeout: Duration? = nil, anyThread: Bool = false,
        completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) {
        try request(message, timeout: timeout, anyThread: anyThread, abiTarget: nil, completion: completion)
    }

    /// ``request(_:timeout:anyThread:completion:)`` for a requester through the C ABI: a reply
    /// through the C ABI goes to `abiTarget` as it lies (see ``reply(to:correlationID:abi:)``).
    func request(
        _ message: BusMessage, timeout: Duration?, anyThread: Bool, abiTarget: ABIReplyTarget?,
        completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) {
        if case .failed(let failure) = try startRequest(
            message, timeout: timeout, anyThread: anyThread, abiTarget: abiTarget, completion: completion)
        {
            bus.requests.fail(completion, with: failure)
        }
    }

    /// Sends a request to one responder and suspends until its reply.
    ///
    /// Task cancellation does not end the wait early; the request ends at its reply or timeout.
    /// - Parameters:
    ///   - message: The request; its topic must be concrete.
    ///   - timeout: How long to wait; `nil` for ``BusConfiguration/defaultRequestTimeout``.
    /// - Returns: The reply, with ``BusMessage/source`` set to the responder's owner.
    /// - Throws: ``BusError/invalidTopic(_:)``, ``BusError/noResponders``,
    ///   ``BusError/queueFull``, ``BusError/timeout``, ``BusError/handlerFailed`` or ``BusError/shutdown``.
    public func request(_ message: BusMessage, timeout: Duration? = nil) async throws(BusError) -> BusMessage {
        let reply = ReplyRendezvous<Result<BusMessage, BusError>>()
        if case .failed(let failure) = try startRequest(message, timeout: timeout, anyThread: true, completion: reply.complete) {
            throw failure
        }
        // A reply that comes within a few microseconds is taken without suspending.
        if let early = reply.early(watching: replySpin) { return try early.get() }
        return try await reply.suspend().get()
    }

    /// Sends a request to one responder and blocks the calling thread until its reply.
    ///
    /// Only for threads that may block. From inside a handler it works for topics served by
    /// other subscriptions, but a request to a topic served only by the calling subscription
    /// cannot be answered and ends in ``BusError/timeout`` (see ``MessageBus``).
    /// - Parameters:
    ///   - message: The request; its topic must be concrete.
    ///   - timeout: How long to wait; `nil` for ``BusConfiguration/defaultRequestTimeout``.
    /// - Returns: The reply, with ``BusMessage/source`` set to the responder's owner.
    /// - Throws: ``BusError/invalidTopic(_:)``, ``BusError/noResponders``,
    ///   ``BusError/queueFull``, ``BusError/timeout``, ``BusError/handlerFailed`` or ``BusError/shutdown``.
    public func requestSync(_ message: BusMessage, timeout: Duration? = nil) throws(BusError) -> BusMessage {
        let waiter = ReplyWaiter.take()
        defer { ReplyWaiter.give(waiter) }
        switch try startRequest(message, timeout: timeout, anyThread: true, completion: waiter.complete) {
        case .failed(let failure):
            throw failure
        case .sent(let pending):
            // The timer thread normally fails the request at its deadline; waiting with the same
            // deadline keeps this call bounded even when it runs on the timer thread itself.
            if let result = waiter.wait(until: pending.deadline) { return try result.get() }
            if bus.requests.take(id: pending.id, replyTo: pending.replyTo) != nil {
                metrics.requestTimeouts.increment()
                throw .timeout
            }
            return try waiter.wait(until: .max)!.get()
        }
    }

    /// Answers a request, completing the requester's call exactly once.
    ///
    /// Keep `replyTo` and `correlationID` from the delivered request to answer later, from any
    /// thread. The requester receives `reply` with ``BusMessage/source`` set to this owner and
    /// ``BusMessage/correlationID`` set to the request's.
    /// - Parameters:
    ///   - replyTo: The request's ``BusMessage/replyTo``.
    ///   - correlationID: The request's ``BusMessage/correlationID``.
    ///   - reply: The reply; its topic is not interpreted.
    /// - Throws: ``BusError/notFound`` when the requester is gone: already answered, timed out,
    ///   or failed by shutdown.
    public func reply(to replyTo: String, correlationID: UInt64, _ reply: BusMessage) throws(BusError) {
        guard let pending = bus.requests.take(id: correlationID, replyTo: replyTo) else { throw .notFound }
        complete(pending, with: reply)
    }

    /// Completes `pending` with `reply`, attributed to this owner.
    private func complete(_ pending: PendingRequest, with reply: BusMessage) {
        metrics.messagesOut.increment()
        let delivered = reply.stamped(source: owner, correlationID: pending.id)
        if pending.completesHere(onBusThread: bus.pool.isBusThread) {
            pending.completion(.success(delivered))
        } else {
            bus.pool.submit { pending.completion(.success(delivered)) }
        }
    }

    /// ``request(_:timeout:anyThread:abiTarget:completion:)`` for a request given through the C
    /// ABI (`request`, `request_v2`): a plain one (no content type, no headers, a payload of at
    /// most 64 KiB) to a responder with a lane goes into the lane as a request record, with no
    /// ``BusMessage`` made of it; any other is copied into one and goes the usual way.
    /// - Parameter abi: A request that ``BusMessage/isWellFormed(abi:)`` with a non-empty topic.
    func request(
        abi: UnsafePointer<jamey_message>, timeout: Duration?, anyThread: Bool, abiTarget: ABIReplyTarget,
        completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) {
        if case .failed(let failure) = try startRequest(
            abi: abi, timeout: timeout, anyThread: anyThread, abiTarget: abiTarget, completion: completion)
        {
            bus.requests.fail(completion, with: failure)
        }
    }

    private func startRequest(
        abi: UnsafePointer<jamey_message>, timeout: Duration?, anyThread: Bool, abiTarget: ABIReplyTarget,
        completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) -> RequestStart {
        let m = abi.pointee
        if let topic = m.topic, m.content_type == nil, m.header_count == 0, m.payload_len >= 0,
            m.payload_len <= Self.laneRequestLimit
        {
            guard bus.isAccepting else { throw .shutdown }
            let topicLength = strlen(topic)
            if let entry = try compactRoute(topic, length: topicLength), entry.split == nil {
                metrics.messagesOut.increment()
                guard let responder = entry.nextResponder() else { return .failed(.noResponders) }
                guard let lane = responder.lane, !responder.isDirect else {
                    return try send(
                        BusMessage(abi: abi)!, to: responder, timeout: timeout, anyThread: anyThread, abiTarget: abiTarget,
                        completion: completion)
                }
                let pending = try register(
                    timeout: timeout, anyThread: anyThread, abiTarget: abiTarget, completion: completion)
                let outcome = lane.appendRequest(
                    topic: UnsafeRawPointer(topic), topicLength: topicLength,
                    payload: UnsafeRawBufferPointer(start: m.payload, count: m.payload_len), source: ownerCString,
                    correlationID: pending.id)
                return requestOffered(outcome, pending: pending, responder: responder)
            }
        }
        return try startRequest(
            BusMessage(abi: abi)!, timeout: timeout, anyThread: anyThread, abiTarget: abiTarget, completion: completion)
    }

    /// The largest payload of a request put into a lane as C bytes.
    static let laneRequestLimit = 64 * 1024

    /// What becomes of a request offered to `responder` (a direct responder that refused it is
    /// `.closed`): a refused one is taken back and fails.
    private func requestOffered(_ outcome: Lane.Append, pending: PendingRequest, responder: Subscription) -> RequestStart {
        switch outcome {
        case .queued(let schedule):
            if schedule { bus.pool.schedule(responder) }
            return .sent(pending)
        case .full:
            // If the request is no longer pending, shutdown already failed it: report nothing twice.
            return bus.requests.take(id: pending.id) != nil ? .failed(.queueFull) : .sent(pending)
        case .closed:
            return bus.requests.take(id: pending.id) != nil ? .failed(.noResponders) : .sent(pending)
        }
    }

    /// Answers a request with a reply given through the C ABI (the host's `reply`). When the
    /// requester came through the C ABI too and takes its completion on this thread, the reply is
    /// handed to its reply function as it lies — attributed to this owner, with the request's
    /// correlation id — with no ``BusMessage`` made of it and laid out again; otherwise it is
    /// copied into one and answered as ``reply(to:correlationID:_:)`` does.
    /// - Parameter abi: A reply that ``BusMessage/isWellFormed(abi:)``.
    /// - Throws: ``BusError/notFound`` when the requester is gone.
    func reply(to replyTo: UnsafePointer<CChar>, correlationID: UInt64, abi: UnsafePointer<jamey_message>) throws(BusError) {
        guard RequestTimer.isReplyAddress(replyTo) else { throw .notFound }
        guard let pending = bus.requests.take(id: correlationID) else { throw .notFound }
        if let target = pending.abiTarget,
            pending.completesHere(onBusThread: bus.pool.isBusThread)
        {
            metrics.messagesOut.increment()
            var m = abi.pointee
            m.struct_size = UInt32(MemoryLayout<jamey_message>.size)
            m.source = ownerCString
            m.correlation_id = correlationID
            m.reply_to = nil
            if m.topic == nil || m.topic.pointee == 0 { m.topic = RequestTimer.replyAddressCString }
            CrashContext.running(plugin: target.label, what: CrashContext.requestCompletion) {
                target.done(target.context, JAMEY_OK, &m)
            }
            return
        }
        var response = BusMessage(abi: abi, requireTopic: false)!
        if response.topic.isEmpty { response.topic = RequestTimer.replyAddress }
        complete(pending, with: response)
    }

    /// How ``startRequest(_:timeout:completion:)`` went.
    enum RequestStart {
        /// The request is queued for a responder; the completion will be called exactly once.
        case sent(PendingRequest)
        /// The request could not be sent (``BusError/noResponders``, ``BusError/queueFull``); the
        /// completion will not be called.
        case failed(BusError)
    }

    /// Routes and enqueues a request.
    /// - Throws: ``BusError/invalidTopic(_:)`` or ``BusError/shutdown``; the completion will not be
    ///   called.
    func startRequest(
        _ message: BusMessage, timeout: Duration?, anyThread: Bool = false, abiTarget: ABIReplyTarget? = nil,
        completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) -> RequestStart {
        var abiTarget = abiTarget
        guard bus.isAccepting else { throw .shutdown }
        let entry = try route(message.topic)
        metrics.messagesOut.increment()
        var completion = completion
        let responder: Subscription
        if entry.split == nil {
            guard let only = entry.nextResponder() else { return .failed(.noResponders) }
            responder = only
        } else {
            guard let (chosen, side) = entry.nextResponder(for: message) else { return .failed(.noResponders) }
            responder = chosen
            if let side, let split = entry.split {
                // Figures per side of a canary: outcome and latency of each request, so every
                // reply goes through the completion.
                abiTarget = nil
                let started = ContinuousClock.now
                let inner = completion
                completion = { result in
                    let failed: Bool
                    switch result {
                    case .failure: failed = true
                    case .success(let reply):
                        failed = reply.headers.last { $0.key == "status" }.flatMap { Int($0.value) }.map { $0 >= 500 } ?? false
                    }
                    split.record(side, duration: ContinuousClock.now - started, failed: failed)
                    inner(result)
                }
            }
        }
        return try send(
            message, to: responder, timeout: timeout, anyThread: anyThread, abiTarget: abiTarget, completion: completion)
    }

    /// Registers a request and enqueues it for `responder` (or calls it, when direct).
    private func send(
        _ message: BusMessage, to responder: Subscription, timeout: Duration?, anyThread: Bool,
        abiTarget: ABIReplyTarget?, completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) -> RequestStart {
        let pending = try register(timeout: timeout, anyThread: anyThread, abiTarget: abiTarget, completion: completion)
        let delivered = message.stamped(source: owner, replyTo: pending.replyTo, correlationID: pending.id)
        if responder.isDirect {
            if responder.callDirect(delivered, requests: bus.requests) { return .sent(pending) }
            return requestOffered(.closed, pending: pending, responder: responder)
        }
        let outcome: Lane.Append
        switch responder.offer(delivered, isRequest: true) {
        case .queued(let schedule, _, _): outcome = .queued(schedule: schedule)
        case .full: outcome = .full
        case .closed: outcome = .closed
        }
        return requestOffered(outcome, pending: pending, responder: responder)
    }

    /// Registers a request of this endpoint.
    @inline(__always)
    private func register(
        timeout: Duration?, anyThread: Bool, abiTarget: ABIReplyTarget?,
        completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) throws(BusError) -> PendingRequest {
        try bus.requests.register(
            timeoutNanoseconds: timeout.map(MonotonicClock.nanoseconds(of:)) ?? bus.defaultRequestTimeoutNanoseconds,
            metrics: metrics, completesOnAnyThread: anyThread, abiTarget: abiTarget, completion: completion)
    }
}
