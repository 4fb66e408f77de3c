import CJameyABI

#if canImport(Glibc)
    import Glibc
#endif

extension Kernel {
    /// Runs a plugin's `snapshot` hook into `directory` (existing and empty), on the plugin's
    /// lifecycle queue, under `hooks.snapshot_timeout_ms`. A backup plugin reaches this through
    /// `plugin_snapshot` when the operator granted it the `snapshot` privilege.
    /// - Throws: `KernelError` when the plugin is unknown, not started, has no snapshot hook, the
    ///   hook fails (its message) or outlives its deadline (the plugin is then abandoned).
    ///
    /// The plugin's state is checked and the snapshot counted in ``snapshotting`` together:
    /// operations that would stop the plugin are refused until it is done (a stop queued behind
    /// it missed its deadline and the plugin was abandoned). It takes no lifecycle lock: a stop
    /// holds that lock while it waits for a backup plugin's stop, which waits for the backup's
    /// snapshots. (A reload that passed its check just before this count can still stop the
    /// plugin under the snapshot: the window between its check and its stop.)
    public func snapshot(plugin name: String, into directory: String) throws(KernelError) {
        let record = try record(named: name)
        try snapshotting.withLock { (running: inout [String: Int]) throws(KernelError) in
            let state = record.state
            guard state == .started, !record.with({ $0.abandoned }) else {
                throw KernelError("plugin '\(name)' is \(state): snapshot needs it started", code: JAMEY_E_STATE)
            }
            running[name, default: 0] += 1
        }
        defer {
            snapshotting.withLock { running in
                let left = (running[name] ?? 1) - 1
                running[name] = left > 0 ? left : nil
            }
        }
        try runDirectoryHook(record, "snapshot", directory)
    }

    /// Refuses `what` while a snapshot of one of `names` runs (see ``snapshotting``).
    func refuseWhileSnapshotting(_ names: [String], _ what: String) throws(KernelError) {
        guard let busy = snapshotting.withLock({ running in names.first { running[$0] != nil } }) else { return }
        throw KernelError(
            "plugin '\(busy)' is being snapshotted (a backup is copying its data): \(what) refused; try again once it is done",
            code: JAMEY_E_STATE)
    }

    /// Puts back a plugin's data from `directory` (one its snapshot hook wrote).
    ///
    /// The plugin and every started plugin that depends on it (directly or not) are stopped,
    /// dependents first in reverse start order; the plugin is initialised again and its `restore`
    /// hook runs before `start`, so nothing else touches its data; then it and its dependents are
    /// started again in start order. A plugin that was stopped is initialised, restored and
    /// started. When the restore hook fails, the plugin starts again on the data it had (a restore
    /// hook changes nothing when it fails) and the failure is thrown after every plugin is back.
    ///
    /// - Parameters:
    ///   - name: the plugin.
    ///   - directory: what its snapshot wrote.
    ///   - caller: the plugin asking (`plugin_restore`), refused when it is the target or depends
    ///     on it; nil for the kernel's own callers.
    ///   - progress: receives each step as a line ("stopping conscience (depends on memory)").
    /// - Throws: `KernelError` naming the first step that failed.
    public func restore(
        plugin name: String, from directory: String, caller: String? = nil, progress: (String) -> Void = { _ in }
    ) throws(KernelError) {
        let target = try record(named: name)
        if let caller, caller == name {
            throw KernelError("plugin '\(caller)' cannot restore itself", code: JAMEY_E_INVALID)
        }
        guard target.library?.raw.restore != nil else {
            throw KernelError("plugin '\(name)' has no restore hook", code: JAMEY_E_UNSUPPORTED)
        }
        try withLifecycleLockUnlessStopping("restore of '\(name)'", caller: caller) { () throws(KernelError) in
            let state = target.state
            guard state == .started || state == .stopped, !target.with({ $0.abandoned }) else {
                throw KernelError("plugin '\(name)' is \(state): restore needs it started or stopped", code: JAMEY_E_STATE)
            }
            let dependents = dependents(of: target)
            // A canary beside the target or a dependent would go on writing the data restored
            // under it (it is neither stopped nor restored).
            if let busy = ([target] + dependents).first(where: { record in canaries.withLock { $0[record.name] } != nil }) {
                throw KernelError(
                    "plugin '\(busy.name)' has a canary running: promote it or roll it back before a restore",
                    code: JAMEY_E_STATE)
            }
            if let caller, dependents.contains(where: { $0.name == caller }) {
                throw KernelError(
                    "plugin '\(caller)' depends on '\(name)', so it would be stopped by the restore it asked for",
                    code: JAMEY_E_INVALID)
            }
            try refuseWhileSnapshotting(([target] + dependents).map(\.name), "restore of '\(name)'")
            try restoreLocked(target, dependents: dependents, directory: directory, progress: progress)
        }
    }

