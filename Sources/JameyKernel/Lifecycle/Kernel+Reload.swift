import CJameyABI
import Logging

/// What a config reload did.
public struct ReloadReport: Sendable, Equatable {
    /// What changed, one line each: `log.level: info → debug`, `plugins.echo: started`,
    /// `plugins.echo.config: reconfigured (prefix)`. Secrets never appear: keys are named, values
    /// only for kernel settings.
    public var changes: [String] = []
    /// Settings read but applied only at the next start (`bus.workers`, `data_dir`, ...).
    public var pending: [String] = []
    /// Plugins retried because they were not running, that still did not start.
    public var stillFailing: [String] = []
}

extension Kernel {
    /// Applies a new configuration to the running kernel.
    ///
    /// Everything is checked first — every plugin section against its schema, new libraries
    /// loaded and checked, and the dependencies of the plugins that would run afterwards — and a
    /// reload that does not pass changes nothing. Then, in order: kernel settings (log level,
    /// hook deadlines, shutdown budget); plugins removed or disabled are stopped (dependents
    /// first); changed sections go to the plugin's `reconfigure` hook, or — without the hook, or
    /// when it answers JAMEY_E_UNSUPPORTED — the plugin and its dependents are restarted with the
    /// new section; a changed `path` restarts the plugin from the new library; plugins added or
    /// enabled are started in dependency order. Plugins that had failed are tried again. When a
    /// step fails, everything done is undone in reverse and the previous config stays in force.
    ///
    /// - Parameter new: the configuration to apply (``KernelConfig/load(path:defaultYAML:environment:)``).
    /// - Returns: what changed.
    /// - Throws: `KernelError` with code JAMEY_E_INVALID and one sentence per problem when the new
    ///   config cannot be applied (nothing changed); JAMEY_E_PLUGIN when applying failed and was
    ///   rolled back; JAMEY_E_SHUTDOWN while shutting down.
    @discardableResult
    public func reload(_ new: KernelConfig) throws(KernelError) -> ReloadReport {
        do {
            let report = try lifecycleLock.withLock { _ throws(KernelError) in
                guard !isShutdownRequested else {
                    throw KernelError("the kernel is shutting down: reload refused", code: JAMEY_E_SHUTDOWN)
                }
                try refuseWhileStarting("reload")
                var reload = Reload(kernel: self, new: new)
                try reload.plan()
                return try reload.apply()
            }
            metrics.recordReload(result: report.changes.isEmpty ? "unchanged" : "applied")
            var line = "config reloaded from \(new.source): "
            line += report.changes.isEmpty ? "nothing changed" : report.changes.joined(separator: "; ")
            if !report.pending.isEmpty { line += "; at the next start: " + report.pending.joined(separator: "; ") }
            if !report.stillFailing.isEmpty { line += "; still failing: " + report.stillFailing.joined(separator: "; ") }
            logger.notice("\(line)")
            return report
        } catch {
            metrics.recordReload(result: error.code == JAMEY_E_PLUGIN ? "rolled_back" : "invalid")
            logger.error("config reload from \(new.source) refused: \(error.problems.joined(separator: "; "))")
            throw error
        }
    }
}

/// One reload: the plan (checked before anything changes), then its application with a journal
/// to undo it.
private struct Reload {
    let kernel: Kernel
    let new: KernelConfig
    let old: KernelConfig
    let oldRecords: [PluginRecord]

    /// Why a plugin cannot be prepared: one sentence.
    struct Problem: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    /// A library loaded and a section validated for a plugin to be started.
    struct Prepared {
        let path: String
        let library: PluginLibrary
        let section: ValidatedSection
    }

