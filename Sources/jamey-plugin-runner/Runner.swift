import CJameyABI
import Dispatch
import JameyIsolationWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One plugin subscription inside the runner. Its deliveries run on whichever dispatch thread
/// brings them, one at a time (``HandlerSerializer``), so it never runs concurrently with itself
/// (the header's rule).
final class RunnerSubscription: @unchecked Sendable {
    let handler: jamey_message_handler_fn
    let userData: UnsafeMutableRawPointer?
    let serializer = HandlerSerializer()
    /// Set by `unsubscribe`: deliveries still queued or in the ring are not handed to the plugin
    /// (whose user data may be freed once unsubscribe returns).
    let closed = Atomic<Bool>(false)
    /// Handler calls in progress: counted before `closed` is read, so `unsubscribe`, which sets
    /// `closed` and then waits for this to reach 0, never returns while a call it missed runs.
    let calling = Atomic<Int>(0)

    init(handler: jamey_message_handler_fn, userData: UnsafeMutableRawPointer?) {
        self.handler = handler
        self.userData = userData
    }
}

/// A request of the plugin's waiting for its reply.
struct RunnerRequest: @unchecked Sendable {
    let done: jamey_reply_fn
    let userData: UnsafeMutableRawPointer?
}

/// The runner's state: the one plugin it hosts, its socket to the kernel and its shared-memory
/// rings (deliveries come down one, replies and publishes go up the other). The host functions
/// (``RunnerHostAPI``) reach it through ``Runner/shared``; the `jamey_host *` they get is ignored.
final class Runner: @unchecked Sendable {
    nonisolated(unsafe) static var shared: Runner!

    let socket: FrameSocket
    /// Kernel → runner: deliveries, read by the dispatch thread.
    let down: FrameRing
    /// Runner → kernel: replies, "handled" frames, publishes, metric records.
    let up: FrameRing
    let dispatch = Dispatcher()
    let calls = RunnerCalls()
    let descriptor: UnsafePointer<jamey_plugin_descriptor>
    let subscriptions = Mutex<[UInt64: RunnerSubscription]>([:])
    let requests = Mutex<[UInt64: RunnerRequest]>([:])
    let nextSubscription = Atomic<UInt64>(1)
    private let hooks = DispatchQueue(label: "jamey.runner.hooks")
    private let completions = DispatchQueue(label: "jamey.runner.completions", attributes: .concurrent)
    private var pluginState: UnsafeMutableRawPointer?
    /// `data_dir`, `node_name`, `node_id` from the environment frame; kept for the process's life.
    var dataDir: UnsafePointer<CChar>?
    var nodeName: UnsafePointer<CChar>?
    var nodeID: UnsafePointer<CChar>?
    /// Strings `config_string` returned, kept for the process's life.
    let configStrings = Mutex<[String: UnsafePointer<CChar>]>([:])
    let logLevelCache = Mutex<(level: Int32, at: UInt64)>((Int32(JAMEY_LOG_INFO.rawValue), 0))

    init(socket: FrameSocket, rings: SharedRings, descriptor: UnsafePointer<jamey_plugin_descriptor>) {
        self.socket = socket
        self.down = rings.makeDown()
        self.up = rings.makeUp()
        self.descriptor = descriptor
    }

    /// Starts the dispatch thread, reads frames until the kernel closes the socket, then exits the
    /// process.
    func serve() -> Never {
        dispatch.start { [self] mine in
            var job: (RunnerSubscription, [UInt8])?
            let more = down.receive { kind, body in
                guard kind == .deliver else { return }
                var reader = WireReader(body)
                guard let subscription = subscriptions.withLock({ $0[reader.u64()] }) else {
                    // Unsubscribed meanwhile: the kernel still counts the delivery as running
                    // (and would take the process for hung) until it hears it was handled.
                    var frame = WireWriter(.handled, capacity: 12)
                    frame.u64(reader.u64())
                    frame.i32(JAMEY_E_NOT_FOUND)
                    up.send(frame.finish())
                    return
                }
                job = (subscription, Array(body))
            }
            if let (subscription, body) = job {
                dispatch.enter(mine)
                subscription.serializer.run(body) { self.deliver($0, subscription) }
                dispatch.leave(mine)
            }
            return more
        }
        while socket.receive({ kind, body in dispatch(kind, body) }) {}
        calls.failAll()
        _exit(0)
    }

