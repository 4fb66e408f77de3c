import HTTPTypes
import NIOCore

/// Closes the connection once a response that says `Connection: close` has been written.
///
/// Hummingbird keeps a connection open whatever the response says, and before reading the next
/// request it reads and discards the rest of the current body. A 413 sent from `Content-Length`
/// alone would therefore still take in every byte of the body it refused; closing after the
/// response is what the header promises the client, and stops the upload.
///
/// Sits behind the HTTP decoder; all methods run on the connection's event loop.
final class CloseAfterResponseHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePartAlias
    typealias OutboundOut = HTTPResponsePartAlias

    /// Whether the response being written asked for the connection to close.
    private var closing = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            closing = head.headerFields[.connection]?.lowercased() == "close"
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closing else { return context.write(data, promise: promise) }
            closing = false
            let written = promise ?? context.eventLoop.makePromise()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in loopBound.value.close(promise: nil) }
            context.write(data, promise: written)
        }
    }
}
