import CJameyABI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A plugin library mapped into the process, with its checked descriptor.
///
/// Libraries are opened with `RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE` and never closed: Swift code
/// cannot be unmapped safely (the runtime keeps pointers to its type metadata), so a plugin stays
/// mapped for the life of the process (README, "ABI compatibility policy"). A path registered
/// with ``InProcessPlugins`` names a plugin linked into this process instead, loaded from its
/// entry point.
public struct PluginLibrary: Sendable {
    /// The absolute path the library was loaded from.
    public let path: String
    /// The checked descriptor.
    public let descriptor: PluginDescriptor
    let raw: RawDescriptor
    /// Host functions the entry point tried to call (refused: the header forbids it).
    public let entryPointCalls: [String]

    /// Loads the library at `path` and checks its descriptor.
    ///
    /// - Parameters:
    ///   - path: the `.so` file.
    ///   - label: the config name it is loaded for, named in log lines about its entry point.
    /// - Throws: `LoadError` naming the file, the failed check, what was expected and found.
    public static func load(path: String, label: String? = nil) throws(LoadError) -> PluginLibrary {
        if let entry = InProcessPlugins.entryPoint(at: path) { return try inProcess(path: path, register: entry, label: label) }
        let header = try ELFHeader.read(path: path)
        try header.checkLoadable(path: path)
        try ELFHeader.checkSegments(path: path)
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw LoadError(.dlopenFailed, path: path, "dlopen failed: \(reason)")
        }
        // Never dlclose: RTLD_NODELETE keeps it mapped anyway, and the handle is needed for nothing else.
        _ = dlerror()
        guard let symbol = dlsym(handle, JAMEY_PLUGIN_ENTRY_SYMBOL) else {
            throw LoadError(
                .noEntrySymbol, path: path,
                "no entry symbol: expected an exported function '\(JAMEY_PLUGIN_ENTRY_SYMBOL)', found none (export it with JAMEY_EXPORT in C or @_cdecl in Swift)"
            )
        }
        let register = unsafeBitCast(symbol, to: jamey_plugin_register_fn.self)
        let crashLabel = CrashContext.label(label ?? path)
        let (registered, forbiddenCalls) = EntryPointGuard.registering {
            CrashContext.running(plugin: crashLabel, what: CrashContext.entryPoint) { register(HostAPI.registration) }
        }
        guard let descriptor = registered else {
            throw LoadError(
                .refused, path: path,
                "the plugin refused this host: its entry point returned NULL for ABI \(JAMEY_ABI_MAJOR).\(JAMEY_ABI_MINOR)")
        }
        let checked = try PluginDescriptor(reading: descriptor, path: path)
        CrashContext.addLibrary(plugin: CrashContext.label(checked.name), symbol: symbol)
        return PluginLibrary(
            path: path, descriptor: checked, raw: RawDescriptor(pointer: descriptor), entryPointCalls: forbiddenCalls)
    }
}
