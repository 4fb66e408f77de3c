/// Tunables of a ``MessageBus``.
public struct BusConfiguration: Sendable, Hashable {
    /// Mailbox capacity of a subscription that does not ask for one (`bus.queue_capacity`).
    public var defaultQueueCapacity: Int = 1024
    /// Deadline of a request that does not give one (`bus.request_timeout_ms`).
    public var defaultRequestTimeout: Duration = .seconds(5)
    /// Number of worker threads that run handlers; `0` means the number of active processors,
    /// and never fewer than 2.
    public var workerCount: Int = 0
    /// Most messages a worker hands one subscription's handler before moving on to the next
    /// scheduled subscription (fairness versus locking cost).
    public var deliveryBatchSize: Int = 64

    /// Creates a configuration.
    /// - Parameters:
    ///   - defaultQueueCapacity: Mailbox capacity for subscriptions that give none (at least 1).
    ///   - defaultRequestTimeout: Timeout for requests that give none.
    ///   - workerCount: Worker threads; `0` for one per active processor, at least 2.
    ///   - deliveryBatchSize: Messages per subscription per worker turn (at least 1).
    public init(
        defaultQueueCapacity: Int = 1024,
        defaultRequestTimeout: Duration = .seconds(5),
        workerCount: Int = 0,
        deliveryBatchSize: Int = 64
    ) {
        self.defaultQueueCapacity = defaultQueueCapacity
        self.defaultRequestTimeout = defaultRequestTimeout
        self.workerCount = workerCount
        self.deliveryBatchSize = deliveryBatchSize
    }
}
