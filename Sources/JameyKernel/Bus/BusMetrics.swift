import Metrics

/// The bus metrics of one owner (plugin or `"kernel"`), all labelled `plugin=<owner>`.
///
/// Created once per endpoint and shared by that endpoint's subscriptions and requests, so the hot
/// path only increments existing handlers.
final class BusMetrics: Sendable {
    /// `jamey_bus_messages_out_total`: publishes, requests and replies sent by the owner.
    let messagesOut: Counter
    /// `jamey_bus_messages_in_total`: handler invocations on the owner's subscriptions.
    let messagesIn: Counter
    /// `jamey_bus_handler_duration_seconds`: run time of each handler invocation.
    let handlerDuration: CoreMetrics.Timer
    /// `jamey_bus_handler_errors_total`: handler invocations that returned `false`.
    let handlerErrors: Counter
    /// `jamey_bus_dropped_total`: messages dropped by the owner's full mailboxes.
    let dropped: Counter
    /// `jamey_bus_request_timeouts_total`: the owner's requests that timed out.
    let requestTimeouts: Counter

    /// Creates (or, in backends that deduplicate, finds) the owner's metrics.
    /// - Parameters:
    ///   - owner: The `plugin` dimension.
    ///   - factory: The metrics backend.
    init(owner: String, factory: any MetricsFactory) {
        let dimensions = [("plugin", owner)]
        messagesOut = Counter(label: "jamey_bus_messages_out_total", dimensions: dimensions, factory: factory)
        messagesIn = Counter(label: "jamey_bus_messages_in_total", dimensions: dimensions, factory: factory)
        handlerDuration = CoreMetrics.Timer(
            label: "jamey_bus_handler_duration_seconds", dimensions: dimensions, factory: factory)
        handlerErrors = Counter(label: "jamey_bus_handler_errors_total", dimensions: dimensions, factory: factory)
        dropped = Counter(label: "jamey_bus_dropped_total", dimensions: dimensions, factory: factory)
        requestTimeouts = Counter(
            label: "jamey_bus_request_timeouts_total", dimensions: dimensions, factory: factory)
    }
}