    var report = ReloadReport()
    /// The records after the reload, in config order.
    var records: [PluginRecord] = []
    /// New entries to install, by name.
    var entries: [String: KernelConfig.PluginEntry] = [:]
    /// Plugins to stop for good (removed or disabled).
    var stopForGood: [PluginRecord] = []
    /// Plugins to (re)start, with what they start from.
    var starts: [String: Prepared] = [:]
    /// Plugins not running that are retried with an unchanged entry: failing again is reported,
    /// not rolled back.
    var retries: Set<String> = []
    /// Started plugins whose section changed.
    var reconfigures: [(record: PluginRecord, section: ValidatedSection, keys: [String])] = []
    /// The start order after the reload.
    var order: [String] = []

    init(kernel: Kernel, new: KernelConfig) {
        self.kernel = kernel
        self.new = new
        self.old = kernel.config
        self.oldRecords = kernel.records
    }

    // MARK: Plan

    mutating func plan() throws(KernelError) {
        var problems: [String] = []
        planKernelSettings()
        let byName = Dictionary(uniqueKeysWithValues: oldRecords.map { ($0.name, $0) })
        for entry in new.plugins {
            guard let record = byName[entry.name] else {
                let record = PluginRecord(entry: entry)
                records.append(record)
                guard entry.enabled else {
                    kernel.metrics.recordState(plugin: entry.name, state: .disabled)
                    continue
                }
                switch prepare(record, entry) {
                case .success(let prepared):
                    starts[entry.name] = prepared
                    report.changes.append("plugins.\(entry.name): added")
                case .failure(let problem): problems.append(problem.text)
                }
                continue
            }
            records.append(record)
            let previous = record.entry
            if previous != entry { entries[entry.name] = entry }
            let (state, abandoned) = record.with { ($0.state, $0.abandoned) }
            guard entry.enabled else {
                if previous.enabled {
                    report.changes.append("plugins.\(entry.name): disabled")
                    if state == .started { stopForGood.append(record) }
                }
                continue
            }
            if abandoned {
                if previous != entry {
                    report.pending.append(
                        "plugins.\(entry.name): it was abandoned (\(record.failure ?? "a hook did not return")); restart Jamey to run it again"
                    )
                }
                continue
            }
            if state == .started && entry.path == previous.path && entry.isolation == previous.isolation {
                planSectionChange(record, entry, &problems)
                if entry.required != previous.required {
                    report.changes.append("plugins.\(entry.name).required: \(previous.required) → \(entry.required)")
                }
                if entry.privileges != previous.privileges {
                    let list = { (p: Set<KernelConfig.PluginEntry.Privilege>) in
                        "[" + p.map(\.rawValue).sorted().joined(separator: ", ") + "]"
                    }
                    report.changes.append(
                        "plugins.\(entry.name).privileges: \(list(previous.privileges)) → \(list(entry.privileges))")
                }
                continue
            }
            // Not running (disabled, failed, stopped) or moved to another library: start it.
            switch prepare(record, entry) {
            case .success(let prepared):
                starts[entry.name] = prepared
                if state == .started {
                    report.changes.append("plugins.\(entry.name): replaced by \(prepared.path)")
                } else if !previous.enabled {
                    report.changes.append("plugins.\(entry.name): enabled")
                } else if previous == entry {
                    retries.insert(entry.name)
                } else {
                    report.changes.append("plugins.\(entry.name): started with its new settings")
                }
            case .failure(let problem):
                if previous.enabled && previous == entry && state != .started {
                    report.stillFailing.append(problem.text)
                } else {
                    problems.append(problem.text)
                }
            }
        }
        for record in oldRecords where !new.plugins.contains(where: { $0.name == record.name }) {
            report.changes.append("plugins.\(record.name): removed")
            if record.state == .started { stopForGood.append(record) }
        }
        // What work in progress refuses is not a problem of the file: JAMEY_E_STATE (409), unless
        // the file has problems too.
        var busy: [String] = []
        planCanaries(&busy)
        planOrder(&problems)
        guard problems.isEmpty else { throw KernelError(problems + busy, code: JAMEY_E_INVALID) }
        guard busy.isEmpty else { throw KernelError(busy, code: JAMEY_E_STATE) }
    }

