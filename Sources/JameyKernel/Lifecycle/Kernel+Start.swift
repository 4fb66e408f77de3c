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
        var started: [PluginRecord] = []
        for name in plan.order {
            guard let record = records.first(where: { $0.name == name }) else { continue }
            if !requiredFailures.isEmpty { break }
            if let blocked = plan.dependencies[name]?.first(where: { dep in
                records.first(where: { $0.name == dep.provider })?.state != .started
            }) {
                fail(
                    record,
                    "not started: it requires '\(blocked.requirement)', provided by '\(blocked.provider)', which is not running")
                continue
            }
            do throws(KernelError) {
                try initAndStart(record)
                started.append(record)
                setStartOrder(started)
            } catch {
                fail(record, error.description)
            }
        }
        if !requiredFailures.isEmpty {
            stop(deadline: config.shutdownTimeout)
            throw KernelError(requiredFailures)
        }
        setStartOrder(started)
    }

    private func initAndStart(_ record: PluginRecord) throws(KernelError) {
        guard let library = record.library, let section = record.with({ $0.config }) else {
            throw KernelError("not loaded")
        }
        var pluginLogger = Logger(label: "jamey.plugin.\(record.name)")
        pluginLogger.logLevel = logger.logLevel
        pluginLogger[metadataKey: "plugin"] = "\(record.name)"
        let host = PluginHost(name: record.name, kernel: self, config: section, logger: pluginLogger)
        record.with { $0.host = host }

        // init
        let json = section.json
        let initResult: (Int32, UnsafeMutableRawPointer?, String) = runHook(record, "init") {
            var state: UnsafeMutableRawPointer? = nil
            var err = [CChar](repeating: 0, count: Self.errorCapacity)
            let code = json.withCString { library.raw.init_(host.opaque, $0, json.utf8.count, &state, &err, err.count) }
            return (code, state, String(cBuffer: err))
        }
        guard initResult.0 == JAMEY_OK else {
            cleanUp(record, host: host)
            throw KernelError(
                "init failed (\(Self.codeName(initResult.0))): \(initResult.2.isEmpty ? "no message" : initResult.2)")
        }
        record.with { $0.pluginState = initResult.1 }
        setState(record, .initialized)

        // start
        if let start = library.raw.start {
            let state = UnsafeSendable(initResult.1)
            let (code, message): (Int32, String) = runHook(record, "start") {
                var err = [CChar](repeating: 0, count: Self.errorCapacity)
                let code = start(state.value, &err, err.count)
                return (code, String(cBuffer: err))
            }
            guard code == JAMEY_OK else {
                deinitialize(record, library: library, host: host)
                throw KernelError("start failed (\(Self.codeName(code))): \(message.isEmpty ? "no message" : message)")
            }
        }
        // provides must now be registered
        for provision in library.descriptor.provides {
            guard let service = services.service(named: provision.name), service.owner == record.name else {
                stopAndDeinitialize(record, library: library, host: host)
                throw KernelError(
                    "declares that it provides '\(provision)' but did not register that service by the end of start")
            }
            guard service.version == provision.version else {
                stopAndDeinitialize(record, library: library, host: host)
                throw KernelError(
                    "declares '\(provision)' but registered version \(service.version)")
            }
        }
        setState(record, .started)
    }

    /// Runs a hook on the plugin's own queue, timing it.
    func runHook<R>(_ record: PluginRecord, _ hook: String, _ body: @escaping () -> R) -> R {
        let clock = ContinuousClock()
        let startTime = clock.now
        let result = record.queue.sync(execute: body)
        metrics.recordHook(plugin: record.name, hook: hook, duration: clock.now - startTime)
        return result
    }

    private func stopAndDeinitialize(_ record: PluginRecord, library: PluginLibrary, host: PluginHost) {
        if let stop = library.raw.stop {
            let state = UnsafeSendable(record.with { $0.pluginState })
            _ = runHook(record, "stop") {
                var err = [CChar](repeating: 0, count: Self.errorCapacity)
                return stop(state.value, &err, err.count)
            }
        }
        deinitialize(record, library: library, host: host)
    }

    func deinitialize(_ record: PluginRecord, library: PluginLibrary, host: PluginHost) {
        host.endpoint.unsubscribeAll()
        if let deinit_ = library.raw.deinit_ {
            let state = UnsafeSendable(record.with { $0.pluginState })
            runHook(record, "deinit") { deinit_(state.value) }
        }
        cleanUp(record, host: host)
    }

    func cleanUp(_ record: PluginRecord, host: PluginHost) {
        host.endpoint.unsubscribeAll()
        services.unregisterAll(owner: record.name)
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
