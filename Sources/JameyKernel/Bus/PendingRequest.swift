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
    /// Position in the deadline heap; -1 when not in it.
    var heapIndex = -1

    init(
        id: UInt64, deadline: UInt64, metrics: BusMetrics, completesOnAnyThread: Bool = false,
        completion: @escaping @Sendable (Result<BusMessage, BusError>) -> Void
    ) {
        self.completesOnAnyThread = completesOnAnyThread
        self.id = id
        self.deadline = deadline
        self.metrics = metrics
        self.completion = completion
    }
}