    private func restoreLocked(
        _ target: PluginRecord, dependents: [PluginRecord], directory: String, progress: (String) -> Void
    ) throws(KernelError) {
        func step(_ line: String) {
            logger.notice("restore of \(target.name): \(line)")
            progress(line)
        }
        let clock = ContinuousClock()
        let wasStarted = target.state == .started
        // Stop: dependents first (reverse start order), then the target.
        let stopping = dependents.reversed() + (wasStarted ? [target] : [])
        var stopped: [PluginRecord] = []
        for record in stopping {
            step(record === target ? "stopping \(record.name)" : "stopping \(record.name) (depends on \(target.name))")
            let end = clock.now + config.hooks.stop
            if stopOne(record, until: end, budget: config.hooks.stop) {
                stopped.append(record)
                step("stopped \(record.name)")
            } else {
                step("\(record.name) did not stop: \(record.failure ?? "abandoned")")
            }
        }
        guard target.state == .stopped else {
            // The target was abandoned: nothing can be restored into it. Start the dependents
            // that stopped cleanly only if they do not need it (they do), so report and stop.
            throw KernelError(
                "restore of '\(target.name)' abandoned: it did not stop (\(target.failure ?? "unknown reason"))")
        }
        // Init, restore, start the target.
        var restoreFailure: KernelError?
        step("initialising \(target.name)")
        do throws(StartFailure) {
            try initAndStart(target) {
                step("restoring \(target.name) from \(directory)")
                do throws(KernelError) {
                    try runDirectoryHook(target, "restore", directory)
                    step("restored \(target.name)")
                } catch {
                    restoreFailure = error
                    step("restore failed: \(error); starting \(target.name) on the data it had")
                }
                return nil
            }
            step("started \(target.name)")
        } catch {
            let reason = failed(target, error)
            step("\(target.name) did not start: \(reason)")
            throw restoreFailure ?? KernelError("plugin '\(target.name)' did not start again after its restore: \(reason)")
        }
        // Start the dependents again, in start order.
        var firstFailure = restoreFailure
        for record in startOrder where stopped.contains(where: { $0 === record }) && record !== target {
            step("starting \(record.name)")
            do throws(StartFailure) {
                try initAndStart(record)
                step("started \(record.name)")
            } catch {
                let reason = failed(record, error)
                step("\(record.name) did not start: \(reason)")
                if firstFailure == nil {
                    firstFailure = KernelError("plugin '\(record.name)' did not start again after the restore: \(reason)")
                }
            }
        }
        if let firstFailure { throw firstFailure }
    }

    /// Marks a plugin that did not start again `failed` (unless it was abandoned, which did) and
    /// returns why.
    private func failed(_ record: PluginRecord, _ error: StartFailure) -> String {
        switch error {
        case .failed(let why):
            setState(record, .failed, failure: why)
            return why
        case .abandoned: return record.failure ?? "abandoned"
        }
    }