    /// A plugin with a canary running keeps its entry, and what it requires keeps running, until
    /// the canary is promoted or rolled back (as a restore refuses): a reload that removed the
    /// plugin left the canary and its traffic split behind (events for the stable side lost, the
    /// canary never stopped), one that disabled it let a promotion stop the deinitialised
    /// instance (its hooks called with a NULL state) and run it again, and one that changed its
    /// section was undone by the promotion of the canary, which kept the old one.
    private func planCanaries(_ problems: inout [String]) {
        let touched = Set(stopForGood.map(\.name) + starts.keys + reconfigures.map(\.record.name))
        // What a snapshot runs for is not stopped, restarted or reconfigured under it (a stop
        // waited behind the snapshot on the plugin's queue and the plugin was abandoned).
        let affected = touched.flatMap { name in
            [name] + (oldRecords.first { $0.name == name }.map { kernel.dependents(of: $0).map(\.name) } ?? [])
        }
        do throws(KernelError) {
            try kernel.refuseWhileSnapshotting(affected.sorted(), "a reload that stops or reconfigures it")
        } catch {
            problems += error.problems
        }
        let canaried = kernel.canaries.withLock { Set($0.keys) }
        guard !canaried.isEmpty else { return }
        for name in canaried.sorted() {
            let changed = entries[name] != nil || !new.plugins.contains { $0.name == name }
            let provider = touched.sorted().first { other in
                other != name
                    && (oldRecords.first { $0.name == other }.map { kernel.dependents(of: $0).contains { $0.name == name } }
                        ?? false)
            }
            guard changed || touched.contains(name) || provider != nil else { continue }
            let what = provider.map { "what it requires ('\($0)')" } ?? "its entry"
            problems.append(
                "plugins.\(name): a canary is running: promote it or roll it back (jamey plugins canary \(name) --promote | --rollback) before a reload changes \(what)"
            )
        }
    }

    private mutating func planKernelSettings() {
        if new.logLevel != old.logLevel { report.changes.append("log.level: \(old.logLevel) → \(new.logLevel)") }
        if new.bus.queueCapacity != old.bus.queueCapacity {
            report.changes.append(
                "bus.queue_capacity: \(old.bus.queueCapacity) → \(new.bus.queueCapacity) (for subscriptions made from now on)")
        }
        if new.bus.requestTimeout != old.bus.requestTimeout {
            report.changes.append(
                "bus.request_timeout_ms: \(old.bus.requestTimeout.shortText) → \(new.bus.requestTimeout.shortText)")
        }
        if new.logFormat != old.logFormat { report.changes.append("log.format: \(old.logFormat) → \(new.logFormat)") }
        if new.hooks != old.hooks { report.changes.append("hooks: updated") }
        if new.shutdownTimeout != old.shutdownTimeout {
            report.changes.append("shutdown.timeout_ms: \(old.shutdownTimeout.shortText) → \(new.shutdownTimeout.shortText)")
        }
        // Against what the process runs with, not the last file read: a value put back was
        // reported as pending again.
        let running = kernel.initialConfiguration
        let restartOnly: [(String, Bool)] = [
            ("node.name", new.nodeName != running.nodeName),
            ("data_dir", new.dataDirectory != running.dataDirectory),
            ("plugin_dir", new.pluginDirectory != running.pluginDirectory),
            ("bus.workers", new.bus.workers != running.bus.workers),
        ]
        for (key, changed) in restartOnly where changed { report.pending.append("\(key): takes effect at the next start") }
    }

