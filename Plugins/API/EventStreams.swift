import APICore
import Foundation
import Hummingbird
import JameyPluginKit
import NIOCore
import Synchronization

/// The open Server-Sent Events streams of `GET /v1/bus/subscribe`: each one a bus subscription
/// whose messages are written to the response as events, with keep-alive comments in between.
/// Bounded in number; ``closeAll()`` ends every stream (at stop, so graceful shutdown does not
/// wait for clients that never leave).
final class EventStreams: Sendable {
    private struct State {
        var open: [UInt64: AsyncStream<ByteBuffer>.Continuation] = [:]
        /// The caller of each open stream, and how many each caller holds.
        var owners: [UInt64: String] = [:]
        var perCaller: [String: Int] = [:]
        var next: UInt64 = 0
        var closed = false
    }

    private let state = Mutex(State())
    /// Most bytes of events a stream holds for a client that reads slower than they come; past
    /// it new events are dropped, and the client is told how many when it catches up. Counting
    /// events alone (1 024 a stream) let a stalled reader hold 1 024 events of up to a MiB
    /// of body each (six when escaped), in each of the 64 streams.
    static let bufferBytes = 4 << 20
    private let limit: Int
    /// Most streams one caller holds: one key could take every stream, and no other client
    /// could open one.
    private let perCaller: Int
    private let heartbeat: Duration
    private let metrics: RequestMetrics

    /// - Parameters:
    ///   - limit: most streams open at once.
    ///   - heartbeat: interval of keep-alive comments.
    ///   - metrics: where the open-streams gauge lives.
    init(limit: Int, perCaller: Int = .max, heartbeat: Duration, metrics: RequestMetrics) {
        self.limit = limit
        self.perCaller = perCaller
        self.heartbeat = heartbeat
        self.metrics = metrics
    }

    /// Number of open streams.
    var count: Int { state.withLock { $0.open.count } }

