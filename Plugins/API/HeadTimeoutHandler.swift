import NIOCore

/// Closes connections whose request head or body does not arrive in time (slow-loris defence).
/// Sits in front of the HTTP decoder, seeing raw bytes: the first byte of a new request starts the
/// head's clock; ``HeadReceivedHandler``, behind the decoder, tells it when the head is complete
/// (the body's clock starts), when the body is complete or a response began (no clock while the
/// request is handled), and when the response has been written (the next request's bytes start
/// the head's clock again). On expiry it answers 408 and closes.
///
/// All methods run on the connection's event loop.
final class HeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case idle, readingHead, readingBody, inRequest }

    private let headTimeout: TimeAmount?
    private let bodyTimeout: TimeAmount?
    private let metrics: RequestMetrics?
    private var state = State.idle
    /// When the phase being timed (head or body) started.
    private var phaseStarted = NIODeadline.uptimeNanoseconds(0)
    /// The one pending check. It is not cancelled when a phase ends: when it fires it re-arms for
    /// the phase then in progress, if any, so a busy connection costs one timer per timeout, not
    /// a schedule and a cancel per request.
    private var timer: Scheduled<Void>?

    /// - Parameters:
    ///   - headTimeout: time from the first byte of a request to the end of its head; nil: none.
    ///   - bodyTimeout: time from the end of a request's head to the end of its body; nil: none.
    ///   - metrics: counts the closes (`api_http_timeouts_total{phase}`).
    init(headTimeout: TimeAmount?, bodyTimeout: TimeAmount? = nil, metrics: RequestMetrics? = nil) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state == .idle {
            state = .readingHead
            phaseStarted = .now()
            if timer == nil, let headTimeout { arm(context: context, at: phaseStarted + headTimeout) }
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// The decoder produced a request head: its body is timed now.
    func headReceived(context: ChannelHandlerContext) {
        guard let bodyTimeout else { return state = .inRequest }
        state = .readingBody
        phaseStarted = .now()
        if timer == nil { arm(context: context, at: phaseStarted + bodyTimeout) }
    }

    /// The request's body is complete, or a response to it began: no clock while it is handled.
    func requestHandled() {
        if state == .readingBody || state == .readingHead { state = .inRequest }
    }

    /// The response to the current request has been written.
    func responseWritten() { state = .idle }

    private func arm(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.fired(context: context)
        }
    }

    private func fired(context: ChannelHandlerContext) {
        timer = nil
        let phase: (name: String, timeout: TimeAmount, detail: String)
        switch (state, headTimeout, bodyTimeout) {
        case (.readingHead, let timeout?, _): phase = ("head", timeout, "the request head did not arrive in time")
        case (.readingBody, _, let timeout?): phase = ("body", timeout, "the request body did not arrive in time")
        default: return
        }
        let deadline = phaseStarted + phase.timeout
        guard NIODeadline.now() >= deadline else { return arm(context: context, at: deadline) }
        metrics?.timedOut(phase.name)
        state = .inRequest
        RawProblem(
            status: 408, title: "Request Timeout", type: phase.name == "head" ? "header-timeout" : "body-timeout",
            detail: phase.detail
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
        case .end: watcher?.handler.requestHandled()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: watcher?.handler.requestHandled()
        case .end: watcher?.handler.responseWritten()
        case .body: break
        }
        context.write(data, promise: promise)
    }
}