    private mutating func planSectionChange(
        _ record: PluginRecord, _ entry: KernelConfig.PluginEntry, _ problems: inout [String]
    ) {
        guard let library = record.library, let current = record.with({ $0.config }) else { return }
        switch kernel.validateSection(entry, schema: library.descriptor.configSchema, in: new) {
        case .success(let section):
            guard section != current else { return }
            // The plugin's own check, before anything stops: its init would refuse the section
            // after the plugin and its dependents had stopped, and the reload be rolled back.
            let refused = kernel.pluginCheck(record, entry, library: library, section: section, source: new.source)
            guard refused.isEmpty else { return problems.append(ConfigErrors(refused).description) }
            let keys = Self.changedKeys(current.value, section.value)
            reconfigures.append((record, section, keys))
        case .failure(let errors): problems.append(errors.description)
        }
    }

    /// The top-level keys whose values differ (names only: values may be secret).
    static func changedKeys(_ a: ConfigValue, _ b: ConfigValue) -> [String] {
        let left = a.mapValue ?? ConfigMap()
        let right = b.mapValue ?? ConfigMap()
        return Set(left.keys).union(right.keys).filter { left[$0] != right[$0] }.sorted()
    }

    /// Loads (or reuses) the library and validates the section (schema and the plugin's check).
    private func prepare(_ record: PluginRecord, _ entry: KernelConfig.PluginEntry) -> Result<Prepared, Problem> {
        let previous = record.with { (library: $0.library, path: $0.path) }
        let path: String
        do throws(LoadError) {
            path = try kernel.resolvePath(entry)
        } catch {
            return .failure(Problem(error.message))
        }
        let library: PluginLibrary
        if let loaded = previous.library, previous.path == path, record.entry.isolation == entry.isolation {
            library = loaded
        } else {
            do throws(LoadError) {
                library = try kernel.isolatedIfConfigured(PluginLibrary.load(path: path, label: entry.name), entry: entry)
            } catch {
                return .failure(Problem(error.message))
            }
            guard library.descriptor.name == entry.name else {
                return .failure(
                    Problem(
                        "\(path): configured as 'plugins.\(entry.name)' but the library's descriptor names it '\(library.descriptor.name)'"
                    ))
            }
        }
        switch kernel.checkedSection(record, entry, library: library, in: new) {
        case .success(let section): return .success(Prepared(path: path, library: library, section: section))
        case .failure(let errors): return .failure(Problem(errors.description))
        }
    }

    /// The plugins that run after the reload, in dependency order; a plugin that would be left
    /// without what it requires is a problem (or, for a retry, still failing).
    private mutating func planOrder(_ problems: inout [String]) {
        let leaving = Set(stopForGood.map(\.name))
        var nodes: [DependencyGraph.Node] = []
        for record in records {
            let descriptor: PluginDescriptor?
            if let prepared = starts[record.name] {
                descriptor = prepared.library.descriptor
            } else if record.state == .started && !leaving.contains(record.name) {
                descriptor = record.descriptor
            } else {
                descriptor = nil
            }
            guard let d = descriptor else { continue }
            nodes.append(.init(name: record.name, version: d.version, requires: d.requires, provides: d.provides))
        }
        var graph = DependencyGraph.plan(nodes)
        // A retried plugin that still cannot start takes no one down with it.
        while let (name, reason) = graph.failures.first(where: { retries.contains($0.key) }) {
            report.stillFailing.append("plugins.\(name): \(reason)")
            retries.remove(name)
            starts[name] = nil
            nodes.removeAll { $0.name == name }
            graph = DependencyGraph.plan(nodes)
        }
        for (name, reason) in graph.failures.sorted(by: { $0.key < $1.key }) {
            problems.append("after this reload plugin '\(name)' could not run: \(reason)")
        }
        order = graph.order
    }

    // MARK: Apply

    /// What was done, to undo it.
    private struct Journal {
        var stopped: [PluginRecord] = []
        var started: [PluginRecord] = []
        var reconfigured: [(record: PluginRecord, previous: ValidatedSection)] = []
        var replaced: [(record: PluginRecord, library: PluginLibrary?, path: String?, section: ValidatedSection?)] = []
    }

