import CJameyABI
import JameyReplyWatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The message bus, as seen from a plugin.
///
/// Topics are dotted (`sensors.kitchen.temp`); patterns may use `*` for one segment and a final
/// `>` for the rest. Handlers run on bus worker threads: one subscription's handler never runs
/// concurrently with itself and sees one publisher's messages in order.
public final class PluginBus: Sendable {
    let handle: HostHandle
    private let open = Mutex<[UInt64: Subscription]>([:])
    /// Whether async requests watch for their reply before suspending.
    let replySpin = ReplySpin()

    init(handle: HostHandle) { self.handle = handle }

    /// Requests ``respond(_:handler:)`` is answering now (each in a task of its own, which the
    /// kernel does not see: its handler returned when the task began).
    private let answering = Atomic<Int>(0)

    /// The most requests ``respond(_:handler:)`` answers at once, over all of a plugin's
    /// subscriptions.
    public static let maxAnswering = 1024

    /// Waits until no request taken by ``respond(_:handler:)`` is still being answered, or until
    /// `timeout`; the kit's stop hook calls it before the plugin's `stop`, so an answer in progress
    /// is sent rather than dropped and no handler runs on after `stop`. (The kernel takes the
    /// plugin's subscriptions out of routing first: no new request comes meanwhile.)
    /// - Returns: whether everything was answered in time.
    @discardableResult
    public func waitForAnswers(timeout: Duration) -> Bool {
        let end = ContinuousClock.now + timeout
        while answering.load(ordering: .acquiring) > 0 {
            if ContinuousClock.now >= end { return false }
            usleep(1000)
        }
        return true
    }

    /// Publishes an event to every matching subscription. Never blocks.
    /// - Parameters:
    ///   - topic: concrete topic (no wildcards).
    ///   - message: payload, content type and headers.
    /// - Throws: ``JameyError`` for an invalid topic or a kernel that is shutting down.
    public func publish(_ topic: String, _ message: Outgoing = Outgoing()) throws(JameyError) {
        let handle = self.handle  // two pointers: the closures below capture no reference
        let code =
            message.contentType == nil && message.headers.isEmpty
            ? withPlainABI(topic: topic, payload: message.payload) { handle.api.pointee.publish(handle.host, $0) }
            : message.withABI(topic: topic) { handle.api.pointee.publish(handle.host, $0) }
        guard code == JAMEY_OK else { throw JameyError.bus(code, topic: topic) }
    }

    /// Calls `handler` for each message matching `pattern`, on a bus thread, in order.
    ///
    /// A thrown error is counted by the kernel (`jamey_bus_handler_errors_total`) and the message
    /// is not redelivered.
    /// - Parameters:
    ///   - pattern: topic pattern.
    ///   - capacity: queue bound (nil: the kernel default).
    ///   - dropOldest: on overflow drop the oldest queued message instead of the new one.
    ///   - responder: declare the subscription a responder (`JAMEY_SUBSCRIBE_RESPONDER`): requests
    ///     go to it rather than to passive listeners on the topic. For a handler that answers with
    ///     ``reply(to:_:)`` itself, later if it must (``respond(_:handler:)`` answers for you).
    ///   - eventsOnly: take published events only (`JAMEY_SUBSCRIBE_EVENTS_ONLY`): never given a
    ///     request, even on a topic without a declared responder. For listeners (a monitor, an
    ///     event stream), so they never take requests meant for another plugin.
    ///   - handler: runs for each message; keep it short or hand work off.
    /// - Returns: the subscription; cancel it to stop (the kit cancels what is left at stop).
    @discardableResult
    public func subscribe(
        _ pattern: String, capacity: Int? = nil, dropOldest: Bool = false, responder: Bool = false,
        eventsOnly: Bool = false, handler: @escaping @Sendable (Message) throws -> Void
    ) throws(JameyError) -> Subscription {
        try subscribe(
            pattern, capacity: capacity, dropOldest: dropOldest, responder: responder, direct: false,
            eventsOnly: eventsOnly, handler: handler)
    }

    private func subscribe(
        _ pattern: String, capacity: Int?, dropOldest: Bool, responder: Bool, direct: Bool, eventsOnly: Bool = false,
        handler: @escaping @Sendable (Message) throws -> Void
    ) throws(JameyError) -> Subscription {
        let box = HandlerBox(handler)
        let user = Unmanaged.passRetained(box).toOpaque()
        var options = jamey_subscribe_options()
        options.struct_size = UInt32(MemoryLayout<jamey_subscribe_options>.size)
        options.queue_capacity = UInt32(clamping: capacity ?? 0)
        options.overflow_policy = dropOldest ? JAMEY_OVERFLOW_DROP_OLDEST : JAMEY_OVERFLOW_DROP_NEWEST
        options.flags =
            (responder ? JAMEY_SUBSCRIBE_RESPONDER : 0) | (direct ? JAMEY_SUBSCRIBE_DIRECT : 0)
            | (eventsOnly ? JAMEY_SUBSCRIBE_EVENTS_ONLY : 0)
        var id: UInt64 = 0
        let code = pattern.withCString { p in
            handle.api.pointee.subscribe(handle.host, p, &options, HandlerBox.trampoline, user, &id)
        }
        guard code == JAMEY_OK else {
            Unmanaged<HandlerBox>.fromOpaque(user).release()
            throw JameyError.bus(code, topic: pattern)
        }
        let subscription = Subscription(id: id, bus: self, box: user)
        open.withLock { $0[id] = subscription }
        return subscription
    }

