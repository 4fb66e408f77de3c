import CJameyABI
import Dispatch
import Logging

extension Kernel {
    /// The plugins the last ``stop(deadline:)`` abandoned at their stop deadline (their `stop`
    /// still running, their `deinit` not called), in stop order; empty after a clean stop.
    public var pluginsAbandonedAtStop: [String] { abandonedAtStop.withLock { $0 } }

    /// Stops every started plugin in reverse start order, then shuts the bus down.
    ///
    /// Each plugin's `stop` gets the smaller of `hooks.stop_timeout_ms` and what is left of
    /// `deadline`; a plugin that does not return in time is marked `failed` ("stop did not return
    /// within ...") and abandoned (its `deinit` is not called, since its `stop` may still be
    /// running), so one hung plugin cannot hold the process. Idempotent.
    /// - Parameter deadline: the whole shutdown budget (config `shutdown.timeout_ms`).
    ///
    /// The plugins abandoned are in ``pluginsAbandonedAtStop``.
    public func stop(deadline: Duration? = nil) {
        requestShutdown()
        healthMonitor.stop()
        let budget = deadline ?? config.shutdownTimeout
        let clock = ContinuousClock()
        let end = clock.now + budget
        // A restore in progress (plugin_restore) finishes first: it stops and starts plugins too.
        lifecycleLock.withLock { _ in
            // Canaries first: they are not in the start order, and their stop and deinit save
            // what the stable instance's do (queued events, counters, an offline status).
            let running = canaries.withLock { c in
                defer { c.removeAll() }
                return c.values.sorted { $0.record.name < $1.record.name }
            }
            for canary in running {
                retire(canary, budget: min(config.hooks.stop, budget), until: end) { line in
                    logger.notice("canary of \(canary.record.name) at shutdown: \(line)")
                }
            }
            for record in startOrder.reversed() where record.state == .started {
                if !stopOne(record, until: end, budget: budget) {
                    abandonedAtStop.withLock { $0.append(record.name) }
                }
            }
        }
        bus.shutdown(deadline: max(end - clock.now, .milliseconds(100)))
    }

    /// Drains, stops and deinitialises one started plugin, within `end` and the stop deadline.
    /// - Returns: whether it reached `stopped` (false: it was abandoned).
    @discardableResult
    func stopOne(_ record: PluginRecord, until end: ContinuousClock.Instant, budget: Duration) -> Bool {
        let clock = ContinuousClock()
        guard let library = record.library, let host = record.with({ $0.host }) else { return false }
        setState(record, .stopping)
        // A plugin stopped after a hung one still gets a short grace period, so one hung
        // plugin does not take the others' clean stop with it.
        let floor = max(min(budget / 4, .seconds(1)), .milliseconds(10))
        let remaining = min(max(end - clock.now, floor), config.hooks.stop)
        // Out of routing, then drained: no new message reaches a plugin that is stopping (a
        // request gets "no responder" rather than being taken and dropped), and the messages
        // already queued for it are handled before its stop (its dependents, which might still
        // publish to it, were stopped before it).
        if !host.endpoint.retireAll(timeout: remaining / 2) {
            logger.warning("plugin \(record.name): bus queue not drained before stop; undelivered messages are dropped")
        }
        let hookDeadline = max(min(end - clock.now, config.hooks.stop), floor)
        if let stop = library.raw.stop {
            let state = UnsafeSendable(record.with { $0.pluginState })
            let run: HookRun<(Int32, String)> = runHook(record, "stop", deadline: hookDeadline) {
                var err = [CChar](repeating: 0, count: Self.errorCapacity)
                let code = stop(state.value, &err, err.count)
                err[err.count - 1] = 0
                return (code, String(cBuffer: err))
            }
            guard case .returned(let (code, message)) = run else {
                abandon(
                    record,
                    reason:
                        "stop did not return within its deadline of \(hookDeadline.shortText) (hooks.stop_timeout_ms, within shutdown.timeout_ms of \(budget.shortText)); the plugin is abandoned"
                )
                return false
            }
            if code != JAMEY_OK {
                logger.warning("plugin \(record.name) stop returned \(Self.codeName(code)): \(message)")
            }
        }
        let deinitDeadline = max(end - clock.now, floor)
        guard deinitialize(record, library: library, host: host, deadline: deinitDeadline) else { return false }
        setState(record, .stopped)
        return true
    }
}
