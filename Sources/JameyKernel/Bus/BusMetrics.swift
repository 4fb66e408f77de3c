import Metrics
import Synchronization

/// A swift-metrics counter that also keeps its total, so the kernel can hand the figure to
/// plugins as a number (`jamey_plugin_figures`) instead of text to parse back.
final class FigureCounter: Sendable {
    private let counter: Counter
    /// The kernel's own counter behind ``counter``, when that is the backend: it is the total,
    /// added to directly.
    /// Kept alive by ``counter``; reached unretained on the hot path.
    private let fast: Unmanaged<FastCounter>?
    private let total = Atomic<UInt64>(0)

    init(label: String, dimensions: [(String, String)], factory: any MetricsFactory) {
        let handler = factory.makeCounter(label: label, dimensions: dimensions)
        counter = Counter(label: label, dimensions: dimensions, handler: handler, factory: factory)
        fast = (handler as? FastCounter).map { .passUnretained($0) }
    }

    /// Adds one.
    @inline(__always)
    func increment() { increment(by: 1) }

    /// Adds `amount`.
    @inline(__always)
    func increment(by amount: Int) {
        if let fast {
            fast._withUnsafeGuaranteedRef { $0.increment(by: Int64(amount)) }
            return
        }
        counter.increment(by: amount)
        total.add(UInt64(truncatingIfNeeded: amount), ordering: .relaxed)
    }

    /// The total since the process started.
    var value: UInt64 { fast?._withUnsafeGuaranteedRef { $0.value } ?? total.load(ordering: .relaxed) }
}

/// A swift-metrics timer that also keeps the sum of what it recorded, in nanoseconds.
final class FigureTimer: Sendable {
    private let timer: CoreMetrics.Timer
    /// The kernel's own histogram behind ``timer``, when that is the backend: it takes a batch.
    private let fast: FastHistogram?
    private let sum = Atomic<UInt64>(0)

    init(label: String, dimensions: [(String, String)], factory: any MetricsFactory) {
        let handler = factory.makeTimer(label: label, dimensions: dimensions)
        timer = CoreMetrics.Timer(label: label, dimensions: dimensions, handler: handler, factory: factory)
        fast = handler as? FastHistogram
    }

    /// Records several durations, as many ``recordNanoseconds(_:)`` calls would.
    @inline(__always)
    func recordNanoseconds(_ durations: UnsafeBufferPointer<Int64>) {
        var total: UInt64 = 0
        for duration in durations { total &+= UInt64(clamping: max(duration, 0)) }
        sum.add(total, ordering: .relaxed)
        if let fast {
            fast.recordNanoseconds(durations)
        } else {
            for duration in durations { timer.recordNanoseconds(duration) }
        }
    }

    /// Records one duration.
    @inline(__always)
    func recordNanoseconds(_ nanoseconds: Int64) {
        timer.recordNanoseconds(nanoseconds)
        sum.add(UInt64(clamping: max(nanoseconds, 0)), ordering: .relaxed)
    }

    /// The sum of every recorded duration, in seconds.
    var seconds: Double { Double(sum.load(ordering: .relaxed)) / 1e9 }
}

/// The bus metrics of one owner (plugin or `"kernel"`), all labelled `plugin=<owner>`.
///
/// Created once per endpoint and shared by that endpoint's subscriptions and requests, so the hot
/// path only increments existing handlers.
final class BusMetrics: Sendable {
    /// `jamey_bus_messages_out_total`: publishes, requests and replies sent by the owner.
    let messagesOut: FigureCounter
    /// ``messagesOut``, unretained (for the compact publish path).
    let messagesOutCounter: Unmanaged<FigureCounter>
    /// `jamey_bus_messages_in_total`: handler invocations on the owner's subscriptions.
    let messagesIn: FigureCounter
    /// `jamey_bus_handler_duration_seconds`: run time of each handler invocation.
    let handlerDuration: FigureTimer
    /// `jamey_bus_handler_errors_total`: handler invocations that returned `false`.
    let handlerErrors: FigureCounter
    /// `jamey_bus_dropped_total`: messages dropped by the owner's full mailboxes.
    let dropped: FigureCounter
    /// `jamey_bus_request_timeouts_total`: the owner's requests that timed out.
    let requestTimeouts: FigureCounter

    /// Creates (or, in backends that deduplicate, finds) the owner's metrics.
    /// - Parameters:
    ///   - owner: The `plugin` dimension.
    ///   - factory: The metrics backend.
    init(owner: String, factory: any MetricsFactory) {
        let dimensions = [("plugin", owner)]
        messagesOut = FigureCounter(label: "jamey_bus_messages_out_total", dimensions: dimensions, factory: factory)
        messagesOutCounter = .passUnretained(messagesOut)
        messagesIn = FigureCounter(label: "jamey_bus_messages_in_total", dimensions: dimensions, factory: factory)
        handlerDuration = FigureTimer(
            label: "jamey_bus_handler_duration_seconds", dimensions: dimensions, factory: factory)
        handlerErrors = FigureCounter(label: "jamey_bus_handler_errors_total", dimensions: dimensions, factory: factory)
        dropped = FigureCounter(label: "jamey_bus_dropped_total", dimensions: dimensions, factory: factory)
        requestTimeouts = FigureCounter(
            label: "jamey_bus_request_timeouts_total", dimensions: dimensions, factory: factory)
    }
}
