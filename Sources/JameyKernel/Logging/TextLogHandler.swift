import Logging

/// Writes one line per event: local time with milliseconds and offset, level, label, metadata as
/// `key=value`, message (`2026-11-24T22:26:13.412+0000 info jamey.plugin.api: plugin=api GET /healthz 200`).
/// Errors and worse are written before `log` returns.
public struct TextLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:] {
        didSet { prefix = Self.render(metadata) }
    }
    /// Contextual metadata.
    public var metadataProvider: Logger.MetadataProvider?
    /// The minimum level written.
    public var logLevel: Logger.Level = .info
    private let sink: LogSink
    /// ``metadata`` rendered once, as it rarely changes.
    private var prefix = ""

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
        var extra = metadataProvider?.get() ?? [:]
        if let more = event.metadata { extra.merge(more) { $1 } }
        var rendered = prefix
        if !extra.isEmpty {
            var merged = metadata
            merged.merge(extra) { $1 }
            rendered = Self.render(merged)
        }
        var message = event.message.description
        // The line is laid out straight into the sink's queue: no intermediate string.
        sink.write(urgent: event.level >= .error) { out in
            LogTime.appendLocal(to: &out)
            out.append(32)
            out.append(contentsOf: event.level.rawValue.utf8)
            out.append(32)
            out.append(contentsOf: label.utf8)
            out.append(58)
            out.append(contentsOf: rendered.utf8)
            out.append(32)
            message.withUTF8 { out.append(contentsOf: $0) }
            out.append(10)
        }
    }

    /// ` k=v k2=v2`, keys sorted.
    static func render(_ metadata: Logger.Metadata) -> String {
        var out = ""
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            out += " " + key + "=" + value.description
        }
        return out
    }
}
