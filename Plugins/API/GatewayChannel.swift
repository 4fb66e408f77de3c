import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 child channel with the gateway's connection guards in front of the
/// decoder (and, with TLS, behind the TLS handler, so they see plaintext):
/// ``RefuseConnectionHandler`` for a client past its connection cap (``ConnectionLimits``),
/// ``WriteStallHandler`` when `limits.write_timeout_ms` is set, and ``HeadTimeoutHandler`` when
/// a head or body timeout is, and ``PeerGoneHandler`` for event streams; and
/// ``MalformedRequestHandler`` right after the decoder.
struct GatewayChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    /// The wrapped channel (its configuration carries ``HeadReceivedHandler`` when a head or
    /// body timeout is set).
    let base: HTTP1Channel
    let connections: ConnectionLimits
    /// Time allowed from the first byte of a request to the end of its head; nil: none.
    let headTimeout: TimeAmount?
    /// Time allowed from the end of a request's head to the end of its body; nil: none.
    let bodyTimeout: TimeAmount?
    /// Time the client may take no response bytes; nil: no limit.
    let writeTimeout: TimeAmount?
    let metrics: RequestMetrics
    /// Told of each request the decoder could not parse (``MalformedRequestHandler``).
    let malformed: @Sendable (_ reason: String, _ client: String) -> Void

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let admitted = connections.admit(channel)
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            let peer = PeerGoneHandler(eventLoop: channel.eventLoop)
            do { try pipeline.addHandler(peer) } catch {
                peer.gone.succeed()
                throw error
            }
            if !admitted { try pipeline.addHandler(RefuseConnectionHandler(perClient: connections.perClient)) }
            if let writeTimeout { try pipeline.addHandler(WriteStallHandler(timeout: writeTimeout, metrics: metrics)) }
            if headTimeout != nil || bodyTimeout != nil {
                try pipeline.addHandler(
                    HeadTimeoutHandler(headTimeout: headTimeout, bodyTimeout: bodyTimeout, metrics: metrics, limits: connections))
            }
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            // Where Hummingbird's pipeline has NIO's request decoder (it always has today); a
            // pipeline without one serves on, uncounted, rather than refuse every connection.
            let pipeline = channel.pipeline.syncOperations
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
                try pipeline.addHandler(MalformedRequestHandler(report: malformed), position: .after(decoder))
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
