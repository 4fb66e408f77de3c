import Logging

/// Writes one JSON object per line to standard error: `ts`, `level`, `label`, `message`, then
/// metadata keys, through a ``LogSink`` (lines never interleave; errors and worse are written before
/// `log` returns, unless the sink's reader has stopped: see ``LogSink``).
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata.
    public var metadataProvider: Logger.MetadataProvider?
    /// The minimum level written: the process's level from the config when ``KernelLogging``
    /// bootstrapped it (a reload changes it), else the level set here.
    public var logLevel: Logger.Level {
        get { KernelLogging.level ?? ownLevel }
        set { ownLevel = newValue }
    }
    private var ownLevel: Logger.Level = .info

    private let sink: LogSink

    /// - Parameters:
    ///   - label: the logger's label.
    ///   - sink: where lines go.
    public init(label: String, sink: LogSink = .standardError) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var line =
            "{\"ts\":\(Self.quote(Self.timestamp())),\"level\":\"\(event.level.rawValue)\",\"label\":\(Self.quote(label)),\"message\":\(Self.quote(event.message.description))"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += ",\(Self.quote(key)):\(Self.quote(value.description))"
        }
        line += "}\n"
        sink.write(line, urgent: event.level >= .error)
    }

    static func timestamp() -> String {
        var out = ""
        LogTime.appendUTC(to: &out)
        return out
    }

    /// A JSON string literal (the config layer's escaper, shared so both stay RFC 8259-correct).
    static func quote(_ s: String) -> String {
        var out = ""
        ConfigValue.writeJSONString(s, to: &out)
        return out
    }
}
