import APICore
import Dispatch
import NIOCore
import Synchronization

/// The gateway's open connections, counted per client address (an IPv6 one by its /64) so one
/// client cannot hold them all (`limits.max_connections_per_client`). The peer's address is the client here: a request
/// has not been read yet, so `X-Forwarded-For` is not known, and trusted proxies (which carry
/// many clients' connections) are not capped. The total is capped by Hummingbird's
/// `MaximumAvailableConnections` (`limits.max_connections`), which stops accepting at the cap; so
/// that a crowd of idle connections cannot hold every place (sixteen addresses each under its own
/// cap took all 4 096, and `/healthz` timed out for everyone else), a connection admitted when
/// fewer than ``headroom`` places are left closes the connection idle longest: one that is
/// answering no request (``HeadTimeoutHandler`` says which; a request being read or answered, an
/// event stream included, is never cut).
///
/// Thread-safe.
final class ConnectionLimits: Sendable {
    /// The most connections one address may hold; 0: no cap.
    let perClient: Int
    /// The cap on all connections (`limits.max_connections`); 0: none.
    let total: Int
    /// Places kept free by closing idle connections.
    let headroom: Int
    private let exempt: Set<String>
    private let metrics: RequestMetrics
    private let open = Mutex<[String: Int]>([:])
    /// Every admitted connection, and since when it is idle (nil: a request is being answered).
    private let tracked = Mutex<[ObjectIdentifier: (channel: any Channel, idleSince: UInt64?)]>([:])

    /// - Parameters:
    ///   - perClient: the cap; 0 for none.
    ///   - total: the cap on all connections; 0 for none.
    ///   - exempt: peer addresses not capped (trusted proxies, canonical form).
    ///   - metrics: where the gauge and the refusals are counted.
    init(perClient: Int, total: Int = 0, exempt: Set<String>, metrics: RequestMetrics) {
        self.perClient = perClient
        self.total = total
        self.headroom = total > 0 ? max(1, total / 64) : 0
        self.exempt = exempt
        self.metrics = metrics
    }

    /// Notes whether `channel` is answering a request (not idle) or idle from now.
    func setIdle(_ channel: any Channel, _ idle: Bool) {
        guard total > 0 else { return }
        let now = idle ? DispatchTime.now().uptimeNanoseconds : nil
        tracked.withLock { table in
            guard table[ObjectIdentifier(channel)] != nil else { return }
            table[ObjectIdentifier(channel)]?.idleSince = now
        }
    }

    /// Closes the connection idle longest when fewer than ``headroom`` places are left.
    private func makeRoom(for newcomer: any Channel) {
        let victim = tracked.withLock { table -> (any Channel)? in
            guard table.count >= total - headroom else { return nil }
            var oldest: (id: ObjectIdentifier, channel: any Channel, since: UInt64)?
            for (id, entry) in table where id != ObjectIdentifier(newcomer) {
                guard let since = entry.idleSince else { continue }
                if oldest.map({ since < $0.since }) ?? true { oldest = (id, entry.channel, since) }
            }
            guard let oldest else { return nil }
            // Out of the table at once, so the next newcomer picks another.
            table[oldest.id] = nil
            return oldest.channel
        }
        guard let victim else { return }
        metrics.evictedConnection()
        victim.close(promise: nil)
    }

    /// Counts a new connection of `channel`, and uncounts it when it closes.
    /// - Returns: false when its client already holds ``perClient`` connections (it is not
    ///   counted: the caller refuses it).
    func admit(_ channel: any Channel) -> Bool {
        let peer = channel.remoteAddress?.clientAddress ?? "unknown"
        let capped = perClient > 0 && !exempt.contains(peer)
        // An IPv6 client by its /64, as the rate limiter counts it.
        let client = RateLimiter.clientIdentity(peer)
        let admitted = open.withLock { table -> Bool in
            let held = table[client, default: 0]
            if capped, held >= perClient { return false }
            table[client] = held + 1
            return true
        }
        guard admitted else {
            metrics.refusedConnection()
            return false
        }
        metrics.connections(1)
        if total > 0 {
            let now = DispatchTime.now().uptimeNanoseconds
            tracked.withLock { $0[ObjectIdentifier(channel)] = (channel, now) }
            makeRoom(for: channel)
        }
        channel.closeFuture.whenComplete { [self] _ in
            metrics.connections(-1)
            open.withLock { table in
                let held = table[client, default: 1] - 1
                table[client] = held > 0 ? held : nil
            }
            if total > 0 { tracked.withLock { $0[ObjectIdentifier(channel)] = nil } }
        }
        return true
    }
}

