import CJameyABI
import Dispatch
import JameyIsolationWire
import Prometheus
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one isolated plugin in a child process and keeps it running: the kernel-side half of
/// `isolation: process`. The kernel calls its hooks through the proxy descriptor
/// (``IsolatedPlugins``); it forwards them and the plugin's host calls over the socket and its bus
/// traffic through the shared-memory rings, restarts the child on the backoff schedule when it
/// dies or hangs, and quarantines it after too many crashes. While the child is down, requests to the plugin get a 503 reply.
final class PluginSupervisor: @unchecked Sendable {
    let host: PluginHost
    let library: String
    let settings: IsolationSettings
    let runner: String
    let config: [UInt8]
    let deadlines: HookDeadlines
    let state = Mutex(State())
    private let control: DispatchQueue
    private let watchdog: DispatchSourceTimer
    let restartsTotal: Prometheus.Counter
    let childUp: Prometheus.Gauge

    enum Phase: Equatable { case starting, running, restarting, stopping, stopped }

    struct State {
        var child: IsolatedChild?
        var generation = 0
        var phase = Phase.starting
        var restarts = 0
        var lastExit: String?
        var quarantine: String?
        var crashes: [ContinuousClock.Instant] = []
        /// The backoff delay scheduled after each crash (kept for status; bounded to the last 100).
        var delays: [Duration] = []
        /// The current child's subscriptions by the runner's id.
        var subscriptions: [UInt64: ProxySubscription] = [:]
        /// Subscriptions of a child that died, answering 503 until the next child makes the same
        /// subscription again (then it takes them over) or has started without it.
        var dormant: [ProxySubscription] = []
        /// Every subscription the bus may still call: kept alive, since it holds raw pointers to
        /// them (``forget(_:)`` drops those unsubscribed).
        var all: [ProxySubscription] = []
        var deliveries: [UInt64: Delivery] = [:]
        var nextDelivery: UInt64 = 1
    }

    /// A message handed to the child: running in its handler, or a request waiting for a reply.
    struct Delivery {
        let started: UInt64
        let replyTo: String?
        let correlation: UInt64
        let topic: String
        var running = true
    }

