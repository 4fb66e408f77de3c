/// One unit of work on the worker pool's run queue.
enum BusJob: Sendable {
    /// Deliver a batch from this subscription's mailbox.
    case drain(Subscription)
    /// Run a closure (a reply completion posted from a thread that is not a bus thread).
    case run(@Sendable () -> Void)
}