    /// The messages matching `pattern` as an async sequence (buffering up to `capacity`).
    public func messages(_ pattern: String, capacity: Int = 1024) throws(JameyError) -> (
        stream: AsyncStream<Message>, subscription: Subscription
    ) {
        let (stream, continuation) = AsyncStream.makeStream(of: Message.self, bufferingPolicy: .bufferingNewest(capacity))
        let sub = try subscribe(pattern, capacity: capacity) { continuation.yield($0) }
        sub.onCancel { continuation.finish() }
        return (stream, sub)
    }

    /// Sends a request to one responder and awaits its reply.
    /// - Parameters:
    ///   - topic: concrete topic.
    ///   - message: the request.
    ///   - timeout: nil for the kernel default.
    /// - Throws: ``JameyError`` with code `.timeout`, `.noResponders`, `.full`, `.plugin` (the
    ///   responder's handler failed without replying), `.shutdown` or `.invalid`.
    public func request(_ topic: String, _ message: Outgoing = Outgoing(), timeout: Duration? = nil) async throws(JameyError)
        -> Message
    {
        let ms =
            timeout.map {
                UInt32(clamping: max(1, $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000))
            } ?? 0
        let reply = ReplyRendezvous<KitReply>()
        let user = Unmanaged.passRetained(reply).toOpaque()
        // With request_v2 (kernel 1.2+) the reply of a direct responder completes the request on
        // the spot instead of hopping through a bus worker.
        let requestV2 = handle.api.pointee.request_v2
        let code = message.withABI(topic: topic) { m in
            if let requestV2 {
                return requestV2(handle.host, m, ms, JAMEY_REQUEST_DONE_ANY_THREAD, KitReply.trampoline, user)
            }
            return handle.api.pointee.request(handle.host, m, ms, KitReply.trampoline, user)
        }
        guard code == JAMEY_OK else {
            Unmanaged<ReplyRendezvous<KitReply>>.fromOpaque(user).release()
            throw JameyError.bus(code, topic: topic)
        }
        // A reply that comes within a few microseconds is taken without suspending.
        if let early = reply.early(watching: replySpin) { return try early.get(topic: topic) }
        // A cancelled task (a stop cancels what it waits for) does not wait out the timeout: it
        // gets `.shutdown` at once, and the reply, when it comes, is dropped.
        return try await withTaskCancellationHandler {
            await reply.suspend()
        } onCancel: {
            reply.completeIfFirst(.cancelled)
        }.get(topic: topic)
    }

    /// Answers requests matching `pattern` with `handler`'s result. Each request runs in its own
    /// task (so replies may complete out of order), at high priority: a requester is waiting, so
    /// it goes ahead of background work queued on the concurrency pool. A thrown error is replied
    /// as a message with header `status: 500` and the error text, so the requester is never left
    /// to time out.
    ///
    /// At most ``maxAnswering`` requests of the plugin are answered at once; one more is answered
    /// at once with `status: 503` and `Retry-After: 1`. A task each took every request off the bus
    /// queue as it came, so the queue never filled and a responder slower than its callers (a
    /// conscience recording every evaluation in memory) gathered waiting tasks without bound:
    /// 133 MB for 12 000 of them in a soak run.
    @discardableResult
    public func respond(_ pattern: String, handler: @escaping @Sendable (Message) async throws -> Outgoing) throws(JameyError)
        -> Subscription
    {
        try subscribe(pattern, capacity: nil, dropOldest: false, responder: true, direct: false) { [self] request in
            guard request.isRequest else { return }
            guard answering.wrappingAdd(1, ordering: .relaxed).newValue <= Self.maxAnswering else {
                answering.wrappingSubtract(1, ordering: .releasing)
                self.reply(
                    to: request,
                    .text(
                        "\(Self.maxAnswering) requests are being answered already; try again shortly",
                        headers: ["status": "503", "http.header.retry-after": "1"]))
                return
            }
            Task(priority: .high) {
                let reply: Outgoing
                do { reply = try await handler(request) } catch {
                    reply = .text(error.readable, headers: ["status": "500"])
                }
                self.reply(to: request, reply)
                self.answering.wrappingSubtract(1, ordering: .releasing)
            }
        }
    }

