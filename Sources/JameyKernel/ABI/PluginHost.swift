import CJameyABI
import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The kernel side of one plugin's `jamey_host *`: everything a host function needs to answer
/// that plugin. Kept alive by the kernel (``Kernel/hosts``) even after its record is dropped
/// (plugins are never unloaded), so a stale pointer finds `isValid == false` rather than freed
/// memory.
final class PluginHost: @unchecked Sendable {
    let name: String
    /// Its instance key: the name, or `name@N` for a blue-green deploy's new instance.
    let instance: String
    let kernel: Kernel
    let endpoint: BusEndpoint
    let logger: Logger
    /// The logger's handler when it is the kernel's text handler: plugin lines then go straight
    /// from the C buffer into the log queue.
    let textLog: TextLogHandler?
    /// The plugin's validated section (a reload's `reconfigure` replaces it), or, on the thread
    /// running a `reconfigure` hook, the section it is offered.
    var config: ValidatedSection {
        if offering.load(ordering: .acquiring), let offer = offered.withLock({ $0 }),
            pthread_equal(offer.thread, pthread_self()) != 0
        {
            return offer.section
        }
        return section.withLock { $0 }
    }
    /// The section a `reconfigure` hook is offered and the thread running it (see ``offering(_:_:)``).
    private let offered = Mutex<(thread: pthread_t, section: ValidatedSection)?>(nil)
    private let offering = Atomic<Bool>(false)
    private let section: Mutex<ValidatedSection>
    let nodeNameC: UnsafePointer<CChar>
    let nodeIDC: UnsafePointer<CChar>
    /// The plugin's name for crash lines (``CrashContext``).
    let crashLabel: UnsafePointer<CChar>
    private let dataPath: String
    private let valid = Atomic<Bool>(true)
    /// When the lifecycle hook running now must have returned, in `DispatchTime` uptime
    /// nanoseconds; 0 when none runs (`hook_time_left`).
    let hookDeadline = Atomic<UInt64>(0)
    /// A context made for one `check` hook: it reads the section and logs, nothing else
    /// (``refusesInCheck(_:)``).
    let checkOnly: Bool
    /// The build and isolation settings of this instance: what the proxy's init starts its
    /// child process with when the plugin runs with `isolation: process` (nil for a check).
    let isolation: IsolatedPlugins.Spec?

    /// What the lifecycle hook running now may still take (``hookDeadline``); nil when none runs.
    var hookTimeLeft: Duration? {
        let deadline = hookDeadline.load(ordering: .acquiring)
        guard deadline > 0 else { return nil }
        let now = DispatchTime.now().uptimeNanoseconds
        return .nanoseconds(deadline > now ? Int64(clamping: deadline - now) : 0)
    }
    private let state = Mutex(State())

    private struct State: @unchecked Sendable {
        var dataDirC: UnsafePointer<CChar>?
        /// The copy handed out for each key, with the value it holds. A value a reload changed
        /// gets a new copy; the old one stays valid (the header promises strings until deinit)
        /// in ``retired``.
        var strings: [String: (value: String, c: UnsafePointer<CChar>)] = [:]
        var retired: [UnsafePointer<CChar>] = []
    }

    init(
        name: String, instance: String? = nil, kernel: Kernel, config: ValidatedSection, logger: Logger,
        checkOnly: Bool = false, isolation: IsolatedPlugins.Spec? = nil
    ) {
        self.checkOnly = checkOnly
        self.isolation = isolation
        self.name = name
        self.instance = instance ?? name
        self.kernel = kernel
        self.endpoint = kernel.bus.endpoint(owner: name, instance: instance)
        self.logger = logger
        self.textLog = (logger.handler as? KernelLogHandler)?.text ?? logger.handler as? TextLogHandler
        self.section = Mutex(config)
        self.nodeNameC = UnsafePointer(strdup(kernel.nodeName)!)
        self.nodeIDC = UnsafePointer(strdup(kernel.nodeID)!)
        self.crashLabel = CrashContext.label(name)
        self.dataPath = kernel.dataDirectory + "/" + name
    }

