import CJameyABI
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// When a canary is rolled back by itself.
public struct CanaryPolicy: Sendable, Equatable {
    /// Watch the figures and roll back when the canary does worse than the stable instance.
    public var autoRollback = true
    /// The figures compared are those of the requests completed in this window.
    public var window: Duration = .seconds(30)
    /// Fewest canary requests in the window before anything is judged (and, for latency, stable
    /// ones too: a p99 of a few requests is noise).
    public var minRequests = 100
    /// Roll back when the canary's error rate exceeds the stable one's by more than this
    /// (0.05: five percentage points).
    public var maxErrorRateIncrease = 0.05
    /// Roll back when the canary's p99 exceeds the stable one's by more than this fraction
    /// (1.0: twice the stable p99) ...
    public var maxP99Increase = 1.0
    /// ... and by more than this much (so microsecond noise never triggers it).
    public var minP99Difference: Duration = .milliseconds(5)

    public init() {}

    /// Why the canary should be rolled back by these figures, or nil.
    func verdict(stable: TrafficSplit.Figures, canary: TrafficSplit.Figures) -> String? {
        guard autoRollback, canary.requests >= minRequests else { return nil }
        let increase = canary.errorRate - stable.errorRate
        if increase > maxErrorRateIncrease {
            return
                "its error rate was \(Self.percent(canary.errorRate)) against \(Self.percent(stable.errorRate)) for the stable "
                + "instance over the last \(window.shortText) (\(canary.errors) of \(canary.requests) requests failed; the margin "
                + "is \(Self.percent(maxErrorRateIncrease)))"
        }
        if stable.requests >= minRequests, let s = stable.p99, let c = canary.p99, c - s > minP99Difference,
            c > s * (1 + maxP99Increase)
        {
            return "its p99 latency was \(c.shortText) against \(s.shortText) for the stable instance over the last "
                + "\(window.shortText) (the margin is +\(Int(maxP99Increase * 100)) % and at least \(minP99Difference.shortText))"
        }
        return nil
    }

    private static func percent(_ value: Double) -> String {
        let tenths = (value * 1000).rounded() / 10
        return "\(tenths) %"
    }
}

/// A canary release in progress: the new build runs beside the stable instance and takes a
/// share of the plugin's traffic.
struct Canary: Sendable {
    let record: PluginRecord
    let split: TrafficSplit
    let policy: CanaryPolicy
    let from: String
    let to: String
    let path: String
}

/// What ``Kernel/canaryStatus(plugin:)`` reports.
public struct CanaryStatus: Sendable {
    /// The plugin.
    public let plugin: String
    /// The stable and canary versions, as `version (path)`.
    public let stable: String
    public let canary: String
    /// The canary's share in percent.
    public let weight: Int
    /// Each side's figures in the policy's window.
    public let window: [TrafficSplit.Side: TrafficSplit.Figures]
    /// Each side's requests and errors since the canary began.
    public let total: [TrafficSplit.Side: (requests: Int, errors: Int)]
    /// The rollback policy.
    public let policy: CanaryPolicy
}

extension Kernel {
    /// Starts a canary release: the new build of `name` starts beside the running instance (as
    /// in ``deploy(plugin:path:progress:)``) and takes `weight` percent of the plugin's bus
    /// traffic — requests and events of the topics both instances subscribe to, and so the HTTP
    /// routes the plugin declares — sticky by caller (see ``TrafficSplit``). Services stay with
    /// the stable instance, and dependents keep running on it, until ``promoteCanary(plugin:)``.
    ///
    /// With `policy.autoRollback`, the kernel compares both sides' figures every 250 ms and rolls
    /// the canary back when its error rate or p99 latency is worse than the stable instance's
    /// by more than the policy's margins.
    /// - Returns: every step taken.
    /// - Throws: `KernelError` as ``deploy(plugin:path:progress:)``, and JAMEY_E_INVALID for a
    ///   weight outside 1–99, JAMEY_E_STATE when the plugin already has a canary.
    @discardableResult
    public func startCanary(
        plugin name: String, path: String, weight: Int, policy: CanaryPolicy = CanaryPolicy(),
        progress: (String) -> Void = { _ in }
    ) throws(KernelError) -> [String] {
        guard (1...99).contains(weight) else {
            throw KernelError("a canary's weight is a percentage from 1 to 99, not \(weight)", code: JAMEY_E_INVALID)
        }
        let steps = try lifecycleLock.withLock { _ throws(KernelError) -> [String] in
            try refuseWhileStarting("canary of '\(name)'")
            let old = try replaceableRecord(name)
            var steps: [String] = []
            func step(_ line: String) {
                logger.notice("canary of \(name): \(line)")
                steps.append(line)
                progress(line)
            }
            let (fresh, from, to) = try startBeside(old, path: path, step: step)
            let split = TrafficSplit(
                plugin: name, stable: old.instance, canary: fresh.instance, weight: weight, factory: metrics.factory)
            bus.routes.install(split)
            canaries.withLock { $0[name] = Canary(record: fresh, split: split, policy: policy, from: from, to: to, path: path) }
            metrics.recordCanaryWeight(plugin: name, weight: weight)
            step("\(to) takes \(weight) % of the traffic; \(from) the rest")
            return steps
        }
        if policy.autoRollback { startCanaryWatch(name) }
        return steps
    }

