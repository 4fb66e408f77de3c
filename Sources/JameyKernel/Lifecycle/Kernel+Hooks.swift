import Dispatch
import Synchronization

/// How a plugin hook run under a deadline ended.
enum HookRun<Result> {
    /// The hook returned this within its deadline.
    case returned(Result)
    /// The hook was still running at its deadline; its thread is abandoned.
    case timedOut
    /// Shutdown was requested while the hook ran; its thread is abandoned.
    case interrupted
}

/// The hand-over of one hook's result from the plugin's queue to the waiting kernel thread.
/// `value` is written once before `done` is signalled and read only after a successful wait, so
/// the semaphore orders the two accesses.
private final class HookResultBox<Result>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: Result?

    func finish(_ result: Result) {
        value = result
        done.signal()
    }

    /// The result, or nil when none arrived within `timeout`.
    func wait(_ timeout: Duration) -> Result? {
        let nanos = max(0, timeout.wholeNanoseconds)
        guard done.wait(timeout: .now() + .nanoseconds(Int(nanos))) == .success else { return nil }
        return value
    }
}

extension Kernel {
    /// Runs a hook on the plugin's own queue and waits for it at most `deadline`, timing it.
    ///
    /// - Parameters:
    ///   - record: the plugin.
    ///   - hook: the hook's name, for metrics and messages (`init`, `start`, ...).
    ///   - deadline: how long to wait.
    ///   - interruptible: stop waiting as soon as ``requestShutdown()`` is called (start-up hooks).
    ///   - body: the call into the plugin.
    /// - Returns: the hook's result, or how the wait ended without one. On `.timedOut` and
    ///   `.interrupted` the caller must ``abandon(_:hook:reason:)`` the plugin.
    func runHook<Result>(
        _ record: PluginRecord, _ hook: String, deadline: Duration, interruptible: Bool = false,
        _ body: @escaping () -> Result
    ) -> HookRun<Result> {
        let clock = ContinuousClock()
        let began = clock.now
        let box = HookResultBox<Result>()
        let work = UnsafeSendable(body)
        let plugin = UnsafeSendable(record.crashLabel)
        let hookLabel = UnsafeSendable(CrashContext.hookLabel(hook))
        // What `hook_time_left` answers while the hook runs (lifecycle hooks of one plugin run
        // one at a time, on its queue); cleared as it returns.
        let host = record.with { $0.host }
        let due = Self.uptimeDeadline(deadline)
        record.queue.async {
            host?.hookDeadline.store(due, ordering: .releasing)
            let result = CrashContext.running(plugin: plugin.value, what: hookLabel.value) { work.value() }
            host?.hookDeadline.store(0, ordering: .releasing)
            box.finish(result)
        }
        let end = began + deadline
        while true {
            let now = clock.now
            guard now < end else { return .timedOut }
            let slice = interruptible ? min(end - now, .milliseconds(25)) : end - now
            if let result = box.wait(slice) {
                recordHook(record, hook, clock.now - began)
                return .returned(result)
            }
            if interruptible && isShutdownRequested { return .interrupted }
        }
    }

    /// Gives up on a plugin whose hook did not return: marks it `failed` with `reason`, removes
    /// its subscriptions and services and invalidates its host context. Its queue stays blocked
    /// by the running hook, so none of its other hooks is ever called.
    func abandon(_ record: PluginRecord, reason: String) {
        record.with { $0.abandoned = true }
        if let host = record.with({ $0.host }) {
            // Not waited for: an abandoned plugin is never deinitialised, and a handler that
            // never returns held the caller (the health monitor, a stop) for good.
            host.endpoint.close(deadline: 0)
            services.unregisterAll(instance: record.instance)
            host.invalidate()
        }
        setState(record, .failed, failure: reason)
    }

    /// The sentence for a hook that outlived its deadline.
    func missedDeadline(_ hook: String, _ deadline: Duration, key: String? = nil) -> String {
        "\(hook) did not return within its deadline of \(deadline.shortText) (\(key ?? HookDeadlines.key(of: hook))); the plugin is abandoned and none of its other hooks will be called"
    }

    /// Asks a running ``start()`` to stop waiting for plugin hooks and return, so shutdown can
    /// begin (SIGTERM during start-up). Thread-safe; idempotent.
    public func requestShutdown() {
        shutdownRequested.store(true, ordering: .releasing)
    }

    /// Whether ``requestShutdown()`` was called.
    public var isShutdownRequested: Bool { shutdownRequested.load(ordering: .acquiring) }
}

extension Duration {
    /// Whole milliseconds (rounded toward zero).
    var wholeMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }

    /// `250 ms`, `2.5 s`, `10 s`: short text for messages.
    var shortText: String {
        let ms = wholeMilliseconds
        if ms < 1000 { return "\(ms) ms" }
        if ms % 1000 == 0 { return "\(ms / 1000) s" }
        return "\(ms / 1000).\((ms % 1000) / 100) s"
    }
}
