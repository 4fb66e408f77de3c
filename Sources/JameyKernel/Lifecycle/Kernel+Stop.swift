import CJameyABI
import Dispatch
import Logging

extension Kernel {
    /// Stops every started plugin in reverse start order, then shuts the bus down.
    ///
    /// Each plugin's `stop` gets what is left of `deadline`; a plugin that does not return in
    /// time is marked `failed` ("did not stop within ...") and skipped (its `deinit` is not
    /// called, since its `stop` may still be running), so one hung plugin cannot hold the
    /// process. Idempotent.
    /// - Parameter deadline: the whole shutdown budget (config `shutdown.timeout_ms`).
    public func stop(deadline: Duration? = nil) {
        let budget = deadline ?? config.shutdownTimeout
        let clock = ContinuousClock()
        let end = clock.now + budget
        for record in startOrder.reversed() where record.state == .started {
            guard let library = record.library, let host = record.with({ $0.host }) else { continue }
            setState(record, .stopping)
            // A plugin stopped after a hung one still gets a short grace period, so one hung
            // plugin does not take the others' clean stop with it.
            let floor = max(min(budget / 4, .seconds(1)), .milliseconds(10))
            let remaining = max(end - clock.now, floor)
            // Drain: messages already queued for this plugin are handled before it stops (its
            // dependents, which might still publish to it, were stopped before it).
            if !host.endpoint.drain(timeout: remaining / 2) {
                logger.warning("plugin \(record.name): bus queue not drained before stop; undelivered messages are dropped")
            }
            let state = UnsafeSendable(record.with { $0.pluginState })
            var finished = true
            if let stop = library.raw.stop {
                let startTime = clock.now
                let done = DispatchSemaphore(value: 0)
                let outcome = HookOutcome()
                record.queue.async {
                    var err = [CChar](repeating: 0, count: Self.errorCapacity)
                    let code = stop(state.value, &err, err.count)
                    outcome.set(code, String(cBuffer: err))
                    done.signal()
                }
                let wait = max(remaining, .zero)
                let nanos = wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000
                if done.wait(timeout: .now() + .nanoseconds(Int(nanos))) == .timedOut {
                    finished = false
                } else {
                    metrics.recordHook(plugin: record.name, hook: "stop", duration: clock.now - startTime)
                    let (code, message) = outcome.get()
                    if code != JAMEY_OK {
                        logger.warning("plugin \(record.name) stop returned \(Self.codeName(code)): \(message)")
                    }
                }
            }
            guard finished else {
                host.endpoint.unsubscribeAll()
                setState(record, .failed, failure: "did not stop within the shutdown deadline of \(budget)")
                continue
            }
            deinitialize(record, library: library, host: host)
            setState(record, .stopped)
        }
        bus.shutdown(deadline: max(end - clock.now, .milliseconds(100)))
    }
}

/// The result of a hook run on another thread.
final class HookOutcome: @unchecked Sendable {
    private var code: Int32 = JAMEY_OK
    private var message = ""
    private let lock = DispatchSemaphore(value: 1)
    func set(_ code: Int32, _ message: String) {
        lock.wait()
        self.code = code
        self.message = message
        lock.signal()
    }
    func get() -> (Int32, String) {
        lock.wait()
        defer { lock.signal() }
        return (code, message)
    }
}
