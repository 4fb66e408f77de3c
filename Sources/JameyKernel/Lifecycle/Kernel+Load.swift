import Logging

extension Kernel {
    /// Maps every enabled plugin's library, checks its descriptor and validates its config
    /// section against the schema it declares, then with the plugin's own `check` hook (ABI 1.6,
    /// in-process plugins that have one). Calls no other plugin hook but the entry point.
    ///
    /// An optional plugin that fails is marked `failed` and the rest go on.
    /// - Returns: one sentence per failed plugin (empty when all loaded).
    /// - Throws: `KernelError` when a `required` plugin failed.
    @discardableResult
    public func load() throws(KernelError) -> [String] {
        var problems: [String] = []
        var requiredProblems: [String] = []
        var seen: [String: String] = [:]  // descriptor name -> config name
        for record in records where record.state == .loaded {
            do throws(LoadError) {
                let path = try resolvePath(record)
                record.with { $0.path = path }
                let library = try isolatedIfConfigured(PluginLibrary.load(path: path, label: record.name), entry: record.entry)
                if !library.entryPointCalls.isEmpty {
                    logger.warning(
                        "plugin \(record.name) (\(path)) called \(library.entryPointCalls.joined(separator: ", ")) from its entry point jamey_plugin_register, which jamey/plugin.h forbids (host functions work from init on); refused"
                    )
                }
                let descriptor = library.descriptor
                if let other = seen[descriptor.name] {
                    throw LoadError(
                        .duplicateName, path: path,
                        "duplicate plugin name '\(descriptor.name)': already loaded for 'plugins.\(other)'")
                }
                seen[descriptor.name] = record.name
                guard descriptor.name == record.name else {
                    throw LoadError(
                        .nameMismatch, path: path,
                        "configured as 'plugins.\(record.name)' but the library's descriptor names it '\(descriptor.name)': rename the config section or set its path"
                    )
                }
                record.with { $0.library = library }
                metrics.recordInfo(plugin: record.name, version: descriptor.version.description, abi: descriptor.abiVersion)
                let section = checkedSection(record, record.entry, library: library, in: config)
                switch section {
                case .success(let validated):
                    record.with { $0.config = validated }
                    setState(record, .loaded)
                case .failure(let errors):
                    let message = errors.description
                    setState(record, .failed, failure: message)
                    problems.append(message)
                    if record.entry.required { requiredProblems.append(message) }
                }
            } catch {
                setState(record, .failed, failure: error.message)
                problems.append(error.message)
                if record.entry.required { requiredProblems.append(error.message) }
            }
        }
        if !requiredProblems.isEmpty {
            throw KernelError(requiredProblems.map { "required plugin failed to load: \($0)" })
        }
        warnOfUnknownEnvironmentVariables()
        return problems
    }

    /// Logs a warning for each `JAMEY_*` variable that looks like a config override but sets no
    /// key (``unknownEnvironmentVariables()``): it was ignored without a word.
    func warnOfUnknownEnvironmentVariables() {
        for line in unknownEnvironmentVariables() { logger.warning("\(line)") }
    }

    /// A sentence for each `JAMEY_*` variable that looks like a config override but sets no key,
    /// judged against the loaded plugins' schemas
    /// (``KernelConfig/unknownEnvironmentVariables(_:schemas:)``); call it after ``load()``.
    public func unknownEnvironmentVariables() -> [String] {
        var schemas: [String: ConfigSchema] = [:]
        for record in records {
            if let schema = record.descriptor?.configSchema { schemas[record.name] = ConfigSchema(fields: schema) }
        }
        return config.unknownEnvironmentVariables(environment, schemas: schemas)
    }

    /// Validates a plugin entry's section as start, reload and deploy all must: errors name
    /// `config`'s file, the kernel's environment overrides apply, and path keys resolve against
    /// `config`'s directory (a reload that left them as written saw every relative path change).
    func validateSection(
        _ entry: KernelConfig.PluginEntry, schema: [ConfigField], in config: KernelConfig
    ) -> Result<ValidatedSection, ConfigErrors> {
        validate(
            entry.rawConfig, against: ConfigSchema(fields: schema), path: entry.configKeyPath, source: config.source,
            environment: environment, baseDirectory: config.baseDirectory)
    }

    /// The library path: the entry's `path`, else `lib<name>.so` in the plugin directory, matched
    /// ignoring case, `_` and `-` (so `hello_swift` finds `libHelloSwift.so`). Two files that
    /// both match (`libhello_swift.so` and `libHelloSwift.so`) are an error naming both.
    func resolvePath(_ record: PluginRecord) throws(LoadError) -> String {
        try resolvePath(record.entry)
    }

    /// The library path of a config entry (see ``resolvePath(_:)-(PluginRecord)``).
    func resolvePath(_ entry: KernelConfig.PluginEntry) throws(LoadError) -> String {
        let record = entry
        if let path = record.path { return path }
        let wanted = Self.normalizedLibraryName(record.name)
        let candidates = FileSystem.list(pluginDirectory).filter { $0.hasPrefix("lib") && $0.hasSuffix(".so") }
        let matches = candidates.filter { Self.normalizedLibraryName(String($0.dropFirst(3).dropLast(3))) == wanted }.sorted()
        if matches.count > 1 {
            throw LoadError(
                .ambiguousFile, path: pluginDirectory,
                "plugin '\(record.name)' matches more than one file: \(matches.map { pluginDirectory + "/" + $0 }.joined(separator: " and ")); remove one or set plugins.\(record.name).path"
            )
        }
        if let match = matches.first {
            return pluginDirectory + "/" + match
        }
        throw LoadError(
            .missingFile, path: pluginDirectory + "/lib\(record.name).so",
            "plugin file does not exist (searched \(pluginDirectory) for lib\(record.name).so, ignoring case, '_' and '-'; set plugins.\(record.name).path or plugin_dir)"
        )
    }

    static func normalizedLibraryName(_ name: String) -> String {
        String(name.lowercased().filter { $0 != "_" && $0 != "-" })
    }
}

extension Kernel {
    /// The validated config section of every plugin that loaded (defaults applied), by name.
    public var validatedSections: [String: ValidatedSection] {
        var result: [String: ValidatedSection] = [:]
        for record in records {
            if let section = record.with({ $0.config }) { result[record.name] = section }
        }
        return result
    }
}
