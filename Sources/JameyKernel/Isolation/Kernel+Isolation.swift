/// The state of an isolated plugin's process, as ``Kernel/isolation(of:)`` reports it.
public struct IsolationStatus: Sendable, Equatable {
    /// The running child's pid; nil while it is down.
    public let pid: Int32?
    /// Restarts after crashes or hangs so far.
    public let restarts: Int
    /// How the last child ended ("killed by signal 11 (SIGSEGV)"), if one has.
    public let lastExit: String?
    /// The quarantine sentence, when the plugin crashed too often and is no longer restarted.
    public let quarantine: String?
    /// The backoff delays scheduled after each crash so far, oldest first (the restart policy's
    /// schedule as it was applied).
    public let delays: [Duration]
}

extension Kernel {
    /// The isolation state of a plugin instance running with `isolation: process`; nil for one
    /// in process or not started.
    ///
    /// - Parameter instance: the plugin's name (or `name@N` for a deployed instance).
    public func isolation(of instance: String) -> IsolationStatus? {
        guard let supervisor = IsolatedPlugins.supervisors.withLock({ $0[IsolatedPlugins.Key(self, instance)] }) else {
            return nil
        }
        return supervisor.state.withLock {
            IsolationStatus(
                pid: $0.child?.pid, restarts: $0.restarts, lastExit: $0.lastExit, quarantine: $0.quarantine, delays: $0.delays)
        }
    }

    /// What an isolated instance of `entry` running the build at `library` is started with.
    func isolationSpec(_ library: String, _ entry: KernelConfig.PluginEntry) -> IsolatedPlugins.Spec {
        IsolatedPlugins.Spec(
            library: library, settings: entry.isolation, runner: RunnerSpawner.runnerPath(environment: environment))
    }

    /// The library as the kernel runs it: `library` itself, or, with `isolation: process`, the
    /// same descriptor with proxy hooks that run the plugin in a child process.
    ///
    /// - Throws: `LoadError` (`notIsolatable`) for a plugin that provides services or requires a
    ///   service: service tables are C function pointers and cannot cross a process boundary.
    func isolatedIfConfigured(_ library: PluginLibrary, entry: KernelConfig.PluginEntry) throws(LoadError) -> PluginLibrary {
        guard entry.isolation.isolated else { return library }
        let descriptor = library.descriptor
        let key = "plugins.\(entry.name).isolation"
        if !descriptor.provides.isEmpty {
            throw LoadError(
                .notIsolatable, path: library.path,
                "plugin '\(entry.name)' cannot run with \(key): process: it provides \(descriptor.provides.map { "'\($0)'" }.joined(separator: ", ")), and a service table (C function pointers) cannot cross a process boundary; run it in_process"
            )
        }
        let plugins = Set(config.plugins.map(\.name))
        // An optional service it goes without: service_lookup answers JAMEY_E_UNSUPPORTED there.
        if let service = descriptor.requires.first(where: { !$0.optional && !plugins.contains($0.name) }) {
            throw LoadError(
                .notIsolatable, path: library.path,
                "plugin '\(entry.name)' cannot run with \(key): process: it requires the service '\(service)', and a service table (C function pointers) cannot cross a process boundary; run it in_process"
            )
        }
        return PluginLibrary(
            path: library.path, descriptor: library.descriptor,
            raw: RawDescriptor(pointer: IsolatedPlugins.descriptor(wrapping: library.raw.pointer)),
            entryPointCalls: library.entryPointCalls, file: library.file)
    }
}