    init(host: PluginHost, spec: IsolatedPlugins.Spec, config: [UInt8]) {
        self.host = host
        self.library = spec.library
        self.settings = spec.settings
        self.runner = spec.runner
        self.config = config
        self.deadlines = host.kernel.config.hooks
        self.control = DispatchQueue(label: "jamey.isolation.\(host.instance)")
        self.watchdog = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "jamey.isolation.watchdog"))
        let registry = host.kernel.metrics.registry
        restartsTotal = registry.makeCounter(
            descriptor: .init(
                metricName: "jamey_plugin_restarts_total", unitName: "",
                helpText: "Restarts of isolated plugins' processes after a crash or a hang"),
            labels: [("plugin", host.name)])
        childUp = registry.makeGauge(
            descriptor: .init(
                metricName: "jamey_plugin_child_up", unitName: "",
                helpText: "1 while an isolated plugin's process is running"),
            labels: [("plugin", host.name)])
    }

    // MARK: Hooks (called through the proxy descriptor on the plugin's hook queue)

    /// Starts the first child and runs the plugin's init in it.
    func initialize() -> (Int32, String) {
        startWatchdog()
        switch launch(deadline: Self.within(deadlines.initialize)) {
        case .success: return (JAMEY_OK, "")
        case .failure(let failure): return (JAMEY_E_PLUGIN, failure.message)
        }
    }

    /// Runs the plugin's start in the child; from then on a crash restarts it.
    func start() -> (Int32, String) {
        guard let child = state.withLock({ $0.child }) else { return (JAMEY_E_PLUGIN, exitSentence()) }
        guard let (code, text) = child.callHook(.start, deadline: Self.within(deadlines.start)) else {
            child.kill(because: "start did not return within its deadline")
            return (JAMEY_E_PLUGIN, exitSentence())
        }
        if code == JAMEY_OK { state.withLock { $0.phase = .running } }
        return (code, text)
    }

    /// Runs the plugin's stop in the child (if it is up); no restart happens after this.
    func stop() -> (Int32, String) {
        let child = state.withLock { s -> IsolatedChild? in
            s.phase = .stopping
            return s.child
        }
        guard let child else { return (JAMEY_OK, "") }
        // Within what the kernel's own stop deadline leaves (a shutdown may have less than
        // hooks.stop_timeout_ms), which the child's hook_time_left then reports.
        let deadline = Self.within(min(deadlines.stop, host.hookTimeLeft ?? deadlines.stop))
        guard let result = child.callHook(.stop, deadline: deadline) else {
            child.kill(because: "stop did not return within its deadline")
            return (JAMEY_E_PLUGIN, "the isolated plugin's stop did not return; its process was killed")
        }
        return result
    }

    /// Runs the plugin's deinit in the child, then ends the child.
    func deinitialize() {
        let child = state.withLock { s -> IsolatedChild? in
            s.phase = .stopped
            return s.child
        }
        watchdog.cancel()
        guard let child else { return }
        if child.callHook(.deinitialize, deadline: Self.within(deadlines.stop)) == nil {
            child.kill(because: "deinit did not return within its deadline")
        }
        child.socket.shutdownBoth()
        if child.exited.wait(timeout: .now() + .seconds(3)) == .timedOut { child.kill(because: "stopped") }
    }

    /// Lets go of proxies the bus no longer calls (each was unsubscribed and its unsubscribe
    /// returned).
    func forget(_ gone: [ProxySubscription]) {
        guard !gone.isEmpty else { return }
        let ids = Set(gone.map(ObjectIdentifier.init))
        state.withLock { s in s.all.removeAll { ids.contains(ObjectIdentifier($0)) } }
    }

    /// Proxies kept alive now (tests).
    var proxiesKept: Int { state.withLock { $0.all.count } }

    /// The plugin's health: the child's answer with the isolation facts, or why it is down.
    func health() -> (Int32, String) {
        let (child, quarantine, restarts, lastExit, phase) = state.withLock {
            ($0.child, $0.quarantine, $0.restarts, $0.lastExit, $0.phase)
        }
        if let quarantine { return (Int32(JAMEY_HEALTH_UNHEALTHY.rawValue), quarantine) }
        // A restart's init and start run on the child's hook queue, where a health call would
        // wait behind them: an init longer than 0.9 of the health deadline got the new process
        // killed as hung, again at every attempt, until the plugin was quarantined.
        if phase == .restarting, let child {
            return (
                Int32(JAMEY_HEALTH_DEGRADED.rawValue),
                "isolated: its process \(lastExit ?? "ended"); restarting in process \(child.pid) (\(restarts) restarts so far)"
            )
        }
        guard let child else {
            return (
                Int32(JAMEY_HEALTH_DEGRADED.rawValue),
                "isolated: its process \(lastExit ?? "is not running"); restarting (\(restarts) restarts so far)"
            )
        }
        let facts = "isolated in process \(child.pid), \(restarts) restarts" + (lastExit.map { ", last exit: \($0)" } ?? "")
        guard let (code, detail) = child.callHook(.health, deadline: Self.within(deadlines.health)) else {
            child.kill(because: "hung: health did not return within \(deadlines.health.shortText)")
            return (Int32(JAMEY_HEALTH_DEGRADED.rawValue), "isolated: its process did not answer health; restarting")
        }
        return (code, detail.isEmpty ? facts : "\(detail) (\(facts))")
    }

    /// A hook deadline, shortened so the proxy gives up before the kernel abandons the plugin.
    static func within(_ deadline: Duration) -> Duration { deadline * 0.9 }

    // MARK: Child runs

    /// Spawns a child, connects it and runs init in it.
    private func launch(deadline: Duration) -> Result<Void, IsolationFailure> {
        let child: IsolatedChild
        switch connect() {
        case .success(let c): child = c
        case .failure(let f): return .failure(f)
        }
        guard let (code, text) = child.callHook(.initialize, config: config, deadline: deadline) else {
            child.kill(because: "init did not return within its deadline")
            return .failure(IsolationFailure("the isolated plugin's process \(exitSentence(waitingFor: child))"))
        }
        guard code == JAMEY_OK else {
            child.socket.shutdownBoth()
            _ = child.exited.wait(timeout: .now() + .seconds(3))
            return .failure(IsolationFailure("init failed (\(Kernel.codeName(code))): \(text.isEmpty ? "no message" : text)"))
        }
        return .success(())
    }

    /// Spawns a child, starts its reader threads and sends it the environment (no data
    /// directory for a check: a check's context has none).
    private func connect() -> Result<IsolatedChild, IsolationFailure> {
        let generation = state.withLock { s -> Int in
            s.generation += 1
            return s.generation
        }
        let child: IsolatedChild
        switch IsolatedChild.spawn(runner: runner, library: library, settings: settings, generation: generation) {
        case .success(let c): child = c
        case .failure(let f): return .failure(f)
        }
        state.withLock { $0.child = child }
        if !host.checkOnly { childUp.set(to: 1.0) }
        KernelThread.spawn(name: "jamey-iso-\(host.name)") { [self] in read(child) }
        KernelThread.spawn(name: "jamey-iso-ring-\(host.name)") { [self] in readRing(child) }
        var environment = WireWriter(.environment, capacity: 128)
        environment.string(host.checkOnly ? "" : host.dataDirectory().map { String(cString: $0) } ?? "")
        environment.string(host.kernel.nodeName)
        environment.string(host.kernel.nodeID)
        child.socket.send(environment.finish())
        return .success(child)
    }

    /// Runs the plugin's `check` hook (ABI 1.6) of ``config`` in a process started for it alone,
    /// so a check that crashes or hangs takes only that process: what `isolation: process`
    /// promises for every other hook. The supervisor's host is a check's read-only context, so
    /// the host calls it forwards are refused as in process. The process ends afterwards.
    /// - Returns: the hook's code and text, or a sentence saying why there is none (it could not
    ///   start, it died, or it did not return within `deadline` and was killed).
    func check(deadline: Duration) -> Result<(Int32, String), IsolationFailure> {
        // Running, then cancelled: a source released without ever running stops the process.
        startWatchdog()
        defer { watchdog.cancel() }
        let clock = ContinuousClock()
        let began = clock.now
        let child: IsolatedChild
        switch connect() {
        case .success(let c): child = c
        case .failure(let f): return .failure(f)
        }
        // The deadline counts from before the spawn.
        let left = max(.milliseconds(1), deadline - (clock.now - began))
        let result = child.callHook(.check, config: config, deadline: left)
        if result == nil { child.kill(because: "killed: the check did not return within \(deadline.shortText)") }
        child.socket.shutdownBoth()
        // `exited` is signalled once, after the exit is recorded: read it here, not wait again.
        if child.exited.wait(timeout: .now() + .seconds(3)) == .timedOut { child.kill(because: "checked") }
        guard let result else {
            return .failure(IsolationFailure("its process: \(state.withLock { $0.lastExit } ?? "ended")"))
        }
        return .success(result)
    }

    /// The reader thread of one child's socket: frames until the socket closes, then what is left
    /// in the ring up, then the exit.
    private func read(_ child: IsolatedChild) {
        while child.socket.receive({ kind, body in handle(kind, body, from: child) }) {}
        child.up.close()
        child.down.close()
        // What the process wrote before it ended is handled first (its replies go out rather
        // than 503s), here rather than by waking the ring's reader, which may be asleep.
        while drainUp(child) != .ended { sched_yield() }
        child.failHooks()
        let reason = child.reap()
        exited(child, reason: reason)
        child.exited.signal()
    }

    /// The reader thread of one child's ring up: replies and publishes until the ring closes (a
    /// frame the process was cut off in the middle of writing is dropped). A requester waiting
    /// for its reply may read the ring meanwhile (``awaitReply(_:from:)``); frames are handled in
    /// order either way.
    private func readRing(_ child: IsolatedChild) {
        while true {
            switch drainUp(child) {
            case .ended:
                // Ended while the process lives: it wrote a frame that cannot be read.
                if !child.up.closed { child.kill(because: "wrote a malformed frame to its ring") }
                return
            case .busy: sched_yield()
            // No spinning: replies to requests are mostly read by their requesters
            // (awaitReply), and a spinning reader would take a processor from them.
            case .drained: _ = child.up.waitForData(spin: 0)
            }
        }
    }

    /// Handles the frames complete in `child`'s ring up (see ``FrameRing/drain(_:)``), marking the
    /// thread as a reader of the ring meanwhile (``deliver(_:to:)`` then never waits for room).
    func drainUp(_ child: IsolatedChild) -> FrameRing.Drain {
        let outer = Self.readingUp
        Self.readingUp = true
        defer { Self.readingUp = outer }
        return child.up.drain { kind, body in handle(kind, body, from: child) }
    }

    private static let readingUpKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// True on a thread handling frames from a ring up.
    static var readingUp: Bool {
        get { pthread_getspecific(readingUpKey) != nil }
        set { pthread_setspecific(readingUpKey, newValue ? UnsafeRawPointer(bitPattern: 1) : nil) }
    }

    /// "killed by signal 11 (SIGSEGV)": how the last child ended, once it has been reaped.
    func exitSentence(waitingFor child: IsolatedChild? = nil) -> String {
        if let child { _ = child.exited.wait(timeout: .now() + .seconds(3)) }
        return state.withLock { $0.lastExit } ?? "ended"
    }

    /// Cleans up after a child ended and decides what comes next.
    private func exited(_ child: IsolatedChild, reason: String) {
        let (phase, orphaned) = state.withLock { s -> (Phase, [Delivery]) in
            guard s.child === child else { return (.stopped, []) }
            s.child = nil
            s.lastExit = reason
            s.dormant.append(contentsOf: s.subscriptions.values)
            s.subscriptions.removeAll()
            let orphaned = Array(s.deliveries.values)
            s.deliveries.removeAll()
            return (s.phase, orphaned)
        }
        if !host.checkOnly { childUp.set(to: 0.0) }
        let sentence = unavailableSentence(reason)
        for delivery in orphaned {
            if let replyTo = delivery.replyTo { answerUnavailable(replyTo: replyTo, correlation: delivery.correlation, sentence) }
        }
        if phase == .running {
            host.logger.error("isolated plugin \(host.name): its process \(reason); the kernel goes on serving")
            crashed()
        }
        if !host.checkOnly { refreshHealth() }
    }

    /// Records a crash of a running plugin and schedules its restart, or quarantines it.
    private func crashed() {
        let now = ContinuousClock.now
        let decision = state.withLock { s -> (Duration, Int)? in
            guard let decision = settings.restart.decide(crashes: &s.crashes, now: now) else {
                s.quarantine =
                    "quarantined: its process crashed \(s.crashes.count) times within \(settings.restart.window.shortText) (more than restart.max_restarts = \(settings.restart.maxRestarts)), last: \(s.lastExit ?? "unknown"); it stays down until a reload or deploy starts it again"
                return nil
            }
            s.delays = Array((s.delays + [decision.0]).suffix(100))
            return decision
        }
        guard let (delay, _) = decision else {
            host.logger.error("isolated plugin \(host.name) \(state.withLock { $0.quarantine ?? "" })")
            return
        }
        control.asyncAfter(deadline: .now() + .nanoseconds(Int(delay.inSeconds * 1e9))) { [self] in restart() }
    }

    /// Starts a new child and runs init and start in it (on the control queue).
    private func restart() {
        let go = state.withLock { s -> Bool in
            guard s.phase == .running, s.child == nil, s.quarantine == nil else { return false }
            s.phase = .restarting
            return true
        }
        guard go else { return }
        var failure: String?
        switch launch(deadline: Self.within(deadlines.initialize)) {
        case .failure(let f): failure = f.message
        case .success:
            let child = state.withLock { $0.child }
            if let child, let (code, text) = child.callHook(.start, deadline: Self.within(deadlines.start)) {
                if code != JAMEY_OK {
                    failure = "start failed (\(Kernel.codeName(code))): \(text)"
                    child.socket.shutdownBoth()
                    _ = child.exited.wait(timeout: .now() + .seconds(3))
                }
            } else {
                child?.kill(because: "start did not return within its deadline")
                failure = "the isolated plugin's process \(exitSentence(waitingFor: child))"
            }
        }
        let leftOver = state.withLock { s -> [ProxySubscription] in
            let stopping = s.phase != .restarting
            if !stopping { s.phase = .running }
            guard failure == nil else { return [] }
            s.restarts += 1
            defer { s.dormant.removeAll() }
            return s.dormant
        }
        for subscription in leftOver { _ = HostAPI.table.pointee.unsubscribe!(host.opaque, subscription.kernelID) }
        forget(leftOver)
        if let failure {
            host.logger.error("isolated plugin \(host.name): restart failed: \(failure)")
            if state.withLock({ $0.child == nil && $0.phase == .running }) { crashed() }
        } else {
            restartsTotal.increment()
            host.logger.notice("isolated plugin \(host.name) restarted (process \(state.withLock { $0.child?.pid ?? 0 }))")
        }
        refreshHealth()
    }

    /// Asks the kernel to refresh the plugin's cached health now.
    private func refreshHealth() {
        let kernel = host.kernel
        if let record = kernel.records.first(where: { $0.instance == host.instance }) { kernel.refreshHealth(record) }
    }

    // MARK: Hung handlers

    private func startWatchdog() {
        let tick = min(max(settings.handlerTimeout / 10, .milliseconds(5)), .milliseconds(250))
        let nanos = Int(tick.inSeconds * 1e9)
        watchdog.schedule(deadline: .now() + .nanoseconds(nanos), repeating: .nanoseconds(nanos), leeway: .milliseconds(2))
        watchdog.setEventHandler { [weak self] in self?.checkHung() }
        watchdog.resume()
    }

    private func checkHung() {
        let limit = UInt64(settings.handlerTimeout.inSeconds * 1e9)
        let hung = state.withLock { s -> (IsolatedChild, String)? in
            guard let child = s.child else { return nil }
            // Read under the lock: a delivery added after a reading taken outside it would look
            // as if it had started in the future, and the wrapped difference as a hang.
            let now = MonotonicClock.now()
            var found: String?
            for (id, d) in s.deliveries where d.started < now && now - d.started > limit {
                if d.running {
                    found = d.topic
                } else {
                    s.deliveries.removeValue(forKey: id)
                }
            }
            return found.map { (child, $0) }
        }
        if let (child, topic) = hung {
            child.kill(
                because:
                    "hung: a handler for '\(topic)' ran longer than limits.handler_timeout_ms (\(settings.handlerTimeout.shortText)) and the process was killed"
            )
        }
    }
}