    /// Replaces the section the config_* host functions read (after a successful `reconfigure`).
    func replaceConfig(_ new: ValidatedSection) { section.withLock { $0 = new } }

    /// Runs `body` (the `reconfigure` hook) with the config_* host functions called from this
    /// thread reading `new`: the hook reads the values it is offered as `init` does, instead of
    /// parsing the JSON by hand. Other threads read the current section until the hook accepts.
    func offering<R>(_ new: ValidatedSection, _ body: () -> R) -> R {
        offered.withLock { $0 = (pthread_self(), new) }
        offering.store(true, ordering: .releasing)
        defer {
            offering.store(false, ordering: .releasing)
            offered.withLock { $0 = nil }
        }
        return body()
    }

    /// The opaque pointer handed to the plugin.
    var opaque: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// False after the plugin's deinit: host functions then refuse the context.
    /// One atomic load: this is checked on every host call, publish included.
    var isValid: Bool { valid.load(ordering: .acquiring) }

    /// The host functions a `check` hook may call: reading the section, logging, the node's
    /// names and its deadline.
    static let allowedInCheck: Set<String> = [
        "config_string", "config_int", "config_double", "config_bool", "log", "log_level", "log_fields", "node_name",
        "node_id", "hook_time_left",
    ]

    /// Whether `function` is refused because this is a check hook's context (logged once per call).
    func refusesInCheck(_ function: StaticString) -> Bool {
        guard checkOnly, !Self.allowedInCheck.contains(function.description) else { return false }
        kernel.logger.warning(
            "plugin \(name) called \(function) from its check hook, which jamey/plugin.h forbids (only config_*, log*, node_* and hook_time_left); refused"
        )
        return true
    }

    func invalidate() { valid.store(false, ordering: .releasing) }

    /// `<data_dir>/<name>`, created (mode 0700) on first use; nil if it cannot be created.
    func dataDirectory() -> UnsafePointer<CChar>? {
        state.withLock { s in
            if let existing = s.dataDirC { return existing }
            guard FileSystem.makeDirectories(dataPath, mode: 0o700) else {
                logger.error("cannot create data directory \(dataPath): \(String(cString: strerror(errno)))")
                return nil
            }
            let c = UnsafePointer(strdup(dataPath)!)
            s.dataDirC = c
            return c
        }
    }

    func configString(_ key: String, out: UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32 {
        switch config.string(at: key) {
        case .success(let value):
            out.pointee = state.withLock { s in
                if let cached = s.strings[key] {
                    if cached.value == value { return cached.c }
                    s.retired.append(cached.c)
                }
                let c = UnsafePointer(strdup(value)!)
                s.strings[key] = (value, c)
                return c
            }
            return JAMEY_OK
        case .failure(let e): return e == .notFound ? JAMEY_E_NOT_FOUND : JAMEY_E_TYPE
        }
    }

    func configInt(_ key: String, out: UnsafeMutablePointer<Int64>) -> Int32 {
        switch config.int(at: key) {
        case .success(let v): out.pointee = v; return JAMEY_OK
        case .failure(let e): return e == .notFound ? JAMEY_E_NOT_FOUND : JAMEY_E_TYPE
        }
    }

    func configDouble(_ key: String, out: UnsafeMutablePointer<Double>) -> Int32 {
        switch config.double(at: key) {
        case .success(let v): out.pointee = v; return JAMEY_OK
        case .failure(let e): return e == .notFound ? JAMEY_E_NOT_FOUND : JAMEY_E_TYPE
        }
    }

    func configBool(_ key: String, out: UnsafeMutablePointer<Int32>) -> Int32 {
        switch config.bool(at: key) {
        case .success(let v): out.pointee = v ? 1 : 0; return JAMEY_OK
        case .failure(let e): return e == .notFound ? JAMEY_E_NOT_FOUND : JAMEY_E_TYPE
        }
    }
}
