import CJameySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Says whose crash it was: threads are marked while they run plugin code, plugin libraries'
/// code ranges are recorded, and a fatal signal in plugin code writes one line naming the plugin
/// and what it was running, then exits with ``exitStatus``. A crash outside plugin code is passed
/// on unchanged. See `Sources/CJameySystem/include/jamey_crash.h`.
public enum CrashContext {
    /// The exit status of a process ended by a plugin's crash (70).
    public static let exitStatus = Int32(JAMEY_CRASH_EXIT_STATUS)

    /// Installs the fatal-signal handlers for the whole process (idempotent). `jamey serve` calls
    /// it before loading plugins.
    public static func install() {
        jamey_crash_install(prefix)
    }

    /// Runs `body` with the calling thread marked as running `what` of `plugin`.
    /// - Parameters:
    ///   - plugin: a C string living for the life of the process (``label(_:)``).
    ///   - what: likewise, e.g. ``hookLabel(_:)``.
    @inline(__always)
    static func running<R>(plugin: UnsafePointer<CChar>, what: UnsafePointer<CChar>, _ body: () throws -> R) rethrows -> R {
        let previous = jamey_crash_enter(plugin, what)
        defer { jamey_crash_leave(previous) }
        return try body()
    }

    /// A C copy of `text` kept for the life of the process (plugins are never unloaded).
    static func label(_ text: String) -> UnsafePointer<CChar> {
        UnsafePointer(strdup(text) ?? strdup("?")!)
    }

    /// Records the code of the library holding `symbol` as `plugin`'s.
    static func addLibrary(plugin: UnsafePointer<CChar>, symbol: UnsafeRawPointer) {
        jamey_crash_add_library(plugin, symbol)
    }

    /// "its init hook" and so on, one C string per hook.
    static func hookLabel(_ hook: String) -> UnsafePointer<CChar> {
        switch hook {
        case "init": initHook
        case "start": startHook
        case "stop": stopHook
        case "deinit": deinitHook
        case "health": healthHook
        case "snapshot": snapshotHook
        case "restore": restoreHook
        case "check": checkHook
        default: otherHook
        }
    }

    nonisolated(unsafe) static let entryPoint = label("its entry point jamey_plugin_register")
    nonisolated(unsafe) static let busHandler = label("a bus handler")
    nonisolated(unsafe) static let requestCompletion = label("a request completion")
    private nonisolated(unsafe) static let prefix = label("jamey")
    private nonisolated(unsafe) static let initHook = label("its init hook")
    private nonisolated(unsafe) static let startHook = label("its start hook")
    private nonisolated(unsafe) static let stopHook = label("its stop hook")
    private nonisolated(unsafe) static let deinitHook = label("its deinit hook")
    private nonisolated(unsafe) static let healthHook = label("its health hook")
    private nonisolated(unsafe) static let snapshotHook = label("its snapshot hook")
    private nonisolated(unsafe) static let restoreHook = label("its restore hook")
    private nonisolated(unsafe) static let checkHook = label("its check hook")
    private nonisolated(unsafe) static let otherHook = label("a hook")
}