    mutating func apply() throws(KernelError) -> ReloadReport {
        var journal = Journal()
        let oldEntries = Dictionary(uniqueKeysWithValues: oldRecords.map { ($0.name, $0.entry) })
        kernel.configuration.withLock { $0 = new }
        KernelLogging.apply(level: new.loggerLevel)
        KernelLogging.apply(format: new.logFormat.rawValue)
        kernel.bus.apply(queueCapacity: new.bus.queueCapacity, requestTimeout: new.bus.requestTimeout)
        do throws(KernelError) {
            try applySteps(&journal)
            kernel.recordList.withLock { $0 = records }
            for (name, entry) in entries { records.first { $0.name == name }?.with { $0.entry = entry } }
            for record in stopForGood where record.entry.enabled == false && records.contains(where: { $0 === record }) {
                kernel.setState(record, .disabled)
            }
            let started = order.compactMap { name in records.first { $0.name == name && $0.state == .started } }
            kernel.setStartOrder(started)
            return report
        } catch {
            rollBack(journal, oldEntries: oldEntries)
            throw KernelError(
                "reload rolled back: \(error.problems.joined(separator: "; ")); every plugin is back on the previous config",
                code: JAMEY_E_PLUGIN)
        }
    }

    private mutating func applySteps(_ journal: inout Journal) throws(KernelError) {
        let budget = kernel.config.hooks.stop
        let clock = ContinuousClock()
        // 1. Stop what goes away and what restarts (a moved library, or a section change without
        //    reconfigure), dependents first.
        var restart = Set(starts.keys.filter { name in oldRecords.contains { $0.name == name && $0.state == .started } })
        for change in reconfigures {
            let outcome = reconfigure(change.record, change.section)
            switch outcome {
            case .applied:
                journal.reconfigured.append((change.record, change.record.with { $0.config } ?? change.section))
                change.record.with { $0.config = change.section }
                change.record.with { $0.host }?.replaceConfig(change.section)
                report.changes.append(
                    "plugins.\(change.record.name).config: reconfigured (\(change.keys.joined(separator: ", ")))")
            case .needsRestart:
                guard let library = change.record.library, let path = change.record.with({ $0.path }) else { continue }
                starts[change.record.name] = Prepared(path: path, library: library, section: change.section)
                restart.insert(change.record.name)
                report.changes.append(
                    "plugins.\(change.record.name).config: restarted with the new settings (\(change.keys.joined(separator: ", ")))"
                )
            case .refused(let why):
                throw KernelError("plugin '\(change.record.name)' refused its new config: \(why)")
            }
        }
        var stopping = stopForGood
        var alongside: [String] = []
        for name in restart.sorted() {
            guard let record = oldRecords.first(where: { $0.name == name }) else { continue }
            stopping.append(record)
            // Dependents restart too: the report says so (it named only the plugin changed).
            for dependent in kernel.dependents(of: record) where dependent.state == .started {
                stopping.append(dependent)
                if !restart.contains(dependent.name) && !alongside.contains(dependent.name) {
                    alongside.append(dependent.name)
                    report.changes.append("plugins.\(dependent.name): restarted with '\(name)', which it requires")
                }
            }
        }
        for record in kernel.startOrder.reversed() where stopping.contains(where: { $0 === record }) {
            guard record.state == .started else { continue }
            guard kernel.stopOne(record, until: clock.now + budget, budget: budget) else {
                throw KernelError("plugin '\(record.name)' did not stop: \(record.failure ?? "abandoned")")
            }
            journal.stopped.append(record)
        }
        // 2. Start, in dependency order: new, enabled, moved, restarted and their dependents.
        for name in order {
            guard let record = records.first(where: { $0.name == name }), record.state != .started else { continue }
            if let prepared = starts[name] {
                let previous = record.with { m in
                    let saved = (m.library, m.path, m.config)
                    m.library = prepared.library
                    m.path = prepared.path
                    m.config = prepared.section
                    m.failure = nil
                    return saved
                }
                journal.replaced.append((record, previous.0, previous.1, previous.2))
            }
            if let entry = entries[name] { record.with { $0.entry = entry } }
            do throws(Kernel.StartFailure) {
                try kernel.initAndStart(record)
                journal.started.append(record)
                if retries.contains(name) { report.changes.append("plugins.\(name): started (it had failed before)") }
            } catch {
                let reason: String
                switch error {
                case .failed(let why):
                    kernel.setState(record, .failed, failure: why)
                    reason = why
                case .abandoned: reason = record.failure ?? "abandoned"
                }
                if retries.contains(name) {
                    report.stillFailing.append("plugins.\(name): \(reason)")
                    continue
                }
                throw KernelError("plugin '\(name)' did not start: \(reason)")
            }
        }
    }

