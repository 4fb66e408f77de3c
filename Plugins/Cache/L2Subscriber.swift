import CHiredis
import Foundation
import Synchronization

/// Listens on a Redis pub/sub channel on a thread of its own (its own connection, reconnecting
/// every second while Redis is away) and hands every message's payload to `onMessage`. The cache
/// uses it to drop a key from this node's L1 when another node invalidates it. Messages published
/// while this node is disconnected are lost (the L1 copy then lives until its TTL or eviction).
final class L2Subscriber: Sendable {
    private let settings: L2Client.Settings
    private let channel: String
    private let onMessage: @Sendable ([UInt8]) -> Void
    private let stopped = Atomic<Bool>(false)
    private let subscribedFlag = Atomic<Bool>(false)
    /// Whether the listening thread runs (from ``start()`` until it has returned).
    private let running = Atomic<Bool>(false)

    init(settings: L2Client.Settings, channel: String, onMessage: @escaping @Sendable ([UInt8]) -> Void) {
        self.settings = settings
        self.channel = channel
        self.onMessage = onMessage
    }

    /// Whether the subscription is live now.
    var isSubscribed: Bool { subscribedFlag.load(ordering: .relaxed) }

    /// Starts the listening thread.
    func start() {
        running.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            run()
            running.store(false, ordering: .releasing)
        }
        thread.name = "jamey-cache-l2-sub"
        thread.start()
    }

    /// Ends the thread and waits for it (half a second at most, its poll's period; `timeout` if
    /// a message's handling is slower). It used to return at once, and a stopped cache went on
    /// applying other nodes' invalidations to its L3 for up to half a second: a new instance on
    /// the same data directory lost the entries another node changed meanwhile.
    /// - Returns: whether the thread ended in time.
    @discardableResult
    func stop(timeout: Duration = .seconds(5)) async -> Bool {
        stopped.store(true, ordering: .relaxed)
        let end = ContinuousClock.now + timeout
        while running.load(ordering: .acquiring) {
            if ContinuousClock.now >= end { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    private func run() {
        while !stopped.load(ordering: .relaxed) {
            if let context = subscribe() {
                subscribedFlag.store(true, ordering: .relaxed)
                listen(context)
                subscribedFlag.store(false, ordering: .relaxed)
                redisFree(context)
            }
            for _ in 0..<10 where !stopped.load(ordering: .relaxed) { usleep(100_000) }
        }
    }

    private func subscribe() -> UnsafeMutablePointer<redisContext>? {
        let timeout = timeval(tv_sec: settings.connectTimeoutMs / 1000, tv_usec: (settings.connectTimeoutMs % 1000) * 1000)
        guard let context = redisConnectWithTimeout(settings.host, Int32(settings.port), timeout) else { return nil }
        guard context.pointee.err == 0 else {
            redisFree(context)
            return nil
        }
        let reply = channel.withCString { c in
            withVaList([c]) { redisvCommand(context, "SUBSCRIBE %s", $0) }
        }
        guard let reply else {
            redisFree(context)
            return nil
        }
        freeReplyObject(reply)
        return context
    }

    /// Reads messages until the connection fails or `stop` is called.
    private func listen(_ context: UnsafeMutablePointer<redisContext>) {
        while !stopped.load(ordering: .relaxed) {
            var reply: UnsafeMutableRawPointer?
            // Replies already buffered first; otherwise wait up to 500 ms for the socket.
            if redisReaderGetReply(context.pointee.reader, &reply) != REDIS_OK { return }
            if reply == nil {
                var poller = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, 500)
                if ready < 0 && errno != EINTR { return }
                if ready <= 0 { continue }
                if redisGetReply(context, &reply) != REDIS_OK { return }
            }
            guard let reply else { continue }
            handle(reply.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(reply)
        }
    }

    private func handle(_ r: UnsafeMutablePointer<redisReply>) {
        guard Int32(r.pointee.type) == REDIS_REPLY_ARRAY, r.pointee.elements == 3,
            let kind = r.pointee.element[0], let str = kind.pointee.str, String(cString: str) == "message",
            let payload = r.pointee.element[2], let bytes = payload.pointee.str
        else { return }
        onMessage(Array(UnsafeRawBufferPointer(start: bytes, count: payload.pointee.len)))
    }
}
