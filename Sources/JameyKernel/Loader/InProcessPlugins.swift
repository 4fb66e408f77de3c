import CJameyABI
import Foundation
import Synchronization

/// Entry points of plugins linked into this process, each named by a path: a plugin whose config
/// `path:` is one of them is loaded from its entry point (``PluginLibrary/inProcess(path:register:label:)``)
/// instead of with `dlopen`.
///
/// This is the kernel side of the kit's fast test mode (JameyTestKit's `TestKernel.boot(inProcess:)`,
/// which registers each entry point under a path in the test's own directory and unregisters it at
/// shutdown). The plugin still meets the kernel only through the C ABI, but it shares the kernel's
/// image, which a deployed plugin never does: `dlopen` of the built library is the real path.
public enum InProcessPlugins {
    private static let entries = Mutex<[String: jamey_plugin_register_fn]>([:])

    /// Makes `path` name `entryPoint` for the loader, replacing what it named before.
    /// - Parameters:
    ///   - entryPoint: the plugin's `jamey_plugin_register` function.
    ///   - path: an absolute path no library lives at, unique to the kernel that will load it.
    public static func register(_ entryPoint: jamey_plugin_register_fn, at path: String) {
        let key = normalized(path)
        entries.withLock { $0[key] = entryPoint }
    }

    /// Forgets the entry point `path` names (a kernel that already loaded it keeps it).
    public static func unregister(path: String) {
        let key = normalized(path)
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    /// The entry point `path` names, if any.
    static func entryPoint(at path: String) -> jamey_plugin_register_fn? {
        let key = normalized(path)
        return entries.withLock { $0[key] }
    }

    /// `path` as the config loader resolves plugin paths (absolute, `.` and `..` removed).
    private static func normalized(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