    private func dispatch(_ kind: FrameKind?, _ body: UnsafeRawBufferPointer) {
        var reader = WireReader(body)
        switch kind {
        case .hook:
            let seq = reader.u64()
            let hook = HookKind(rawValue: reader.u8())
            let config = Array(reader.raw())
            let due = Dispatcher.now() &+ reader.u64()
            // Health is not a lifecycle hook: hook_time_left answers -1 during it, as in process.
            let lifecycle = hook != .health
            hooks.async {
                if lifecycle { Self.hookDue.store(due, ordering: .releasing) }
                self.runHook(seq, hook, config)
                if lifecycle { Self.hookDue.store(0, ordering: .releasing) }
            }
        case .result:
            let seq = reader.u64()
            let code = reader.i32()
            let value = reader.u64()
            let text = reader.string()
            calls.answer(seq, CallAnswer(code: code, value: value, text: text))
        case .requestDone:
            let seq = reader.u64()
            let status = reader.i32()
            let hasReply = reader.u8() != 0
            let rest = hasReply ? Array(UnsafeRawBufferPointer(rebasing: body[13...])) : nil
            if let request = requests.withLock({ $0.removeValue(forKey: seq) }) {
                completions.async { Self.complete(request, status, rest) }
            } else {
                calls.answer(seq, CallAnswer(code: status, reply: rest))
            }
        case .environment:
            let directory = reader.string()
            dataDir = directory.isEmpty ? nil : UnsafePointer(strdup(directory))
            nodeName = UnsafePointer(strdup(reader.string()))
            nodeID = UnsafePointer(strdup(reader.string()))
        default:
            break
        }
    }

    private static func complete(_ request: RunnerRequest, _ status: Int32, _ reply: [UInt8]?) {
        guard let reply else { return request.done(request.userData, status, nil) }
        reply.withUnsafeBytes { bytes in
            var reader = WireReader(bytes)
            if reader.withMessage({ request.done(request.userData, status, $0) }) == nil {
                request.done(request.userData, JAMEY_E_INVALID, nil)
            }
        }
    }

    private func deliver(_ body: [UInt8], _ subscription: RunnerSubscription) {
        body.withUnsafeBytes { bytes in
            var reader = WireReader(bytes)
            _ = reader.u64()
            let delivery = reader.u64()
            var code = JAMEY_E_NOT_FOUND
            var replied = false
            subscription.calling.add(1, ordering: .sequentiallyConsistent)
            defer { subscription.calling.subtract(1, ordering: .sequentiallyConsistent) }
            if !subscription.closed.load(ordering: .sequentiallyConsistent) {
                Self.current = delivery
                Self.running = Unmanaged.passUnretained(subscription).toOpaque()
                code = reader.withMessage { subscription.handler(subscription.userData, $0) } ?? JAMEY_E_INVALID
                replied = Self.current & (1 << 63) != 0
                Self.current = 0
                Self.running = nil
            }
            // A request answered inside its handler needs no "handled" frame: the reply already
            // told the kernel it is done (one write less per request).
            if code == JAMEY_OK && replied { return }
            var frame = WireWriter(.handled, capacity: 12)
            frame.u64(delivery)
            frame.i32(code)
            up.send(frame.finish())
        }
    }

    /// Per thread: the delivery its handler is running (0: none), with bit 63 set once the handler
    /// replied to it.
    private static let handlerKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    private static var current: UInt64 {
        get { UInt64(UInt(bitPattern: pthread_getspecific(handlerKey))) }
        set { pthread_setspecific(handlerKey, UnsafeRawPointer(bitPattern: UInt(newValue))) }
    }

    /// Per thread: the subscription whose handler it is running (nil: none).
    private static let runningKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var running: UnsafeMutableRawPointer? {
        get { pthread_getspecific(runningKey) }
        set { pthread_setspecific(runningKey, newValue) }
    }

    /// Notes a reply sent from a handler to the delivery it is running (`reply` calls this).
    static func noteReply(to delivery: UInt64) {
        if current == delivery && delivery != 0 { current = delivery | 1 << 63 }
    }

