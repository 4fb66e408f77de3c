import CJameyABI

extension Kernel {
    /// Runs a plugin's `snapshot` hook into `directory` (existing and empty), on the plugin's
    /// lifecycle queue, under `hooks.snapshot_timeout_ms`. The vault calls this through the
    /// kernel on behalf of plugins the operator granted the privilege.
    /// - Throws: `KernelError` when the plugin is unknown, not started, has no snapshot hook, the
    ///   hook fails (its message) or outlives its deadline (the plugin is then abandoned).
    public func snapshot(plugin name: String, into directory: String) throws(KernelError) {
        try runDirectoryHook(name, "snapshot", directory, allowed: [.started])
    }

    /// Runs a plugin's `restore` hook from `directory` (one a snapshot wrote), under
    /// `hooks.restore_timeout_ms`; the plugin must be started or stopped.
    /// - Throws: `KernelError` as for ``snapshot(plugin:into:)``.
    public func restore(plugin name: String, from directory: String) throws(KernelError) {
        try runDirectoryHook(name, "restore", directory, allowed: [.started, .stopped])
    }

    private func runDirectoryHook(_ name: String, _ hook: String, _ directory: String, allowed: Set<PluginState>)
        throws(KernelError)
    {
        guard let record = records.first(where: { $0.name == name }) else {
            throw KernelError("no plugin named '\(name)' is configured")
        }
        let (state, library, pluginState, abandoned) = record.with { ($0.state, $0.library, $0.pluginState, $0.abandoned) }
        guard allowed.contains(state), !abandoned, let library else {
            throw KernelError(
                "plugin '\(name)' is \(state): \(hook) needs it \(allowed.map(\.rawValue).sorted().joined(separator: " or "))")
        }
        guard let function = hook == "snapshot" ? library.raw.snapshot : library.raw.restore else {
            throw KernelError("plugin '\(name)' has no \(hook) hook")
        }
        let deadline = hook == "snapshot" ? config.hooks.snapshot : config.hooks.restore
        let statePointer = UnsafeSendable(pluginState)
        let run: HookRun<(Int32, String)> = runHook(record, hook, deadline: deadline) {
            var err = [CChar](repeating: 0, count: Self.errorCapacity)
            let code = directory.withCString { function(statePointer.value, $0, &err, err.count) }
            err[err.count - 1] = 0
            return (code, String(cBuffer: err))
        }
        guard case .returned(let (code, message)) = run else {
            let reason = missedDeadline(hook, deadline)
            abandon(record, reason: reason)
            throw KernelError("plugin '\(name)': \(reason)")
        }
        guard code == JAMEY_OK else {
            throw KernelError(
                "plugin '\(name)' \(hook) failed (\(Self.codeName(code))): \(message.isEmpty ? "no message" : message)")
        }
    }
}
