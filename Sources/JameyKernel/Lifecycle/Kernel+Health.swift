import CJameyABI
import Dispatch
import Synchronization

/// The background refresh of plugin health: one timer for the kernel; each plugin's health hook
/// runs on its own health queue, so a slow or hung hook delays nobody. Readers (`plugins`,
/// `plugins_json`, `/readyz`) only read the cached result.
final class HealthMonitor: @unchecked Sendable {
    private let timer = Mutex<DispatchSourceTimer?>(nil)
    private let queue = DispatchQueue(label: "jamey.health")

    /// Starts ticking every `tick`, calling `body` on the monitor's queue. Idempotent.
    func start(tick: Duration, _ body: @escaping @Sendable () -> Void) {
        timer.withLock { timer in
            guard timer == nil else { return }
            let source = DispatchSource.makeTimerSource(queue: queue)
            let nanos = Int(tick.wholeNanoseconds)
            source.schedule(deadline: .now() + .nanoseconds(nanos), repeating: .nanoseconds(nanos), leeway: .milliseconds(5))
            source.setEventHandler(handler: body)
            source.resume()
            timer = source
        }
    }

    /// Stops the timer; a tick in progress finishes.
    func stop() {
        timer.withLock { timer in
            timer?.cancel()
            timer = nil
        }
    }
}

extension Kernel {
    /// The cached health of a started plugin (never calls the plugin); nil until its first health
    /// call has returned (unknown, not "ok").
    func cachedHealth(_ record: PluginRecord) -> PluginHealth? {
        guard record.library?.raw.health != nil else { return PluginHealth(status: "ok", detail: "") }
        return record.with { $0.health }
    }

    /// Starts the background refresh (called by ``start()``).
    func startHealthMonitor() {
        let deadlines = config.hooks
        let tick = max(min(deadlines.healthInterval, deadlines.health) / 4, .milliseconds(10))
        healthMonitor.start(tick: min(tick, .seconds(1))) { [weak self] in self?.healthTick() }
    }

    /// One pass: abandons plugins whose health call outlived its deadline and starts the calls
    /// that are due.
    func healthTick() {
        reportDroppedLogLines()
        let clock = ContinuousClock()
        let now = clock.now
        let deadlines = config.hooks
        for record in startOrder where record.state == .started {
            guard record.library?.raw.health != nil else { continue }
            enum Action { case none, call, abandon }
            let action: Action = record.with { m in
                if m.abandoned { return .none }
                if let began = m.healthCallStarted {
                    return now - began > deadlines.health ? .abandon : .none
                }
                if let checked = m.healthCheckedAt, now - checked < deadlines.healthInterval { return .none }
                return .call
            }
            switch action {
            case .none: break
            case .call: refreshHealth(record)
            case .abandon: abandon(record, reason: missedDeadline("health", deadlines.health))
            }
        }
    }

    /// Warns of log lines the standard error sink dropped while its reader had stopped, once it
    /// writes again (a warning to a stalled sink would be dropped too, and counted).
    func reportDroppedLogLines() {
        let sink = LogSink.standardError
        guard !sink.isStalled else { return }
        let lines = sink.droppedSinceLastCall()
        guard lines > 0 else { return }
        logger.warning(
            "\(lines) log line(s) were dropped: standard error's reader stopped reading, and the server went on without waiting for it (jamey_log_lines_dropped_total)"
        )
    }

    /// Starts one health call on the plugin's health queue unless one is running.
    func refreshHealth(_ record: PluginRecord) {
        guard let library = record.library, let hook = library.raw.health else { return }
        let clock = ContinuousClock()
        let began = clock.now
        let state: UnsafeSendable<UnsafeMutableRawPointer?>? = record.with { m in
            guard m.healthCallStarted == nil, !m.abandoned, !m.healthClosed else { return nil }
            m.healthCallStarted = began
            return UnsafeSendable(m.pluginState)
        }
        guard let state else { return }
        let plugin = UnsafeSendable(record.crashLabel)
        record.healthQueue.async { [self] in
            let health = CrashContext.running(plugin: plugin.value, what: CrashContext.hookLabel("health")) {
                Self.callHealth(hook, state.value)
            }
            let end = clock.now
            recordHook(record, "health", end - began)
            let (changed, started) = record.with { m in
                m.healthCallStarted = nil
                m.healthCheckedAt = end
                defer { m.health = health }
                return (m.health != health, m.state == .started)
            }
            if started && isListed(record) { metrics.recordHealth(plugin: record.name, status: health.status) }
            if changed { generation.add(1, ordering: .sequentiallyConsistent) }
        }
    }

    /// Stops health calls for a plugin and waits, up to its health deadline, for one already
    /// queued or running: the health hook uses the plugin's state, which `deinit` frees.
    /// - Returns: false when a health call is still running (do not deinitialise the plugin).
    func closeHealth(_ record: PluginRecord) -> Bool {
        record.with { $0.healthClosed = true }
        let drained = DispatchSemaphore(value: 0)
        record.healthQueue.async { drained.signal() }
        let deadline = config.hooks.health
        let nanos = deadline.wholeNanoseconds
        return drained.wait(timeout: .now() + .nanoseconds(Int(nanos))) == .success
    }

    /// Calls a health hook and turns its answer into a ``PluginHealth``.
    static func callHealth(_ hook: jamey_plugin_health_fn, _ state: UnsafeMutableRawPointer?) -> PluginHealth {
        var buffer = [CChar](repeating: 0, count: 512)
        let code = hook(state, &buffer, buffer.count)
        buffer[buffer.count - 1] = 0
        let detail = String(cBuffer: buffer)
        switch code {
        case Int32(JAMEY_HEALTH_OK.rawValue): return PluginHealth(status: "ok", detail: detail)
        case Int32(JAMEY_HEALTH_DEGRADED.rawValue): return PluginHealth(status: "degraded", detail: detail)
        default: return PluginHealth(status: "unhealthy", detail: detail)
        }
    }
}