    /// Sets the canary's share of `name`'s traffic (1–99; promote for 100, roll back for 0).
    public func setCanaryWeight(plugin name: String, weight: Int) throws(KernelError) {
        guard (1...99).contains(weight) else {
            throw KernelError(
                "a canary's weight is a percentage from 1 to 99 (promote for all, roll back for none), not \(weight)",
                code: JAMEY_E_INVALID)
        }
        guard let canary = canaries.withLock({ $0[name] }) else {
            throw KernelError("plugin '\(name)' has no canary running", code: JAMEY_E_NOT_FOUND)
        }
        canary.split.weight = weight
        metrics.recordCanaryWeight(plugin: name, weight: weight)
        logger.notice("canary of \(name): \(canary.to) now takes \(weight) % of the traffic")
    }

    /// Makes the canary the plugin's only instance: all traffic moves to it, then the blue-green
    /// deploy's remaining steps run (the old instance drains and stops; dependents restart on the
    /// new service tables).
    /// - Returns: every step taken.
    @discardableResult
    public func promoteCanary(plugin name: String, progress: (String) -> Void = { _ in }) throws(KernelError) -> [String] {
        try lifecycleLock.withLock { _ throws(KernelError) -> [String] in
            if let stable = records.first(where: { $0.name == name }) {
                try refuseWhileSnapshotting(
                    ([stable] + dependents(of: stable)).map(\.name), "promotion of the canary of '\(name)'")
            }
            guard let canary = canaries.withLock({ $0.removeValue(forKey: name) }) else {
                throw KernelError("plugin '\(name)' has no canary running", code: JAMEY_E_NOT_FOUND)
            }
            guard let old = records.first(where: { $0.name == name }) else {
                throw KernelError("no plugin named '\(name)' is configured", code: JAMEY_E_NOT_FOUND)
            }
            var steps: [String] = []
            func step(_ line: String) {
                logger.notice("canary of \(name): \(line)")
                steps.append(line)
                progress(line)
            }
            canary.split.weight = 100
            step("promoting \(canary.to): it takes all the traffic")
            defer { bus.routes.removeSplit(of: canary.record.instance) }
            metrics.recordCanaryWeight(plugin: name, weight: 0)
            canaryOutcomes.withLock { $0[name] = "promoted \(canary.to)" }
            try completeSwap(old: old, fresh: canary.record, to: canary.to, from: canary.from, step: step)
            return steps
        }
    }

