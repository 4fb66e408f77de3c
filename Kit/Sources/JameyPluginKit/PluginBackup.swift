import CJameyABI
import Foundation

extension PluginContext {
    /// Runs another plugin's `snapshot` hook into `directory` (existing and empty), for a backup
    /// plugin (ABI 1.3 `plugin_snapshot`). The operator must grant this plugin the privilege:
    /// `plugins.<name>.privileges: [snapshot]`.
    ///
    /// The kernel call blocks for as long as the hook runs, so it runs on a thread of its own;
    /// the calling task is suspended, never a thread of the cooperative pool.
    /// - Throws: ``JameyError``: ``JameyError/Code/state`` without the privilege or when the
    ///   target is not started, ``JameyError/Code/notFound``, ``JameyError/Code/unsupported``
    ///   (no snapshot hook, or a kernel older than 1.3), ``JameyError/Code/plugin`` when the hook
    ///   failed (its message).
    public func snapshotPlugin(_ plugin: String, into directory: String) async throws(JameyError) {
        guard let function = handle.api.pointee.plugin_snapshot else {
            throw JameyError(.unsupported, "the kernel is older than ABI 1.3: it has no plugin_snapshot")
        }
        let handle = self.handle
        try await onOwnThread(named: "jamey-snapshot") { () throws(JameyError) in
            var err = [CChar](repeating: 0, count: 1024)
            let code = function(handle.host, plugin, directory, &err, err.count)
            guard code == JAMEY_OK else { throw JameyError(JameyError.Code(abiValue: code), Self.text(err)) }
        }
    }

    /// Puts back another plugin's data from `directory` (one its snapshot wrote), through the
    /// kernel (ABI 1.3 `plugin_restore`): it stops the target and its dependents, initialises the
    /// target, runs its `restore` hook, and starts them again. Needs the same privilege as
    /// ``snapshotPlugin(_:into:)``; this plugin must not be the target nor depend on it.
    /// - Returns: each step the kernel took, in order ("stopping conscience (depends on memory)",
    ///   "restored memory", "started memory", ...).
    /// - Throws: ``JameyError`` as for ``snapshotPlugin(_:into:)``; its message names the step
    ///   that failed (the steps taken are logged by the kernel).
    @discardableResult
    public func restorePlugin(_ plugin: String, from directory: String) async throws(JameyError) -> [String] {
        guard let function = handle.api.pointee.plugin_restore else {
            throw JameyError(.unsupported, "the kernel is older than ABI 1.3: it has no plugin_restore")
        }
        let handle = self.handle
        return try await onOwnThread(named: "jamey-restore") { () throws(JameyError) -> [String] in
            var steps: [String] = []
            var err = [CChar](repeating: 0, count: 1024)
            let code = withUnsafeMutablePointer(to: &steps) { out in
                function(
                    handle.host, plugin, directory,
                    { user, line in
                        guard let user, let line else { return }
                        user.assumingMemoryBound(to: [String].self).pointee.append(String(cString: line))
                    }, out, &err, err.count)
            }
            guard code == JAMEY_OK else { throw JameyError(JameyError.Code(abiValue: code), Self.text(err)) }
            return steps
        }
    }

    /// The NUL-terminated text in a C buffer.
    private static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { b in
            let bytes = b.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