    /// When the lifecycle hook running now must have returned (``Dispatcher/now()``
    /// nanoseconds, from the hook frame); 0 when none runs. `hook_time_left` answers from it.
    static let hookDue = Atomic<UInt64>(0)

    /// Set while a `check` hook runs: only config_*, log*, node_* and hook_time_left may be
    /// called then (``RunnerHostAPI/refusedInCheck(_:)``).
    static let checking = Atomic<Bool>(false)

    /// How long ``quiesce()`` lets queued deliveries run before it closes the subscriptions.
    static let drainNanoseconds: UInt64 = 2_000_000_000

    /// Before the plugin's stop, as plugin.h promises (the kernel handles what was queued and
    /// closes the subscriptions before stop runs): lets the deliveries already in the ring and in
    /// the subscriptions' queues run, for up to ``drainNanoseconds`` (and half of what the stop's
    /// deadline leaves), then closes every
    /// subscription and waits for handlers still running. Afterwards no handler runs (one that
    /// arrives is answered NOT_FOUND), so stop and deinit may free what handlers use; before,
    /// the dispatch thread went on through the backlog while stop and deinit ran.
    private func quiesce() {
        // At most half of what the stop's deadline leaves (the plugin's stop has the rest).
        let now = Dispatcher.now()
        let due = Self.hookDue.load(ordering: .acquiring)
        let left = due > now ? (due - now) / 2 : Self.drainNanoseconds
        let deadline = now + min(Self.drainNanoseconds, left)
        var quietChecks = 0
        while Dispatcher.now() < deadline && quietChecks < 2 {
            let all = subscriptions.withLock { Array($0.values) }
            let quiet =
                !down.hasData
                && all.allSatisfy { $0.serializer.isIdle && $0.calling.load(ordering: .sequentiallyConsistent) == 0 }
            // Twice in a row, a millisecond apart: a delivery read from the ring and not yet
            // queued is in neither place for an instant.
            quietChecks = quiet ? quietChecks + 1 : 0
            usleep(1000)
        }
        let all = subscriptions.withLock { Array($0.values) }
        for subscription in all { subscription.closed.store(true, ordering: .sequentiallyConsistent) }
        for subscription in all {
            while subscription.calling.load(ordering: .sequentiallyConsistent) > 0 { usleep(200) }
        }
    }

    /// Calls `body` with `bytes` as a NUL-terminated C string and its length (without the NUL).
    private static func withText(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>, Int) -> Int32) -> Int32 {
        var text = bytes + [0]
        return text.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0, bytes.count) }
        }
    }

    private func runHook(_ seq: UInt64, _ hook: HookKind?, _ config: [UInt8]) {
        // A check may write several problems, one per line (the kernel's buffer is as large).
        var err = [CChar](repeating: 0, count: hook == .check ? 4096 : 1024)
        var code = JAMEY_OK
        let d = descriptor.pointee
        switch hook {
        case .check:
            // Read only from plugins built for 1.6, as the kernel reads it in process.
            guard d.abi_minor >= 6, let check = d.check else { break }
            Self.checking.store(true, ordering: .releasing)
            code = Self.withText(config) { check(OpaquePointer(bitPattern: 1), $0, $1, &err, err.count) }
            Self.checking.store(false, ordering: .releasing)
        case .initialize:
            var state: UnsafeMutableRawPointer?
            code = Self.withText(config) { d.`init`!(OpaquePointer(bitPattern: 1), $0, $1, &state, &err, err.count) }
            pluginState = state
        case .start: if let start = d.start { code = start(pluginState, &err, err.count) }
        case .stop:
            quiesce()
            if let stop = d.stop { code = stop(pluginState, &err, err.count) }
        case .deinitialize: d.`deinit`?(pluginState)
        case .health:
            if let health = d.health { code = health(pluginState, &err, err.count) }
        case nil: code = JAMEY_E_UNSUPPORTED
        }
        err[err.count - 1] = 0
        var frame = WireWriter(.hookResult, capacity: 64)
        frame.u64(seq)
        frame.i32(code)
        frame.string(String(cString: err))
        socket.send(frame.finish())
    }
}