    /// Ends the canary: no new traffic reaches it, it finishes what it has queued and stops; the
    /// stable instance serves everything.
    /// - Parameter reason: why, for the log and the plugin's status (nil: by the operator).
    /// - Returns: every step taken.
    @discardableResult
    public func rollBackCanary(plugin name: String, reason: String? = nil, progress: (String) -> Void = { _ in })
        throws(KernelError) -> [String]
    {
        try lifecycleLock.withLock { _ throws(KernelError) -> [String] in
            guard let canary = canaries.withLock({ $0.removeValue(forKey: name) }) else {
                throw KernelError("plugin '\(name)' has no canary running", code: JAMEY_E_NOT_FOUND)
            }
            var steps: [String] = []
            func step(_ line: String) {
                if reason == nil {
                    logger.notice("canary of \(name): \(line)")
                } else {
                    logger.warning("canary of \(name): \(line)")
                }
                steps.append(line)
                progress(line)
            }
            step(reason.map { "rolling back \(canary.to) automatically: \($0)" } ?? "rolling back \(canary.to)")
            retire(canary, budget: config.hooks.stop, until: nil, step: step)
            metrics.recordCanaryWeight(plugin: name, weight: 0)
            metrics.recordCanaryRollback(plugin: name, automatic: reason != nil)
            canaryOutcomes.withLock { $0[name] = "rolled back \(canary.to)" + (reason.map { ": \($0)" } ?? " by the operator") }
            step("\(canary.from) serves all the traffic")
            return steps
        }
    }

    /// Takes a canary out of the traffic, lets it finish its queued work, and stops it (under
    /// the lifecycle lock; the caller removed it from ``canaries``).
    /// - Parameter end: the stop's deadline (shutdown's); nil: `budget` counted from after the
    ///   drain, so a backlog (the usual reason for a rollback) does not leave the stop hook only
    ///   its minimum.
    func retire(_ canary: Canary, budget: Duration, until end: ContinuousClock.Instant?, step: (String) -> Void) {
        canary.split.weight = 0
        let drained = canary.record.with { $0.host }?.endpoint.retireAll(timeout: budget) ?? true
        bus.routes.removeSplit(of: canary.record.instance)
        step(
            drained
                ? "the canary finished its queued work"
                : "the canary still had work queued after \(budget.shortText) (dropped)")
        stopOne(canary.record, until: end ?? ContinuousClock.now + budget, budget: budget)
    }

    /// The canary of `name`, with both sides' figures; nil when none runs.
    public func canaryStatus(plugin name: String) -> CanaryStatus? {
        guard let canary = canaries.withLock({ $0[name] }) else { return nil }
        return CanaryStatus(
            plugin: name, stable: canary.from, canary: canary.to, weight: canary.split.weight,
            window: canary.split.figures(window: canary.policy.window), total: canary.split.totalFigures,
            policy: canary.policy)
    }

    /// How the last canary of `name` ended, if one did.
    public func lastCanaryOutcome(plugin name: String) -> String? { canaryOutcomes.withLock { $0[name] } }

    /// The record a deploy or canary may replace, or why not.
    func replaceableRecord(_ name: String) throws(KernelError) -> PluginRecord {
        guard !isShutdownRequested else {
            throw KernelError("the kernel is shutting down: deploy refused", code: JAMEY_E_SHUTDOWN)
        }
        guard let old = records.first(where: { $0.name == name }) else {
            throw KernelError("no plugin named '\(name)' is configured", code: JAMEY_E_NOT_FOUND)
        }
        guard canaries.withLock({ $0[name] }) == nil else {
            throw KernelError("plugin '\(name)' has a canary running: promote it or roll it back first", code: JAMEY_E_STATE)
        }
        guard old.state == .started, !old.with({ $0.abandoned }), old.library != nil else {
            throw KernelError("plugin '\(name)' is \(old.state): only a started plugin can be replaced", code: JAMEY_E_STATE)
        }
        try refuseWhileSnapshotting(([old] + dependents(of: old)).map(\.name), "replacing '\(name)'")
        return old
    }

    /// Watches `name`'s canary every 250 ms until it ends, rolling it back when its policy says.
    private func startCanaryWatch(_ name: String) {
        KernelThread.spawn(name: "jamey-canary") { [weak self] in
            while let self, !self.isShutdownRequested {
                guard let canary = self.canaries.withLock({ $0[name] }) else { return }
                let figures = canary.split.figures(window: canary.policy.window)
                if let stable = figures[.stable], let tried = figures[.canary],
                    let reason = canary.policy.verdict(stable: stable, canary: tried)
                {
                    // Only this canary: a newer one of the same plugin has its own watch.
                    guard self.canaries.withLock({ $0[name]?.record === canary.record }) else { return }
                    _ = try? self.rollBackCanary(plugin: name, reason: reason)
                    return
                }
                usleep(250_000)
            }
        }
    }
}
