/// The lifecycle of the MQTT bridge's loop thread, as one value (kept under one lock by the
/// bridge), in the manner of swift-service-lifecycle's `ServiceGroup.State`.
///
/// ```
/// initial ──start()──▶ running ──stop()──▶ stopping ──loopFinished()──▶ finished
///    │                                        │
///    └──────────────── stop() ────────────────┴───────────────────────▶ finished
///                     (never started)              (stop() on finished: nothing)
/// ```
///
/// - `initial`: the bridge exists; its loop thread has not been started.
/// - `running`: the loop thread connects, serves the connection, waits out the backoff, and
///   reconnects, until it sees ``isStopping``.
/// - `stopping`: `stop()` asked the loop thread to finish (publish the offline status, wait for
///   acknowledgements, disconnect, put what is unacknowledged back in the spool) and waits for it,
///   up to a deadline; the waiters are resumed when the thread ends or the deadline passes.
/// - `finished`: the loop thread has ended, or was never started. Final.
///
/// The connection's own phases (connecting, connected, waiting for the next attempt) live inside
/// `running`, in the bridge's link state, which health and `mqtt.status` report.
///
/// Each transition is a mutating method returning what the caller must do next (whom to resume),
/// so every continuation is resumed exactly once, outside the lock.
package enum BridgeLifecycle: Sendable {
    /// Not started yet.
    case initial
    /// The loop thread runs.
    case running
    /// `stop()` waits for the loop thread; `waiters` learn whether it ended in time.
    case stopping(waiters: [CheckedContinuation<Bool, Never>])
    /// The loop thread has ended (or never started).
    case finished

    /// The loop thread should finish (or has).
    package var isStopping: Bool {
        switch self {
        case .initial, .running: false
        case .stopping, .finished: true
        }
    }

    /// `start()`: `initial` → `running`.
    /// - Returns: whether to start the loop thread (false once stopped: a stopped bridge stays
    ///   stopped).
    package mutating func start() -> Bool {
        guard case .initial = self else { return false }
        self = .running
        return true
    }

    /// What `stop()` does after ``stop(waiter:)``.
    package enum StopAction: Equatable, Sendable {
        /// Wake the loop thread, and wait (bounded) for the waiter to be resumed.
        case wakeLoopAndWait
        /// Another `stop()` already woke the loop thread; wait for the waiter to be resumed.
        case wait
        /// Nothing runs: resume the waiter with `true` now.
        case resumeNow
    }

    /// `stop()`: `initial` → `finished`; `running` or `stopping` → `stopping` with `waiter` added.
    /// - Parameter waiter: resumed with whether the loop thread ended in time.
    /// - Returns: what the caller does next.
    package mutating func stop(waiter: CheckedContinuation<Bool, Never>) -> StopAction {
        switch self {
        case .initial, .finished:
            self = .finished
            return .resumeNow
        case .running:
            self = .stopping(waiters: [waiter])
            return .wakeLoopAndWait
        case .stopping(var waiters):
            waiters.append(waiter)
            self = .stopping(waiters: waiters)
            return .wait
        }
    }

    /// The stop deadline passed: the waiters give up (resume them with `false`); the loop thread,
    /// still `stopping`, ends when it can.
    /// - Returns: the waiters to resume with `false`.
    package mutating func stopDeadlinePassed() -> [CheckedContinuation<Bool, Never>] {
        guard case .stopping(let waiters) = self else { return [] }
        self = .stopping(waiters: [])
        return waiters
    }

    /// The loop thread ends: anything → `finished`.
    /// - Returns: the waiters to resume with `true`.
    package mutating func loopFinished() -> [CheckedContinuation<Bool, Never>] {
        defer { self = .finished }
        guard case .stopping(let waiters) = self else { return [] }
        return waiters
    }
}
