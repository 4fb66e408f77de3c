import CJameyABI

extension PluginLibrary {
    /// Checks the descriptor of a plugin linked into this process, from its entry point, as
    /// ``load(path:label:)`` checks a library's — without the ELF checks and `dlopen`.
    ///
    /// For tests and embedders: the plugin and the kernel share one image, so this is not the path
    /// a deployed plugin takes (see ``InProcessPlugins``). Crash lines attribute a crash inside the
    /// plugin's hooks to it; crashes elsewhere in its code are not attributed, since that code is
    /// the host's own image.
    ///
    /// - Parameters:
    ///   - path: the name it is known by (``InProcessPlugins`` keys entry points by a path), shown
    ///     where a library's file would be.
    ///   - register: the plugin's entry point, a `jamey_plugin_register` function.
    ///   - label: the config name it is loaded for, named in log lines about its entry point.
    /// - Throws: `LoadError` naming the path and the failed check.
    public static func inProcess(
        path: String, register: jamey_plugin_register_fn, label: String? = nil
    ) throws(LoadError) -> PluginLibrary {
        let crashLabel = CrashContext.label(label ?? path)
        let (registered, forbiddenCalls) = EntryPointGuard.registering {
            CrashContext.running(plugin: crashLabel, what: CrashContext.entryPoint) { register(HostAPI.registration) }
        }
        guard let descriptor = registered else {
            throw LoadError(
                .refused, path: path,
                "the in-process plugin refused this host: its entry point returned NULL for ABI \(JAMEY_ABI_MAJOR).\(JAMEY_ABI_MINOR)"
            )
        }
        let checked = try PluginDescriptor(reading: descriptor, path: path)
        return PluginLibrary(
            path: path, descriptor: checked, raw: RawDescriptor(pointer: descriptor), entryPointCalls: forbiddenCalls)
    }
}
