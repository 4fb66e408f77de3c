import Logging

/// The handler ``KernelLogging`` installs: a ``TextLogHandler`` and a ``JSONLogHandler`` for the
/// same logger, writing through whichever the process's format names at each line, so a config
/// reload switches `log.format` for every logger, plugins' included.
public struct KernelLogHandler: LogHandler {
    /// The text and JSON handlers, kept in step (metadata, level).
    private(set) var text: TextLogHandler
    private var json: JSONLogHandler

    /// - Parameter label: the logger's label.
    public init(label: String) {
        text = TextLogHandler(label: label)
        json = JSONLogHandler(label: label)
    }

    public var metadata: Logger.Metadata {
        get { text.metadata }
        set {
            text.metadata = newValue
            json.metadata = newValue
        }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { text.metadataProvider }
        set {
            text.metadataProvider = newValue
            json.metadataProvider = newValue
        }
    }

    public var logLevel: Logger.Level {
        get { text.logLevel }
        set {
            text.logLevel = newValue
            json.logLevel = newValue
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { text[metadataKey: key] }
        set {
            text[metadataKey: key] = newValue
            json[metadataKey: key] = newValue
        }
    }

    /// Whether lines go out as text now (the fast path for plugins' lines is text only).
    static var writesText: Bool { !KernelLogging.runtimeJSON.load(ordering: .relaxed) }

    public func log(event: LogEvent) {
        if Self.writesText { text.log(event: event) } else { json.log(event: event) }
    }
}
