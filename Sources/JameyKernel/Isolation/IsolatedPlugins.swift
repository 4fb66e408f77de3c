import CJameyABI
import Synchronization

/// The proxy descriptors of isolated plugins: the kernel runs their hooks as usual, and the
/// hooks hand over to a ``PluginSupervisor`` that runs the real ones in a child process.
enum IsolatedPlugins {
    /// What the proxy's init needs to start a plugin's child.
    struct Spec: Sendable {
        let library: String
        let settings: IsolationSettings
        let runner: String
    }

    /// The supervisor of each running isolated instance, by kernel and instance.
    static let supervisors = Mutex<[Key: PluginSupervisor]>([:])

    /// A plugin name or instance of one kernel (tests run several kernels in one process).
    struct Key: Hashable {
        let kernel: ObjectIdentifier
        let name: String
        init(_ kernel: Kernel, _ name: String) {
            self.kernel = ObjectIdentifier(kernel)
            self.name = name
        }
    }

    /// A copy of `raw` whose hooks are the proxy's. Snapshot, restore, reconfigure, check and the
    /// hand-over are left out: a reload restarts an isolated plugin, backups and deploys do not
    /// reach into its process, and
    /// its code runs in the kernel's process only for the entry point (the kernel runs its check
    /// in a process of its own: ``PluginSupervisor/check(deadline:)``).
    /// Allocated once per load and never freed (descriptors live as long as the process).
    static func descriptor(wrapping raw: UnsafePointer<jamey_plugin_descriptor>) -> UnsafePointer<jamey_plugin_descriptor> {
        let copy = UnsafeMutablePointer<jamey_plugin_descriptor>.allocate(capacity: 1)
        copy.initialize(to: raw.pointee)
        copy.pointee.`init` = proxyInit
        copy.pointee.start = proxyStart
        copy.pointee.stop = proxyStop
        copy.pointee.`deinit` = proxyDeinit
        copy.pointee.health = proxyHealth
        copy.pointee.snapshot = nil
        copy.pointee.restore = nil
        copy.pointee.reconfigure = nil
        copy.pointee.check = nil
        copy.pointee.hand_over = nil
        copy.pointee.take_over = nil
        return UnsafePointer(copy)
    }

    private static func supervisor(_ state: UnsafeMutableRawPointer?) -> PluginSupervisor? {
        state.map { Unmanaged<PluginSupervisor>.fromOpaque($0).takeUnretainedValue() }
    }

    private static func write(_ text: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) {
        guard let buffer, capacity > 0 else { return }
        let bytes = Array(text.utf8.prefix(capacity - 1))
        for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
        buffer[bytes.count] = 0
    }

    private static let proxyInit: jamey_plugin_init_fn = { host, json, length, stateOut, err, cap in
        guard let host, let stateOut else { return JAMEY_E_INVALID }
        let pluginHost = Unmanaged<PluginHost>.fromOpaque(UnsafeRawPointer(host)).takeUnretainedValue()
        // The instance's own build: kept by the plugin's name, the settings of a deploy the
        // new build's check refused started that build at the running plugin's next restart.
        guard let spec = pluginHost.isolation else {
            write("no isolation settings for plugin '\(pluginHost.name)'", err, cap)
            return JAMEY_E_STATE
        }
        let config = json.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
        let supervisor = PluginSupervisor(host: pluginHost, spec: spec, config: config)
        let (code, text) = supervisor.initialize()
        guard code == JAMEY_OK else {
            supervisor.deinitialize()
            write(text, err, cap)
            return code
        }
        supervisors.withLock { $0[Key(pluginHost.kernel, pluginHost.instance)] = supervisor }
        stateOut.pointee = Unmanaged.passRetained(supervisor).toOpaque()
        return JAMEY_OK
    }

    private static let proxyStart: jamey_plugin_lifecycle_fn = { state, err, cap in
        guard let s = supervisor(state) else { return JAMEY_E_INVALID }
        let (code, text) = s.start()
        write(text, err, cap)
        return code
    }

    private static let proxyStop: jamey_plugin_lifecycle_fn = { state, err, cap in
        guard let s = supervisor(state) else { return JAMEY_E_INVALID }
        let (code, text) = s.stop()
        write(text, err, cap)
        return code
    }

    private static let proxyDeinit: jamey_plugin_deinit_fn = { state in
        guard let state, let s = supervisor(state) else { return }
        s.deinitialize()
        let key = Key(s.host.kernel, s.host.instance)
        supervisors.withLock { if $0[key] === s { $0.removeValue(forKey: key) } }
        // The reference init handed the kernel as the plugin's state (the kernel calls nothing
        // with it after deinit, and the bus no subscription's handler: they were unsubscribed).
        Unmanaged<PluginSupervisor>.fromOpaque(state).release()
    }

    private static let proxyHealth: jamey_plugin_health_fn = { state, detail, cap in
        guard let s = supervisor(state) else { return Int32(JAMEY_HEALTH_UNHEALTHY.rawValue) }
        let (code, text) = s.health()
        write(text, detail, cap)
        return code
    }
}