/// Answers a connection refused by ``ConnectionLimits`` with a 503 problem as soon as it is
/// active, and closes it; nothing it sends is read. Sits first in the pipeline.
final class RefuseConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let perClient: Int
    private var answered = false

    /// - Parameter perClient: the cap the client reached (named in the problem).
    init(perClient: Int) { self.perClient = perClient }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context: context)
        context.fireChannelActive()
    }

    /// Drops what the client sends: the connection is closing.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        RawProblem(
            status: 503, title: "Service Unavailable", type: "too-many-connections",
            detail:
                "this client has \(perClient) connections open (limits.max_connections_per_client); reuse one, or close one first",
            headers: "retry-after: 1\r\n"
        ).writeAndClose(context)
        // Closed within a second whatever becomes of the answer: behind TLS it waits for a
        // handshake the client may never make, and refused connections are not counted.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(1)) { loopBound.value.close(promise: nil) }
    }
}

/// A problem answered in raw bytes, in front of the HTTP encoder, before the connection closes:
/// for a connection refused or cut off outside any request the responder sees. The detail must
/// need no JSON escaping.
struct RawProblem {
    let status: Int
    let title: String
    let type: String
    let detail: String
    /// Extra header lines, each ending in CRLF.
    var headers = ""

    /// Writes the response on `context` (a handler in front of the decoder) and closes.
    func writeAndClose(_ context: ChannelHandlerContext) {
        let body =
            #"{"type":"urn:jamey:problem:\#(type)","title":"\#(title)","status":\#(status),"detail":"\#(detail)"}"#
        let text =
            "HTTP/1.1 \(status) \(title)\r\ncontent-type: application/problem+json\r\n\(headers)connection: close\r\n"
            + "content-length: \(body.utf8.count)\r\n\r\n" + body
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(ByteBuffer(string: text))).whenComplete { _ in loopBound.value.close(promise: nil) }
    }
}

/// Closes a connection whose client stopped taking the response: once the channel stays
/// unwritable (the socket's buffer and NIO's high watermark full) for `timeout`, it is closed.
/// The clock starts again each time the client reads enough to make it writable, so a slow but
/// reading client is not cut off; a client that reads nothing holds a connection and its buffered
/// response at most `timeout`. Sits first in the pipeline; all methods run on its event loop.
final class WriteStallHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let metrics: RequestMetrics
    private var timer: Scheduled<Void>?

    /// - Parameters:
    ///   - timeout: how long the channel may stay unwritable.
    ///   - metrics: counts the closes (`api_http_timeouts_total{phase="write"}`).
    init(timeout: TimeAmount, metrics: RequestMetrics) {
        self.timeout = timeout
        self.metrics = metrics
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            timer?.cancel()
            timer = nil
        } else if timer == nil {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: timeout) {
                let (handler, context) = loopBound.value
                handler.timer = nil
                guard !context.channel.isWritable else { return }
                handler.metrics.timedOut("write")
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }
}

extension SocketAddress {
    /// The address as the gateway names a client: an IPv4 client of a dual-stack listener
    /// (`host: "::"`) by its IPv4 address, not `::ffff:a.b.c.d`, so trusted proxies and their
    /// exemption, written as IPv4 addresses, match it (they did not: behind an IPv4 proxy every
    /// client shared the proxy's rate-limit bucket and connection cap).
    var clientAddress: String? {
        guard let ip = ipAddress else { return nil }
        if case .v6 = self, ip.lowercased().hasPrefix("::ffff:"), !ip.dropFirst(7).contains(":"),
            let v4 = APIConfiguration.canonicalAddress(String(ip.dropFirst(7)))
        {
            return v4
        }
        return ip
    }
}
