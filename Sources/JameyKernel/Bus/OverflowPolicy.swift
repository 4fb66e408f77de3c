/// What a subscription's full mailbox does with one more message.
///
/// Either way the drop is counted in the subscription's drop count and in
/// `jamey_bus_dropped_total{plugin}`, and the publisher's call still succeeds. A *request* is
/// never admitted into a full mailbox: it fails with ``BusError/queueFull`` whatever the policy.
public enum OverflowPolicy: Sendable, Hashable {
    /// Drop the arriving message.
    case dropNewest
    /// Evict the oldest queued message to make room for the arriving one. An evicted request
    /// fails at once with ``BusError/queueFull``.
    case dropOldest
}
