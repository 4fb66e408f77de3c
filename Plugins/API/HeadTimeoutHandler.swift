import NIOCore

/// Closes connections whose request head or body does not arrive in time (slow-loris defence).
/// Sits in front of the HTTP decoder, seeing raw bytes: a new connection starts the head's clock
/// (one that sends nothing, or never finishes a TLS handshake, is closed when it runs out, without
/// an answer: it held its place for the 60 s idle timeout), as does the first byte of each later
/// request; ``HeadReceivedHandler``, behind the decoder, tells it when the head is complete
/// (the body's clock starts), when the body is complete or a response began (no clock while the
/// request is handled), and when the response has been written (the next request's bytes start
/// the head's clock again). A body's deadline moves one second later for every
/// ``bodyBytesPerSecond`` bytes of body the decoder produces, so a body sent at that rate or
/// faster is never cut off, however large, while a trickle is. Only the body counts, not the
/// bytes that frame it: counted raw, chunk extensions (which the decoder drops, unbounded) bought
/// a second per kilobyte, and 2 MB of them kept a connection open for half an hour with no body.
/// On expiry it answers 408 and closes.
///
/// All methods run on the connection's event loop.
final class HeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case idle, readingHead, readingBody, inRequest }

    /// The slowest body that is never cut off: each this many bytes add a second to its deadline.
    static let bodyBytesPerSecond: Int64 = 1000

    private let headTimeout: TimeAmount?
    private let bodyTimeout: TimeAmount?
    private let metrics: RequestMetrics?
    /// Told when the connection starts and stops answering a request (idle connections make
    /// room near the total cap).
    private let limits: ConnectionLimits?
    private var state = State.idle
    /// Whether any byte has arrived on the connection.
    private var heardFrom = false
    /// When the phase being timed (head or body) started.
    private var phaseStarted = NIODeadline.uptimeNanoseconds(0)
    /// Body bytes decoded while the body was timed.
    private var bodyBytes: Int64 = 0
    /// The one pending check, and when it fires. It is not cancelled when a phase ends: when it
    /// fires it re-arms for the phase then in progress, if any, so a busy connection costs one
    /// timer per timeout, not a schedule and a cancel per request; a phase whose deadline is
    /// earlier than the pending one moves it.
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?

    /// - Parameters:
    ///   - headTimeout: time from the first byte of a request to the end of its head; nil: none.
    ///   - bodyTimeout: time from the end of a request's head to the end of its body (plus a
    ///     second per ``bodyBytesPerSecond`` bytes received); nil: none.
    ///   - metrics: counts the closes (`api_http_timeouts_total{phase}`).
    init(
        headTimeout: TimeAmount?, bodyTimeout: TimeAmount? = nil, metrics: RequestMetrics? = nil, limits: ConnectionLimits? = nil
    ) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.metrics = metrics
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { connected(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        connected(context: context)
        context.fireChannelActive()
    }

    /// The connection is open: the first request's head is timed from now.
    private func connected(context: ChannelHandlerContext) {
        guard state == .idle, !heardFrom, let headTimeout else { return }
        state = .readingHead
        phaseStarted = .now()
        arm(context: context, at: phaseStarted + headTimeout)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        heardFrom = true
        switch state {
        case .idle:
            state = .readingHead
            phaseStarted = .now()
            if let headTimeout { arm(context: context, at: phaseStarted + headTimeout) }
        case .readingHead, .readingBody, .inRequest:
            break
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.task.cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// The decoder produced a request head: its body is timed now.
    func headReceived(context: ChannelHandlerContext) {
        limits?.setIdle(context.channel, false)
        guard let bodyTimeout else { return state = .inRequest }
        state = .readingBody
        phaseStarted = .now()
        bodyBytes = 0
        arm(context: context, at: phaseStarted + bodyTimeout)
    }

    /// The decoder produced `count` bytes of a request's body.
    func bodyArrived(_ count: Int) {
        if state == .readingBody { bodyBytes += Int64(count) }
    }

    /// The decoder produced the end of a request's body.
    func bodyReceived() {
        switch state {
        case .readingBody: state = .inRequest
        // The rest of a body answered early (a 413, a 401) arrived after its response: the
        // connection is idle again, not reading a head.
        case .readingHead: state = .idle
        case .idle, .inRequest: break
        }
    }

    /// A response to the current request began: no clock while it is written.
    func responseStarted() {
        if state == .readingBody { state = .inRequest }
    }

    /// The response to the current request has been written.
    func responseWritten(context: ChannelHandlerContext) {
        state = .idle
        limits?.setIdle(context.channel, true)
    }

    /// The deadline of the phase in progress, or nil when none is timed.
    private var deadline: (phase: String, at: NIODeadline)? {
        switch (state, headTimeout, bodyTimeout) {
        case (.readingHead, let timeout?, _): return ("head", phaseStarted + timeout)
        case (.readingBody, _, let timeout?):
            let allowance = TimeAmount.seconds(bodyBytes / Self.bodyBytesPerSecond)
            return ("body", phaseStarted + timeout + allowance)
        default: return nil
        }
    }

    /// Makes sure a check runs by `deadline` (one timer: an earlier deadline replaces it).
    private func arm(context: ChannelHandlerContext, at deadline: NIODeadline) {
        if let timer, timer.at <= deadline { return }
        timer?.task.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.fired(context: context)
        }
        timer = (task, deadline)
    }

    private func fired(context: ChannelHandlerContext) {
        timer = nil
        guard let (phase, at) = deadline else { return }
        guard NIODeadline.now() >= at else { return arm(context: context, at: at) }
        metrics?.timedOut(phase)
        state = .inRequest
        // Nothing came (not even a TLS handshake): nobody to answer.
        guard heardFrom else { return context.close(promise: nil) }
        RawProblem(
            status: 408, title: "Request Timeout", type: phase == "head" ? "header-timeout" : "body-timeout",
            detail: phase == "head" ? "the request head did not arrive in time" : "the request body did not arrive in time"
        ).writeAndClose(context)
    }
}

/// The half of ``HeadTimeoutHandler`` that sits behind the HTTP decoder and tells it when a
/// request head and body arrived and when its response began and was written.
final class HeadReceivedHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPartAlias
    typealias InboundOut = HTTPRequestPartAlias
    typealias OutboundIn = HTTPResponsePartAlias
    typealias OutboundOut = HTTPResponsePartAlias

    private var watcher: (handler: HeadTimeoutHandler, context: ChannelHandlerContext)?

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        guard let handler = try? pipeline.handler(type: HeadTimeoutHandler.self),
            let watched = try? pipeline.context(handler: handler)
        else { return }
        watcher = (handler, watched)
    }

    func handlerRemoved(context: ChannelHandlerContext) { watcher = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: watcher.map { $0.handler.headReceived(context: $0.context) }
        case .end: watcher?.handler.bodyReceived()
        case .body(let bytes): watcher?.handler.bodyArrived(bytes.readableBytes)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: watcher?.handler.responseStarted()
        case .end: watcher.map { $0.handler.responseWritten(context: $0.context) }
        case .body: break
        }
        context.write(data, promise: promise)
    }
}