    /// Answers requests matching `pattern` inline on the bus thread (lowest latency; keep the
    /// handler short and non-blocking).
    /// - Parameters:
    ///   - pattern: topic pattern.
    ///   - direct: run `handler` on the requester's own thread, inside its request call, with no
    ///     queue (`JAMEY_SUBSCRIBE_DIRECT`): the fastest answer, for handlers that are
    ///     thread-safe (it may run concurrently with itself), short and never block.
    ///   - handler: computes the reply; a thrown error is replied with `status: 500`.
    @discardableResult
    public func respondInline(
        _ pattern: String, direct: Bool = false, handler: @escaping @Sendable (Message) throws -> Outgoing
    ) throws(JameyError) -> Subscription {
        try subscribe(pattern, capacity: nil, dropOldest: false, responder: true, direct: direct) { [self] request in
            guard request.isRequest else { return }
            let reply: Outgoing
            do { reply = try handler(request) } catch { reply = .text(error.readable, headers: ["status": "500"]) }
            self.reply(to: request, reply)
        }
    }

    /// Replies to a request (at most once; later replies are ignored by the kernel).
    /// - Returns: false when the requester is gone (timed out).
    @discardableResult
    public func reply(to request: Message, _ reply: Outgoing) -> Bool {
        guard let replyTo = request.replyTo else { return false }
        return replyTo.withCString { replyC in
            var req = jamey_message()
            req.struct_size = UInt32(MemoryLayout<jamey_message>.size)
            req.reply_to = replyC
            req.correlation_id = request.correlationID
            return reply.withABI(topic: replyTo) { m in
                withUnsafePointer(to: &req) { handle.api.pointee.reply(handle.host, $0, m) } == JAMEY_OK
            }
        }
    }

    func cancel(_ subscription: Subscription) {
        _ = open.withLock { $0.removeValue(forKey: subscription.id) }
        _ = handle.api.pointee.unsubscribe(handle.host, subscription.id)
    }

    func closeAll() {
        let all = open.withLock { s in
            defer { s.removeAll() }
            return Array(s.values)
        }
        for s in all { s.cancel() }
    }
}

/// An open subscription. Cancel it to stop receiving; cancelling twice is harmless.
public final class Subscription: Sendable {
    /// The kernel's id of the subscription.
    public let id: UInt64
    private let bus: PluginBus
    private let state: Mutex<(box: UnsafeSendablePointer?, onCancel: [@Sendable () -> Void])>

    init(id: UInt64, bus: PluginBus, box: UnsafeMutableRawPointer) {
        self.id = id
        self.bus = bus
        self.state = Mutex((UnsafeSendablePointer(box), []))
    }

    func onCancel(_ body: @escaping @Sendable () -> Void) { state.withLock { $0.onCancel.append(body) } }

    /// Stops delivery. When it returns the handler is not running (unless called from inside it).
    public func cancel() {
        let (box, callbacks) = state.withLock { s in
            defer { s = (nil, []) }
            return (s.box, s.onCancel)
        }
        guard let box else { return }
        // Once the kernel's unsubscribe returns, whatever its answer, the handler is not running
        // and will not run again (plugin.h). Earlier kernels answered "unknown" at once for a
        // subscription they were retiring at stop while its handler could still run, and the
        // box freed here was then used after its release.
        bus.cancel(self)
        Unmanaged<HandlerBox>.fromOpaque(box.pointer).release()
        callbacks.forEach { $0() }
    }
}

struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ p: UnsafeMutableRawPointer) { pointer = p }
}

/// Holds a subscription's Swift handler behind the C `user_data` pointer.
final class HandlerBox: Sendable {
    let handler: @Sendable (Message) throws -> Void
    init(_ handler: @escaping @Sendable (Message) throws -> Void) { self.handler = handler }

    static let trampoline: jamey_message_handler_fn = { user, message in
        guard let user, let message else { return JAMEY_E_INVALID }
        let box = Unmanaged<HandlerBox>.fromOpaque(user).takeUnretainedValue()
        do {
            try box.handler(Message(message))
            return JAMEY_OK
        } catch {
            return JAMEY_E_PLUGIN
        }
    }
}

/// What a request's completion hands its task: the reply, or the kernel's status code (made a
/// ``JameyError`` naming the topic by the task, so the completion carries no topic).
enum KitReply: Sendable {
    case reply(Message)
    case failed(Int32)
    /// The task waiting for the reply was cancelled first.
    case cancelled

    func get(topic: String) throws(JameyError) -> Message {
        switch self {
        case .reply(let message): return message
        case .failed(let status): throw JameyError.bus(status, topic: topic)
        case .cancelled:
            throw JameyError(.shutdown, "request to '\(topic)' abandoned: the task waiting for it was cancelled")
        }
    }

    /// The `jamey_reply_fn` of the kit's requests; `user` is a retained `ReplyRendezvous<KitReply>`.
    static let trampoline: jamey_reply_fn = { user, status, reply in
        guard let user else { return }
        let rendezvous = Unmanaged<ReplyRendezvous<KitReply>>.fromOpaque(user).takeRetainedValue()
        // If first: the task may have been cancelled (and have gone on) before the reply came.
        if status == JAMEY_OK, let reply {
            rendezvous.completeIfFirst(.reply(Message(reply)))
        } else {
            rendezvous.completeIfFirst(.failed(status == JAMEY_OK ? JAMEY_E_INVALID : status))
        }
    }
}
