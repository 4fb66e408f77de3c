import CJameyABI
import Dispatch
import Logging

extension Kernel {
    static let errorCapacity = 1024

    /// Initialises and starts every loaded plugin in dependency order.
    ///
    /// A plugin whose dependency is missing, cyclic or failed is marked `failed` and not started;
    /// an optional plugin failing does not stop the others.
    /// - Throws: `KernelError` when a `required` plugin could not start; the plugins already
    ///   started are stopped again (in reverse order) before it throws.
    public func start() throws(KernelError) {
        // Under the lock: an operation that holds it finishes first, any after it sees the flag.
        lifecycleLock.withLock { _ in starting.store(true, ordering: .releasing) }
        defer { starting.store(false, ordering: .releasing) }
        removeLeftOverHandovers()
        let loaded = records.filter { $0.state == .loaded }
        let nodes = loaded.compactMap { record -> DependencyGraph.Node? in
            guard let d = record.descriptor else { return nil }
            return DependencyGraph.Node(name: record.name, version: d.version, requires: d.requires, provides: d.provides)
        }
        let plan = DependencyGraph.plan(nodes)
        var requiredFailures: [String] = []
        func fail(_ record: PluginRecord, _ reason: String) {
            setState(record, .failed, failure: reason)
            if record.entry.required { requiredFailures.append("required plugin '\(record.name)' failed: \(reason)") }
        }
        for (name, reason) in plan.failures.sorted(by: { $0.key < $1.key }) {
            if let record = records.first(where: { $0.name == name }) { fail(record, reason) }
        }
        for (name, unmet) in plan.unmet.sorted(by: { $0.key < $1.key }) {
            for (requirement, reason) in unmet {
                logger.info("plugin \(name) starts without '\(requirement)', which it may use: \(reason)")
            }
        }
        var started: [PluginRecord] = []
        startHealthMonitor()
        serveOperationRequests()
        for name in plan.order {
            guard let record = records.first(where: { $0.name == name }) else { continue }
            if !requiredFailures.isEmpty { break }
            // An optional requirement orders; a provider that failed does not hold the plugin back.
            if let blocked = plan.dependencies[name]?.first(where: { dep in
                !dep.requirement.optional && records.first(where: { $0.name == dep.provider })?.state != .started
            }) {
                fail(
                    record,
                    "not started: it requires '\(blocked.requirement)', provided by '\(blocked.provider)', which is not running")
                continue
            }
            if isShutdownRequested {
                fail(record, "not started: shutdown was requested during start-up")
                continue
            }
            do throws(StartFailure) {
                try initAndStart(record)
                started.append(record)
                setStartOrder(started)
            } catch {
                switch error {
                case .failed(let reason): fail(record, reason)
                case .abandoned:
                    if record.entry.required {
                        requiredFailures.append("required plugin '\(record.name)' failed: \(record.failure ?? "abandoned")")
                    }
                }
            }
        }
        if !requiredFailures.isEmpty {
            stop(deadline: config.shutdownTimeout)
            throw KernelError(requiredFailures)
        }
        setStartOrder(started)
    }

