import CJameyABI

/// A request waiting for its reply, owned by the ``RequestTimer``.
///
/// `heapIndex` is only read and written under the timer's lock; everything else is immutable.
final class PendingRequest: @unchecked Sendable {
    /// The correlation id, unique per bus.
    let id: UInt64
    /// The reply address handed to the responder.
    var replyTo: String { RequestTimer.replyAddress }
    /// When the request times out (``MonotonicClock`` nanoseconds).
    let deadline: UInt64
    /// The requester's completion; called exactly once.
    let completion: @Sendable (Result<BusMessage, BusError>) -> Void
    /// The requester's metrics (for timeouts).
    let metrics: BusMetrics
    /// The requester accepts its completion on any thread, including the replier's (so a reply
    /// from a direct responder completes the request without a thread hop).
    let completesOnAnyThread: Bool

    /// Whether a reply (or failure) may complete this request on the calling thread: the
    /// completion runs anywhere, or the caller is a bus thread outside a request call (a plain
    /// C `done` never runs inside the request that made it). Otherwise a bus worker runs it.
    /// - Parameter onBusThread: whether the calling thread is one of the bus's.
    @inline(__always)
    func completesHere(onBusThread: Bool) -> Bool {
        completesOnAnyThread || (onBusThread && !KernelThread.isInsideRequestCall)
    }
    /// A requester through the C ABI: where a reply given through the C ABI too is handed over
    /// as it lies (``BusEndpoint/reply(to:correlationID:abi:)``), with no ``BusMessage`` made of
    /// it and laid out again. Failures still go through ``completion``.
    let abiTarget: ABIReplyTarget?
    /// Position in the deadline heap; -1 when not in it.
    var heapIndex = -1

    init(
        id: UInt64, deadline: UInt64, metrics: BusMetrics, completesOnAnyThread: Bool = false,
        abiTarget: ABIReplyTarget? = nil, completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) {
        self.abiTarget = abiTarget
        self.completesOnAnyThread = completesOnAnyThread
        self.id = id
        self.deadline = deadline
        self.metrics = metrics
        self.completion = completion
    }
}

/// A C requester's reply function (`request`/`request_v2`), its user data and its plugin's crash
/// label.
struct ABIReplyTarget: @unchecked Sendable {
    let done: jamey_reply_fn
    let context: UnsafeMutableRawPointer?
    let label: UnsafePointer<CChar>
}
