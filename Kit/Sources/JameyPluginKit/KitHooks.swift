import CJameyABI
import Foundation

/// The C hooks of every Swift plugin. Each resolves the exported factory and the plugin box,
/// runs the author's async code to completion on the kit's own executor thread
/// (``PluginExecutor``) while the kernel's lifecycle thread waits, and turns thrown errors into
/// the hook's error buffer.
enum KitHooks {
    static let initHook: jamey_plugin_init_fn = { host, json, length, stateOut, err, cap in
        KitHooks.initialize(
            PluginExport.shared.factory, api: PluginExport.shared.api, ownsImage: true, host, json, length, stateOut, err, cap)
    }

    /// The init hook's work, for the exported plugin and for in-process ones (``inProcessEntryPoint(for:)``).
    /// - Parameters:
    ///   - ownsImage: whether this image is the plugin's own (loaded with dlopen), so the kit may
    ///     install its swift-log and swift-metrics backends image-wide; false in-process, where
    ///     the image, and its `LoggingSystem` and `MetricsSystem`, belong to the host.
    static func initialize(
        _ factory: PluginFactory?, api: UnsafePointer<jamey_host_api>?, ownsImage: Bool, _ host: OpaquePointer?,
        _ json: UnsafePointer<CChar>?, _ length: Int, _ stateOut: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
        _ err: UnsafeMutablePointer<CChar>?, _ cap: Int
    ) -> Int32 {
        guard let host, let stateOut, let factory, let api else {
            writeError("plugin kit was not registered before init", err, cap)
            return JAMEY_E_STATE
        }
        let data = json.map { Data(bytes: $0, count: length) } ?? Data("{}".utf8)
        let context = PluginContext(host: HostHandle(host: host, api: api), name: factory.manifest.name)
        if ownsImage { context.bootstrapOnce() }
        let result = runBlocking { try await factory.make(context, data) }
        switch result {
        case .success(let plugin):
            let box = PluginBox(plugin: plugin, context: context, factory: factory)
            stateOut.pointee = Unmanaged.passRetained(box).toOpaque()
            return JAMEY_OK
        case .failure(let error):
            context.closeAll()
            writeError(error.readable, err, cap)
            return JAMEY_E_PLUGIN
        }
    }

    static let startHook: jamey_plugin_lifecycle_fn = { state, err, cap in
        guard let box = box(state) else { return JAMEY_E_STATE }
        let plugin = box.plugin
        return finish(runBlocking { try await plugin.start() }, err, cap)
    }

    static let stopHook: jamey_plugin_lifecycle_fn = { state, err, cap in
        guard let box = box(state) else { return JAMEY_E_STATE }
        let plugin = box.plugin
        // Requests being answered finish first, for up to half the time the kernel's stop
        // deadline leaves (the other half is the plugin's own stop): a fixed 2 s outlived a
        // deadline set below it, and the plugin was abandoned. 2 s when the host cannot tell.
        let wait = box.context.hookTimeLeft.map { $0 / 2 } ?? .seconds(2)
        if !box.context.bus.waitForAnswers(timeout: wait) {
            box.context.logger.warning("stopping with requests still being answered after \(wait.roundedMilliseconds) ms")
        }
        let result = runBlocking { try await plugin.stop() }
        box.context.closeAll()
        return finish(result, err, cap)
    }

    static let deinitHook: jamey_plugin_deinit_fn = { state in
        guard let state else { return }
        let box = Unmanaged<PluginBox>.fromOpaque(state)
        box.takeUnretainedValue().context.closeAll()
        box.release()
    }

    static let healthHook: jamey_plugin_health_fn = { state, detail, cap in
        guard let box = box(state) else { return Int32(JAMEY_HEALTH_UNHEALTHY.rawValue) }
        let report = box.plugin.health()
        writeError(report.detail, detail, cap)
        return report.status.rawValue
    }

    static let snapshotHook: jamey_plugin_dir_fn = { state, dir, err, cap in
        guard let box = box(state), let dir, let snapshot = box.factory.snapshot else {
            return JAMEY_E_UNSUPPORTED
        }
        let path = String(cString: dir)
        let plugin = box.plugin
        return finish(runBlocking { try await snapshot(plugin, path) }, err, cap)
    }

    static let restoreHook: jamey_plugin_dir_fn = { state, dir, err, cap in
        guard let box = box(state), let dir, let restore = box.factory.restore else {
            return JAMEY_E_UNSUPPORTED
        }
        let path = String(cString: dir)
        let plugin = box.plugin
        return finish(runBlocking { try await restore(plugin, path) }, err, cap)
    }

    static let handOverHook: jamey_plugin_dir_fn = { state, dir, err, cap in
        guard let box = box(state), let dir, let handOver = box.factory.handOver else { return JAMEY_E_UNSUPPORTED }
        let path = String(cString: dir)
        let plugin = box.plugin
        return finish(runBlocking { try await handOver(plugin, path) }, err, cap)
    }

    static let takeOverHook: jamey_plugin_dir_fn = { state, dir, err, cap in
        guard let box = box(state), let dir, let takeOver = box.factory.takeOver else { return JAMEY_E_UNSUPPORTED }
        let path = String(cString: dir)
        let plugin = box.plugin
        return finish(runBlocking { try await takeOver(plugin, path) }, err, cap)
    }

    static let reconfigureHook: jamey_plugin_reconfigure_fn = { state, json, length, err, cap in
        guard let box = box(state), let reconfigure = box.factory.reconfigure else { return JAMEY_E_UNSUPPORTED }
        let data = json.map { Data(bytes: $0, count: length) } ?? Data("{}".utf8)
        let plugin = box.plugin
        switch runBlocking({ try await reconfigure(plugin, data) }) {
        case .success: return JAMEY_OK
        case .failure(let error as JameyError) where error.code == .unsupported:
            writeError(error.message, err, cap)
            return JAMEY_E_UNSUPPORTED
        case .failure(let error):
            writeError(error.readable, err, cap)
            return JAMEY_E_PLUGIN
        }
    }

    static let checkHook: jamey_plugin_check_fn = { _, json, length, err, cap in
        KitHooks.check(PluginExport.shared.factory, json, length, err, cap)
    }

    /// The check hook's work, for the exported plugin and for in-process ones: the problems, one
    /// per line, into `err`.
    static func check(
        _ factory: PluginFactory?, _ json: UnsafePointer<CChar>?, _ length: Int, _ err: UnsafeMutablePointer<CChar>?, _ cap: Int
    ) -> Int32 {
        guard let check = factory?.check else { return JAMEY_OK }
        let problems = check(json.map { Data(bytes: $0, count: length) } ?? Data("{}".utf8))
        guard !problems.isEmpty else { return JAMEY_OK }
        writeError(problems.map { $0.replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\n"), err, cap)
        return JAMEY_E_INVALID
    }

    private static func box(_ state: UnsafeMutableRawPointer?) -> PluginBox? {
        state.map { Unmanaged<PluginBox>.fromOpaque($0).takeUnretainedValue() }
    }

    private static func finish(_ result: Result<Void, any Error>, _ err: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
        switch result {
        case .success: return JAMEY_OK
        case .failure(let error):
            writeError(error.readable, err, cap)
            return JAMEY_E_PLUGIN
        }
    }
}

/// The plugin's `jamey_host *` and the host table, carried together.
struct HostHandle: @unchecked Sendable {
    let host: OpaquePointer
    let api: UnsafePointer<jamey_host_api>
}

extension Duration {
    /// Whole milliseconds, for log lines.
    var roundedMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