    /// `duration` from now, in uptime nanoseconds (the bus's deadlines).
    static func uptimeDeadline(_ duration: Duration) -> UInt64 {
        DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, duration.wholeNanoseconds))
    }

    /// Refuses `what` while ``start()`` runs (see ``starting``).
    func refuseWhileStarting(_ what: String) throws(KernelError) {
        guard starting.load(ordering: .acquiring) else { return }
        throw KernelError(
            "the kernel is still starting its plugins: \(what) refused; try again once it is ready", code: JAMEY_E_STATE)
    }

    /// Why ``initAndStart(_:beforeStart:)`` did not start a plugin.
    enum StartFailure: Error {
        /// A hook failed or a check did not pass; the plugin is cleaned up.
        case failed(String)
        /// A hook outlived its deadline or shutdown interrupted it; the plugin is already
        /// abandoned (marked failed).
        case abandoned
    }

    /// Initialises and starts one plugin.
    /// - Parameters:
    ///   - record: a loaded or stopped plugin.
    ///   - beforeStart: runs after init and before start (a restore, a deploy's hand-over); the
    ///     plugin is started afterwards unless it was abandoned meanwhile or `beforeStart` gave a
    ///     reason not to (it is then deinitialised and fails with it).
    func initAndStart(_ record: PluginRecord, beforeStart: () -> String? = { nil }) throws(StartFailure) {
        guard let library = record.library, let section = record.with({ $0.config }) else {
            throw .failed("not loaded")
        }
        let file = "(file \(library.path))"
        var pluginLogger = Logger(label: "jamey.plugin.\(record.name)")
        pluginLogger.logLevel = logger.logLevel
        pluginLogger[metadataKey: "plugin"] = "\(record.name)"
        let host = PluginHost(
            name: record.name, instance: record.instance, kernel: self, config: section, logger: pluginLogger,
            isolation: isolationSpec(library.path, record.entry))
        hosts.withLock { $0.append(host) }
        record.with { m in
            m.host = host
            m.health = nil
            m.healthCheckedAt = nil
            m.healthClosed = false
        }
        let deadlines = config.hooks

        // init
        let json = section.json
        let initRun: HookRun<(Int32, UnsafeMutableRawPointer?, String)> = runHook(
            record, "init", deadline: deadlines.initialize, interruptible: true
        ) {
            var state: UnsafeMutableRawPointer? = nil
            var err = [CChar](repeating: 0, count: Self.errorCapacity)
            let code = json.withCString { library.raw.init_(host.opaque, $0, json.utf8.count, &state, &err, err.count) }
            err[err.count - 1] = 0
            return (code, state, String(cBuffer: err))
        }
        let initResult = try result(of: initRun, record, "init", deadline: deadlines.initialize, file: file)
        guard initResult.0 == JAMEY_OK else {
            cleanUp(record, host: host)
            throw .failed(
                "init failed (\(Self.codeName(initResult.0))): \(initResult.2.isEmpty ? "no message" : initResult.2) \(file)")
        }
        record.with { $0.pluginState = initResult.1 }
        setState(record, .initialized)
        let refusal = beforeStart()
        if record.with({ $0.abandoned }) { throw .abandoned }
        if let refusal {
            deinitialize(record, library: library, host: host)
            throw .failed(refusal)
        }

        // start
        if let start = library.raw.start {
            let state = UnsafeSendable(initResult.1)
            let run: HookRun<(Int32, String)> = runHook(record, "start", deadline: deadlines.start, interruptible: true) {
                var err = [CChar](repeating: 0, count: Self.errorCapacity)
                let code = start(state.value, &err, err.count)
                err[err.count - 1] = 0
                return (code, String(cBuffer: err))
            }
            let (code, message) = try result(of: run, record, "start", deadline: deadlines.start, file: file)
            guard code == JAMEY_OK else {
                deinitialize(record, library: library, host: host)
                throw .failed("start failed (\(Self.codeName(code))): \(message.isEmpty ? "no message" : message) \(file)")
            }
        }
        // provides must now be registered
        for provision in library.descriptor.provides {
            guard let service = services.registration(named: provision.name, instance: record.instance) else {
                stopAndDeinitialize(record, library: library, host: host)
                throw .failed(
                    "declares that it provides '\(provision)' but did not register that service by the end of start")
            }
            guard service.version == provision.version else {
                stopAndDeinitialize(record, library: library, host: host)
                throw .failed("declares '\(provision)' but registered version \(service.version)")
            }
        }
        setState(record, .started)
        refreshHealth(record)
    }

    /// The result of a start-up hook, or the plugin abandoned when the hook outlived its deadline
    /// or shutdown interrupted the wait.
    private func result<R>(of run: HookRun<R>, _ record: PluginRecord, _ hook: String, deadline: Duration, file: String)
        throws(StartFailure) -> R
    {
        switch run {
        case .returned(let result): return result
        case .timedOut: abandon(record, reason: missedDeadline(hook, deadline) + " " + file)
        case .interrupted:
            abandon(record, reason: "shutdown was requested while \(hook) was running; the plugin is abandoned " + file)
        }
        throw .abandoned
    }

    private func stopAndDeinitialize(_ record: PluginRecord, library: PluginLibrary, host: PluginHost) {
        if let stop = library.raw.stop {
            let state = UnsafeSendable(record.with { $0.pluginState })
            let run: HookRun<Int32> = runHook(record, "stop", deadline: config.hooks.stop) {
                var err = [CChar](repeating: 0, count: Self.errorCapacity)
                return stop(state.value, &err, err.count)
            }
            guard case .returned = run else {
                abandon(record, reason: missedDeadline("stop", config.hooks.stop))
                return
            }
        }
        deinitialize(record, library: library, host: host)
    }

    /// Unsubscribes the plugin, calls its `deinit` (within `deadline`, default the stop deadline)
    /// and invalidates its host context.
    /// - Returns: false when `deinit` outlived the deadline (the plugin is then abandoned).
    @discardableResult
    func deinitialize(_ record: PluginRecord, library: PluginLibrary, host: PluginHost, deadline: Duration? = nil) -> Bool {
        // A handler still running past the stop deadline (one that never returns held every
        // stop, reload and deploy for good) leaves the plugin abandoned: deinit would free
        // what the handler uses.
        let limit = deadline ?? config.hooks.stop
        guard host.endpoint.unsubscribeAll(deadline: Self.uptimeDeadline(limit)) else {
            abandon(
                record,
                reason:
                    "a bus handler of the plugin did not return within \(limit.shortText) (\(HookDeadlines.key(of: "stop"))) when it was to be deinitialised; the plugin is abandoned and none of its other hooks will be called"
            )
            return false
        }
        // Before deinit, which may free the tables (the header lets a table live until deinit):
        // a lookup meanwhile must not find them.
        services.unregisterAll(instance: record.instance)
        guard closeHealth(record) else {
            abandon(
                record,
                reason: missedDeadline("health", config.hooks.health)
                    + " (a health call was still running when the plugin was to be deinitialised)")
            return false
        }
        if let deinit_ = library.raw.deinit_ {
            let state = UnsafeSendable(record.with { $0.pluginState })
            let run: HookRun<Void> = runHook(record, "deinit", deadline: limit) { deinit_(state.value) }
            guard case .returned = run else {
                abandon(record, reason: missedDeadline("deinit", limit, key: HookDeadlines.key(of: "stop")))
                return false
            }
        }
        cleanUp(record, host: host)
        return true
    }

    func cleanUp(_ record: PluginRecord, host: PluginHost) {
        host.endpoint.close(deadline: Self.uptimeDeadline(config.hooks.stop))
        services.unregisterAll(instance: record.instance)
        host.invalidate()
        record.with { $0.pluginState = nil }
    }

    static func codeName(_ code: Int32) -> String {
        switch code {
        case JAMEY_E_INVALID: "JAMEY_E_INVALID"
        case JAMEY_E_NOT_FOUND: "JAMEY_E_NOT_FOUND"
        case JAMEY_E_TIMEOUT: "JAMEY_E_TIMEOUT"
        case JAMEY_E_EXISTS: "JAMEY_E_EXISTS"
        case JAMEY_E_NOMEM: "JAMEY_E_NOMEM"
        case JAMEY_E_STATE: "JAMEY_E_STATE"
        case JAMEY_E_VERSION: "JAMEY_E_VERSION"
        case JAMEY_E_FULL: "JAMEY_E_FULL"
        case JAMEY_E_NO_RESPONDERS: "JAMEY_E_NO_RESPONDERS"
        case JAMEY_E_PLUGIN: "JAMEY_E_PLUGIN"
        case JAMEY_E_UNSUPPORTED: "JAMEY_E_UNSUPPORTED"
        case JAMEY_E_SHUTDOWN: "JAMEY_E_SHUTDOWN"
        case JAMEY_E_TYPE: "JAMEY_E_TYPE"
        default: "code \(code)"
        }
    }
}