    /// The started plugins that depend on `target`, directly or through others, in start order.
    func dependents(of target: PluginRecord) -> [PluginRecord] {
        let started = startOrder.filter { $0.state == .started && $0 !== target }
        var names: Set<String> = [target.name]
        var provided: Set<String> = Set((target.descriptor?.provides ?? []).map(\.name)).union([target.name])
        var result: [PluginRecord] = []
        var changed = true
        while changed {
            changed = false
            for record in started where !names.contains(record.name) {
                // An optional requirement (ABI 1.7) does not restart the plugin with its provider.
                guard let requires = record.descriptor?.requires,
                    requires.contains(where: { !$0.optional && provided.contains($0.name) })
                else { continue }
                names.insert(record.name)
                provided.formUnion((record.descriptor?.provides ?? []).map(\.name))
                provided.insert(record.name)
                result.append(record)
                changed = true
            }
        }
        return started.filter { r in result.contains { $0 === r } }
    }

    /// Runs `body` under the lifecycle lock, waiting for it as `withLock` does, but gives up with
    /// `JAMEY_E_SHUTDOWN` once a shutdown is requested, and with `JAMEY_E_STATE` once the calling
    /// plugin is no longer started: the stop, reload or deploy that holds the lock may be waiting
    /// for the very handler making this call (`plugin_restore` from a bus handler) to return, and
    /// waiting on would hold both until that stop's deadline.
    func withLifecycleLockUnlessStopping(
        _ what: String, caller: String? = nil, _ body: () throws(KernelError) -> Void
    ) throws(KernelError) {
        let calling = caller.flatMap { name in records.first { $0.name == name } }
        while true {
            guard !isShutdownRequested else {
                throw KernelError("the kernel is shutting down: \(what) not started", code: JAMEY_E_SHUTDOWN)
            }
            if let calling, case let state = calling.state, state != .started {
                throw KernelError("plugin '\(calling.name)' is \(state): \(what) not started", code: JAMEY_E_STATE)
            }
            let ran = try lifecycleLock.withLockIfAvailable { _ throws(KernelError) -> Bool in
                // Asked again under the lock: a stop that took it and let it go requested first.
                guard !isShutdownRequested else { return false }
                try refuseWhileStarting(what)
                try body()
                return true
            }
            if ran == true { return }
            usleep(2000)
        }
    }

    private func record(named name: String) throws(KernelError) -> PluginRecord {
        guard let record = records.first(where: { $0.name == name }) else {
            throw KernelError("no plugin named '\(name)' is configured", code: JAMEY_E_NOT_FOUND)
        }
        return record
    }

    private func runDirectoryHook(_ record: PluginRecord, _ hook: String, _ directory: String) throws(KernelError) {
        let name = record.name
        guard let library = record.library, let function = hook == "snapshot" ? library.raw.snapshot : library.raw.restore
        else {
            // The descriptor read from the library still names the hook an isolated plugin's
            // proxy lacks.
            if record.entry.isolation.isolated, record.descriptor?.hooks.contains(hook) == true {
                throw KernelError(
                    "plugin '\(name)' runs isolated (plugins.\(name).isolation: process): its \(hook) hook cannot be reached in its process, so backups and restores skip it; run it in_process for them",
                    code: JAMEY_E_UNSUPPORTED)
            }
            throw KernelError("plugin '\(name)' has no \(hook) hook", code: JAMEY_E_UNSUPPORTED)
        }
        let deadline = hook == "snapshot" ? config.hooks.snapshot : config.hooks.restore
        let run = directoryHookRun(record, hook, function, directory, deadline: deadline)
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

    /// Runs a directory hook (`jamey_plugin_dir_fn`: snapshot, restore, hand_over, take_over) of
    /// `record` with its state and `directory`, on its lifecycle queue.
    func directoryHookRun(
        _ record: PluginRecord, _ hook: String, _ function: jamey_plugin_dir_fn, _ directory: String, deadline: Duration,
        interruptible: Bool = false
    ) -> HookRun<(Int32, String)> {
        let state = UnsafeSendable(record.with { $0.pluginState })
        return runHook(record, hook, deadline: deadline, interruptible: interruptible) {
            var err = [CChar](repeating: 0, count: Self.errorCapacity)
            let code = directory.withCString { function(state.value, $0, &err, err.count) }
            err[err.count - 1] = 0
            return (code, String(cBuffer: err))
        }
    }
}
