import NIOCore

/// Tells what outlives a request on a connection (an event stream) that the client has gone:
/// ``gone`` succeeds when the client closes its side (the server keeps half-closed connections
/// open, so a departed client was otherwise noticed only by the next write that failed) or the
/// connection closes. A request already read is still answered; only a stream ends early.
final class PeerGoneHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    /// Succeeds once the client has gone; never fails.
    let gone: EventLoopPromise<Void>

    init(eventLoop: any EventLoop) { gone = eventLoop.makePromise() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { gone.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        gone.succeed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { gone.succeed() }

    /// What ``gone`` of `channel`'s handler will say; a future that never completes when the
    /// channel has no such handler.
    static func gone(on channel: any Channel) -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.pipeline.handler(type: PeerGoneHandler.self).whenComplete { found in
            switch found {
            case .success(let handler): handler.gone.futureResult.cascade(to: promise)
            case .failure: channel.closeFuture.whenComplete { _ in promise.succeed() }
            }
        }
        return promise.futureResult
    }
}