    private enum Outcome {
        case applied, needsRestart
        case refused(String)
    }

    /// Runs the plugin's `reconfigure` hook, if it has one, under the start deadline.
    private func reconfigure(_ record: PluginRecord, _ section: ValidatedSection) -> Outcome {
        guard let hook = record.library?.raw.reconfigure else { return .needsRestart }
        let state = UnsafeSendable(record.with { $0.pluginState })
        let host = record.with { $0.host }
        let json = section.json
        let deadline = kernel.config.hooks.start
        let run: HookRun<(Int32, String)> = kernel.runHook(record, "reconfigure", deadline: deadline) {
            var err = [CChar](repeating: 0, count: Kernel.errorCapacity)
            let call = { json.withCString { hook(state.value, $0, json.utf8.count, &err, err.count) } }
            let code = host.map { $0.offering(section, call) } ?? call()
            err[err.count - 1] = 0
            return (code, String(cBuffer: err))
        }
        guard case .returned(let (code, message)) = run else {
            let reason = kernel.missedDeadline("reconfigure", deadline, key: HookDeadlines.key(of: "start"))
            kernel.abandon(record, reason: reason)
            return .refused(reason)
        }
        switch code {
        case JAMEY_OK: return .applied
        case JAMEY_E_UNSUPPORTED: return .needsRestart
        default: return .refused("\(Kernel.codeName(code)): \(message.isEmpty ? "no message" : message)")
        }
    }

    /// Undoes what ``applySteps(_:)`` did, in reverse: stops what it started, puts back
    /// libraries, sections and entries, reconfigures back, and starts what it stopped.
    private func rollBack(_ journal: Journal, oldEntries: [String: KernelConfig.PluginEntry]) {
        let budget = old.hooks.stop
        let clock = ContinuousClock()
        kernel.configuration.withLock { $0 = old }
        KernelLogging.apply(level: old.loggerLevel)
        KernelLogging.apply(format: old.logFormat.rawValue)
        kernel.bus.apply(queueCapacity: old.bus.queueCapacity, requestTimeout: old.bus.requestTimeout)
        for record in journal.started.reversed() where record.state == .started {
            kernel.stopOne(record, until: clock.now + budget, budget: budget)
        }
        for (record, library, path, section) in journal.replaced.reversed() {
            record.with { m in
                m.library = library
                m.path = path
                m.config = section
            }
        }
        for (name, entry) in oldEntries { oldRecords.first { $0.name == name }?.with { $0.entry = entry } }
        for (record, previous) in journal.reconfigured.reversed() {
            if case .applied = reconfigure(record, previous) {
                record.with { $0.config = previous }
                record.with { $0.host }?.replaceConfig(previous)
            } else {
                kernel.logger.error("plugin \(record.name) could not take its previous config back during a rollback")
            }
        }
        kernel.recordList.withLock { $0 = oldRecords }
        for record in kernel.startOrder where journal.stopped.contains(where: { $0 === record }) {
            do throws(Kernel.StartFailure) {
                try kernel.initAndStart(record)
            } catch {
                if case .failed(let why) = error { kernel.setState(record, .failed, failure: why) }
                kernel.logger.error("plugin \(record.name) did not start again during a rollback: \(record.failure ?? "")")
            }
        }
    }
}
