import Foundation

extension KernelConfig {
    /// The source name used for the embedded default configuration.
    public static let embeddedSourceName = "<embedded default>"

    /// Loads the kernel configuration from a file, or from the embedded default text, applying
    /// environment overrides and defaults and validating everything but the plugins' own
    /// sections (see ``PluginEntry/rawConfig``).
    ///
    /// Relative paths in the file are resolved against the file's directory; relative paths in
    /// the embedded default, against the current directory.
    ///
    /// - Parameters:
    ///   - path: the config file, or `nil` to use `defaultYAML`.
    ///   - defaultYAML: the embedded default configuration (`config/jamey.yaml`); empty text
    ///     means "all defaults".
    ///   - environment: the process environment (`ProcessInfo.processInfo.environment`).
    /// - Throws: ``ConfigErrors`` with every problem found: a missing or unreadable file, a YAML
    ///   syntax error (with line and column), an empty file, a top level that is not a map, or
    ///   validation errors.
    public static func load(path: String?, defaultYAML: String, environment: [String: String]) throws(ConfigErrors)
        -> KernelConfig
    {
        let currentDirectory = FileManager.default.currentDirectoryPath
        guard let path else {
            return try parse(
                yaml: defaultYAML, source: embeddedSourceName, baseDirectory: currentDirectory,
                environment: environment, allowEmpty: true)
        }
        let absolute = resolve(path, against: currentDirectory)
        let text = try readFile(path, absolutePath: absolute)
        return try parse(
            yaml: text, source: path,
            baseDirectory: (absolute as NSString).deletingLastPathComponent,
            environment: environment, allowEmpty: false)
    }

    /// Parses and validates kernel configuration text, as ``load(path:defaultYAML:environment:)``
    /// does for a file's contents.
    ///
    /// - Parameters:
    ///   - yaml: the YAML text.
    ///   - source: the name used in errors (a file path).
    ///   - baseDirectory: the absolute directory relative paths are resolved against.
    ///   - environment: the process environment.
    /// - Throws: ``ConfigErrors`` with every problem found; text holding no document is an error.
    public static func parse(
        yaml: String, source: String, baseDirectory: String, environment: [String: String]
    ) throws(ConfigErrors) -> KernelConfig {
        try parse(yaml: yaml, source: source, baseDirectory: baseDirectory, environment: environment, allowEmpty: false)
    }

    static func parse(
        yaml: String, source: String, baseDirectory: String, environment: [String: String], allowEmpty: Bool
    ) throws(ConfigErrors) -> KernelConfig {
        let document = try ConfigValue.parse(yaml: yaml, source: source)
        let top: ConfigMap
        switch document {
        case nil where allowEmpty, .null? where allowEmpty:
            top = ConfigMap()
        case nil, .null?:
            throw ConfigErrors([
                ConfigError(
                    kind: .emptyDocument, keyPath: "", source: source,
                    message: "the config file is empty; it must hold a map of settings such as 'data_dir: ./data'")
            ])
        case .map(let map)?:
            top = map
        case let other?:
            throw ConfigErrors([
                ConfigError(
                    kind: .notAMap, keyPath: "", source: source,
                    message: "the top level must be a map of settings, found \(other.foundDescription(secret: true))")
            ])
        }
        return try validated(top, source: source, baseDirectory: baseDirectory, environment: environment)
    }

    private static func validated(
        _ top: ConfigMap, source: String, baseDirectory: String, environment: [String: String]
    ) throws(ConfigErrors) -> KernelConfig {
        let schema = schema(hostName: ConfigText.hostName())
        var validator = ConfigValidator(source: source, environment: environment)
        let kernel = validator.validateMap(
            top, fields: schema.fields, path: "", environmentEnabled: true,
            secret: false, passThroughKeys: ["plugins"])
        let plugins = validator.validatePlugins(top["plugins"], baseDirectory: baseDirectory)
        guard validator.errors.isEmpty else { throw ConfigErrors(validator.errors) }

        let section = ValidatedSection(value: .map(kernel), schema: schema)
        func int(_ path: String, _ fallback: Int64) -> Int64 {
            (try? section.int(at: path).get()) ?? fallback
        }
        func string(_ path: String) -> String? {
            try? section.string(at: path).get()
        }
        return KernelConfig(
            source: source,
            baseDirectory: baseDirectory,
            nodeName: string("node.name") ?? ConfigText.hostName(),
            dataDirectory: resolve(string("data_dir") ?? "./data", against: baseDirectory),
            pluginDirectory: string("plugin_dir").map { resolve($0, against: baseDirectory) },
            logLevel: string("log.level").flatMap(LogLevel.init(rawValue:)) ?? .info,
            logFormat: string("log.format").flatMap(LogFormat.init(rawValue:)) ?? .text,
            shutdownTimeout: .milliseconds(int("shutdown.timeout_ms", 10_000)),
            hooks: HookDeadlines(milliseconds: { key in int("hooks.\(key)", 0) }),
            bus: Bus(
                queueCapacity: Int(int("bus.queue_capacity", 1024)),
                requestTimeout: .milliseconds(int("bus.request_timeout_ms", 5000)),
                workers: Int(int("bus.workers", 0))),
            plugins: plugins,
            section: section)
    }

    private static func readFile(_ path: String, absolutePath: String) throws(ConfigErrors) -> String {
        func failure(_ kind: ConfigError.Kind, _ message: String) -> ConfigErrors {
            ConfigErrors([ConfigError(kind: kind, keyPath: "", message: message)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolutePath, isDirectory: &isDirectory) else {
            throw failure(.fileNotFound, "config file \(path) does not exist")
        }
        guard !isDirectory.boolValue else {
            throw failure(.unreadable, "config file \(path) is a directory, not a file")
        }
        guard let data = FileManager.default.contents(atPath: absolutePath) else {
            throw failure(.unreadable, "config file \(path) cannot be read (check its permissions)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw failure(.unreadable, "config file \(path) is not UTF-8 text")
        }
        return text
    }

    /// `path` made absolute against `base` (when relative) and standardized.
    static func resolve(_ path: String, against base: String) -> String {
        let joined = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }
}
