import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1 child channel with ``HeadTimeoutHandler`` in front of the decoder (and,
/// with TLS, behind the TLS handler, so it sees plaintext).
struct HeadTimeoutChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    /// The wrapped channel (its configuration carries ``HeadReceivedHandler``).
    let base: HTTP1Channel
    /// Time allowed from the first byte of a request to the end of its head.
    let timeout: TimeAmount

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(HeadTimeoutHandler(timeout: timeout))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
