import CJameyABI

/// `plugin_snapshot` (ABI 1.3, privileged): another plugin's snapshot hook into a directory.
let hostPluginSnapshot:
    @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int) ->
        Int32 = { host, plugin, dir, err, cap in
            guard let caller = resolveHost(host, "plugin_snapshot") else { return JAMEY_E_INVALID }
            guard let plugin, let dir else { return fail(JAMEY_E_INVALID, "plugin and dir are required", err, cap) }
            let target = String(cString: plugin)
            if let refused = caller.refusePrivileged("plugin_snapshot", target: target, err, cap) { return refused }
            do throws(KernelError) {
                try caller.kernel.snapshot(plugin: target, into: String(cString: dir))
                return JAMEY_OK
            } catch {
                return fail(error.code, error.description, err, cap)
            }
        }

/// `plugin_restore` (ABI 1.3, privileged): stop the target and its dependents, restore, start.
let hostPluginRestore:
    @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, jamey_step_fn?, UnsafeMutableRawPointer?,
        UnsafeMutablePointer<CChar>?, Int
    ) -> Int32 = { host, plugin, dir, step, userData, err, cap in
        guard let caller = resolveHost(host, "plugin_restore") else { return JAMEY_E_INVALID }
        guard let plugin, let dir else { return fail(JAMEY_E_INVALID, "plugin and dir are required", err, cap) }
        let target = String(cString: plugin)
        if let refused = caller.refusePrivileged("plugin_restore", target: target, err, cap) { return refused }
        do throws(KernelError) {
            try caller.kernel.restore(plugin: target, from: String(cString: dir), caller: caller.name) { line in
                line.withCString { step?(userData, $0) }
            }
            return JAMEY_OK
        } catch {
            return fail(error.code, error.description, err, cap)
        }
    }

/// Writes `message` into the caller's error buffer (NUL-terminated, cut at `cap`) and returns `code`.
private func fail(_ code: Int32, _ message: String, _ err: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32 {
    guard let err, cap > 0 else { return code }
    var bytes = Array(message.utf8.prefix(cap - 1))
    while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
    if let last = bytes.last, last >= 0xC0 { bytes.removeLast() }
    for (i, b) in bytes.enumerated() { err[i] = CChar(bitPattern: b) }
    err[bytes.count] = 0
    return code
}

extension PluginHost {
    /// JAMEY_E_STATE with a log line when the operator did not grant this plugin the `snapshot`
    /// privilege; nil when it may go on.
    func refusePrivileged(_ function: String, target: String, _ err: UnsafeMutablePointer<CChar>?, _ cap: Int) -> Int32? {
        let granted = kernel.config.plugins.first { $0.name == name }?.privileges.contains(.snapshot) ?? false
        guard !granted else { return nil }
        let message =
            "plugin '\(name)' called \(function) for '\(target)' without the snapshot privilege (grant it with plugins.\(name).privileges: [snapshot])"
        kernel.logger.warning("\(message)")
        return fail(JAMEY_E_STATE, message, err, cap)
    }
}