    /// Subscribes to `pattern` and returns the response body that streams its messages. The
    /// subscription exists when this returns, so an event published after the client has seen
    /// the response head is delivered.
    /// - Parameters:
    ///   - caller: who opens it (a key, or a client address without one).
    ///   - sees: whether the caller may see an event on a topic (its scope, ``RouteTable/eventScope(for:)``);
    ///     an event it may not see is left out. `auth.*` headers (other callers' key ids) are
    ///     left out of every event unless `admin`.
    ///   - admin: whether the caller holds the admin scope.
    ///   - closed: succeeds when the client has gone (``PeerGoneHandler``); the stream then ends
    ///     and frees its place at once (it was found only by the next keep-alive's failed write, up to
    ///     `sse_heartbeat_ms` later, and a client reconnecting meanwhile got 429).
    /// - Throws: ``Problem`` 503 when too many streams are open or the gateway is stopping, 429
    ///   when `caller` holds its most; 400 when the bus refuses the pattern.
    func open(
        pattern: String, bus: PluginBus, caller: String = "", sees: @escaping @Sendable (String) -> Bool = { _ in true },
        admin: Bool = true, closed: EventLoopFuture<Void>? = nil
    ) throws(Problem) -> ResponseBody {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(1024))
        enum Refusal: Error { case full, caller }
        let opened: Result<UInt64, Refusal> = state.withLock { s in
            guard !s.closed, s.open.count < limit else { return .failure(.full) }
            guard s.perCaller[caller, default: 0] < perCaller else { return .failure(.caller) }
            s.next += 1
            s.open[s.next] = continuation
            s.owners[s.next] = caller
            s.perCaller[caller, default: 0] += 1
            return .success(s.next)
        }
        let id: UInt64
        switch opened {
        case .success(let opened): id = opened
        case .failure(.full):
            throw Problem.unavailable(
                "too many event streams are open (limit \(limit)); try again later", slug: "too-many-streams")
        case .failure(.caller):
            throw Problem(
                status: .tooManyRequests, slug: "too-many-streams",
                detail: "this caller has \(perCaller) event streams open (limits.max_sse_streams_per_caller); close one first")
        }
        metrics.streams(1)
        let sequence = Atomic<UInt64>(0)
        let buffer = Buffer(continuation, budget: Self.bufferBytes)
        let subscription: Subscription
        do {
            // Events only: the bus never gives the stream a request (it took, in turn, the
            // requests of a topic answered by a plain subscription, such as cache.get, which then
            // timed out), and a request's body is its sender's, which may need a higher scope.
            subscription = try bus.subscribe(pattern, capacity: 1024, dropOldest: true, eventsOnly: true) { message in
                guard sees(message.topic) else { return }
                let n = sequence.add(1, ordering: .relaxed).newValue
                buffer.offer(Self.event(message, id: n, authHeaders: admin))
            }
        } catch {
            continuation.finish()
            close(id)
            throw Problem.badRequest("the bus refused the pattern '\(pattern)': \(error)")
        }
        let beat = heartbeat
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: beat)
                if case .terminated = buffer.push(ByteBuffer(string: ": keep-alive\n\n")) { return }
            }
        }
        continuation.onTermination = { [weak self] _ in
            ticker.cancel()
            subscription.cancel()
            self?.close(id)
        }
        closed?.whenSuccess { continuation.finish() }
        _ = buffer.push(ByteBuffer(string: ": subscribed to \(pattern)\n\n"))
        return ResponseBody { writer in
            for await chunk in stream {
                try await writer.write(chunk)
                buffer.written(chunk.readableBytes)
            }
            try await writer.finish(nil)
        }
    }

    /// A stream's chunks on their way to the client, counted in bytes (``bufferBytes``).
    final class Buffer: Sendable {
        private let continuation: AsyncStream<ByteBuffer>.Continuation
        private let budget: Int
        /// Bytes yielded and not yet written.
        private let held = Atomic<Int>(0)
        /// Events dropped since the last one yielded.
        private let dropped = Atomic<Int>(0)

        init(_ continuation: AsyncStream<ByteBuffer>.Continuation, budget: Int) {
            self.continuation = continuation
            self.budget = budget
        }

        /// Yields `chunk` (a comment: always).
        @discardableResult
        func push(_ chunk: ByteBuffer) -> AsyncStream<ByteBuffer>.Continuation.YieldResult {
            held.add(chunk.readableBytes, ordering: .relaxed)
            let result = continuation.yield(chunk)
            if case .dropped(let old) = result { held.subtract(old.readableBytes, ordering: .relaxed) }
            return result
        }

        /// Yields an event if the stream holds room for it, else drops it; the next event yielded
        /// after drops is preceded by a comment saying how many.
        func offer(_ event: String) {
            guard held.load(ordering: .relaxed) + event.utf8.count <= budget else {
                dropped.add(1, ordering: .relaxed)
                return
            }
            let lost = dropped.exchange(0, ordering: .relaxed)
            push(ByteBuffer(string: lost > 0 ? ": dropped \(lost) events (the client read too slowly)\n\n" + event : event))
        }

        /// `bytes` reached the client.
        func written(_ bytes: Int) { held.subtract(bytes, ordering: .relaxed) }
    }

    /// Ends every stream and refuses new ones.
    func closeAll() {
        let all = state.withLock { s in
            s.closed = true
            return Array(s.open.values)
        }
        for c in all { c.finish() }
    }

    private func close(_ id: UInt64) {
        let removed = state.withLock { s in
            if let caller = s.owners.removeValue(forKey: id) {
                let held = s.perCaller[caller, default: 1] - 1
                s.perCaller[caller] = held > 0 ? held : nil
            }
            return s.open.removeValue(forKey: id)
        }
        if removed != nil { metrics.streams(-1) }
    }

    /// One message as an SSE event: `id`, `event: message` and one `data` line of JSON with the
    /// topic, source, content type, headers and payload (`payload` as text when it is UTF-8,
    /// `payload_base64` otherwise).
    static func event(_ message: Message, id: UInt64, authHeaders: Bool = true) -> String {
        let headers = message.headers.filter { authHeaders || !$0.key.hasPrefix("auth.") }
        var members: [(String, JSON)] = [
            ("topic", .string(message.topic)),
            ("source", .string(message.source)),
            ("content_type", message.contentType.map(JSON.string) ?? .null),
            ("headers", .object(headers.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ]
        if let text = String(validating: message.payload, as: UTF8.self) {
            members.append(("payload", .string(text)))
        } else {
            members.append(("payload_base64", .string(Data(message.payload).base64EncodedString())))
        }
        return "id: \(id)\nevent: message\ndata: " + JSON.object(members).text + "\n\n"
    }
}
