import CJameyABI
import Synchronization

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
    /// The file's identity when it was loaded; nil for a plugin linked into this process.
    public internal(set) var file: FileIdentity? = nil

    /// A file's device and inode, with its size and modification time: `dlopen` takes a file it
    /// has mapped before, under any path, for the library it mapped then, and a build copied
    /// over the file in place (`cp new.so old.so` keeps the inode) is told apart by the rest.
    public struct FileIdentity: Hashable, Sendable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modified: Int64
        let modifiedNanoseconds: Int

        /// The identity of the file at `path` (symbolic links followed), nil when there is none.
        public init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            modified = Int64(st.st_mtim.tv_sec)
            modifiedNanoseconds = Int(st.st_mtim.tv_nsec)
        }

        /// Whether `dlopen` would take the two for one file (device and inode).
        func sameFile(as other: FileIdentity) -> Bool { device == other.device && inode == other.inode }
    }

    /// The file each path named when this process first loaded a library from it. `dlopen` answers
    /// a path it has loaded with the image it mapped then, even when a new build has since been
    /// copied over the file.
    private static let loadedFiles = Mutex<[String: FileIdentity]>([:])

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
        let file = FileIdentity(path: path)
        if let earlier = loadedFiles.withLock({ $0[path] }), earlier != file {
            throw LoadError(
                .changedSinceLoaded, path: path,
                "the file changed since this process loaded a library from this path, and a loaded library is never unloaded: dlopen would return the build loaded then. Copy the new build to a new path and load it from there (or restart the server)"
            )
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw LoadError(.dlopenFailed, path: path, "dlopen failed: \(reason)")
        }
        // Mapped from here on, whatever the checks below say: a fixed build copied onto this path
        // would get this image.
        if let file { loadedFiles.withLock { $0[path] = $0[path] ?? file } }
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
            path: path, descriptor: checked, raw: RawDescriptor(pointer: descriptor), entryPointCalls: forbiddenCalls,
            file: file)
    }
}
