import NIOCore

/// Closes connections whose request head does not arrive in time (slow-loris defence). Sits in
/// front of the HTTP decoder, seeing raw bytes: the first byte of a new request arms a timer;
/// ``HeadReceivedHandler``, behind the decoder, disarms it when the head is complete and re-opens
/// the watch when the response has been written. On expiry it answers 408 and closes.
///
/// All methods run on the connection's event loop.
final class HeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State { case idle, readingHead, inRequest }

    private let timeout: TimeAmount
    private var state = State.idle
    /// When the head being read started to arrive.
    private var headStarted = NIODeadline.uptimeNanoseconds(0)
    /// The one pending check. It is not cancelled when a head completes: when it fires it
    /// re-arms for the head then in progress, if any, so a busy connection costs one timer per
    /// `timeout`, not a schedule and a cancel per request.
    private var timer: Scheduled<Void>?

    /// - Parameter timeout: time from the first byte of a request to the end of its head.
    init(timeout: TimeAmount) { self.timeout = timeout }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state == .idle {
            state = .readingHead
            headStarted = .now()
            if timer == nil { arm(context: context, at: headStarted + timeout) }
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// The decoder produced a request head.
    func headReceived() { state = .inRequest }

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
        guard state == .readingHead else { return }
        let deadline = headStarted + timeout
        guard NIODeadline.now() >= deadline else { return arm(context: context, at: deadline) }
        let body =
            #"{"type":"urn:jamey:problem:header-timeout","title":"Request Timeout","status":408,"detail":"the request head did not arrive in time"}"#
        let text =
            "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\nconnection: close\r\ncontent-length: \(body.utf8.count)\r\n\r\n"
            + body
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}

/// The half of ``HeadTimeoutHandler`` that sits behind the HTTP decoder and tells it when a
/// request head arrived and when its response was written.
final class HeadReceivedHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPartAlias
    typealias InboundOut = HTTPRequestPartAlias
    typealias OutboundIn = HTTPResponsePartAlias
    typealias OutboundOut = HTTPResponsePartAlias

    private var watcher: HeadTimeoutHandler?

    func handlerAdded(context: ChannelHandlerContext) {
        watcher = try? context.pipeline.syncOperations.handler(type: HeadTimeoutHandler.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { watcher?.headReceived() }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { watcher?.responseWritten() }
        context.write(data, promise: promise)
    }
}
