import CJameyABI
import Dispatch
import Logging
import Synchronization

extension Kernel {
    /// The check hook's error buffer: room for several problems, one per line.
    static let checkErrorCapacity = 4096

    /// Validates a plugin entry's section against the library's schema, then asks the library's
    /// `check` hook (ABI 1.6) about it, as loading, a reload and a deploy all must before anything
    /// acts on the section. Problems of both kinds name `config`'s file and the section's key.
    func checkedSection(
        _ record: PluginRecord, _ entry: KernelConfig.PluginEntry, library: PluginLibrary, in config: KernelConfig
    ) -> Result<ValidatedSection, ConfigErrors> {
        switch validateSection(entry, schema: library.descriptor.configSchema, in: config) {
        case .failure(let errors): return .failure(errors)
        case .success(let section):
            let problems = pluginCheck(record, entry, library: library, section: section, source: config.source)
            return problems.isEmpty ? .success(section) : .failure(ConfigErrors(problems))
        }
    }

    /// What the library's `check` hook finds wrong with `section`, one error per line it wrote
    /// (none when it has no such hook). The hook runs on a thread of its own under
    /// `hooks.init_timeout_ms`: it has no state, so a running instance's lifecycle thread is not
    /// the place, and one that does not return is reported, not waited for.
    func pluginCheck(
        _ record: PluginRecord, _ entry: KernelConfig.PluginEntry, library: PluginLibrary, section: ValidatedSection,
        source: String
    ) -> [ConfigError] {
        // An isolated plugin's proxy descriptor has no check: its code runs in the kernel's
        // process only for the entry point. Its check runs in a runner process of its own.
        let hook = library.raw.check
        let isolated = hook == nil && entry.isolation.isolated && library.descriptor.hooks.contains("check")
        guard hook != nil || isolated else { return [] }
        func problem(_ message: String) -> ConfigError {
            ConfigError(kind: .refusedByPlugin, keyPath: entry.configKeyPath, source: source, message: message)
        }
        let json = section.json
        let plugin = UnsafeSendable(record.crashLabel)
        let call = UnsafeSendable(hook)
        let spec = isolationSpec(library.path, entry)
        // A context that reads the section being checked (config_* as in init) and logs; kept,
        // invalidated, among the kernel's hosts after the call, so a pointer the plugin kept
        // finds it invalid rather than freed.
        var logger = Logger(label: "jamey.plugin.\(entry.name)")
        logger.logLevel = self.logger.logLevel
        logger[metadataKey: "plugin"] = "\(entry.name)"
        let host = PluginHost(name: entry.name, kernel: self, config: section, logger: logger, checkOnly: true)
        hosts.withLock { $0.append(host) }
        defer { host.invalidate() }
        let deadline = config.hooks.initialize
        host.hookDeadline.store(Self.uptimeDeadline(deadline), ordering: .releasing)
        let context = UnsafeSendable(host.opaque)
        let outcome = Mutex<Result<(Int32, String), IsolationFailure>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let clock = ContinuousClock()
        let began = clock.now
        DispatchQueue.global().async {
            let result: Result<(Int32, String), IsolationFailure>
            if let hook = call.value {
                result = .success(
                    CrashContext.running(plugin: plugin.value, what: CrashContext.hookLabel("check")) {
                        var err = [CChar](repeating: 0, count: Self.checkErrorCapacity)
                        let code = json.withCString { hook(context.value, $0, json.utf8.count, &err, err.count) }
                        err[err.count - 1] = 0
                        return (code, String(cBuffer: err))
                    })
            } else {
                // Killed at 0.8 of the deadline (the spawn counted), so its end is reported rather
                // than waited out.
                let supervisor = PluginSupervisor(host: host, spec: spec, config: Array(json.utf8))
                result = supervisor.check(deadline: deadline * 0.8)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        let waited = done.wait(timeout: .now() + .nanoseconds(Int(max(0, deadline.wholeNanoseconds))))
        if waited == .success, case .failure(let failure) = outcome.withLock({ $0 }) {
            return [problem("the plugin's check hook did not finish (\(failure.message)); the section was not checked")]
        }
        guard waited == .success, case .success(let (code, message)) = outcome.withLock({ $0 }) else {
            return [
                problem(
                    "the plugin's check hook did not return within \(deadline.shortText) (\(HookDeadlines.key(of: "init"))); the section was not checked"
                )
            ]
        }
        recordHook(record, "check", clock.now - began)
        guard code != JAMEY_OK else { return [] }
        let lines = message.split(whereSeparator: \.isNewline).map { String($0.drop { $0 == " " }) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else {
            return [problem("refused by the plugin's check hook (\(Self.codeName(code))) without a reason")]
        }
        return lines.map(problem)
    }
}
