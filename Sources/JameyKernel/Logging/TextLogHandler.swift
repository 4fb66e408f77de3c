import Logging

/// Writes one line per event: local time with milliseconds and offset, level, label, metadata as
/// `key=value`, message (`2026-11-24T22:26:13.412+0000 info jamey.plugin.api: plugin=api GET /healthz 200`).
/// Errors and worse are written before `log` returns, unless the sink's reader has stopped (see
/// ``LogSink``).
public struct TextLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:] {
        didSet { prefix = Self.render(metadata) }
    }
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
        message.withUTF8 { write(level: event.level, metadata: rendered, message: UnsafeRawBufferPointer($0)) }
    }

    /// Logs a message given as bytes — a plugin's line through the ABI — without making a string
    /// of it, when the handler has no metadata provider and the bytes are printable ASCII (the
    /// common case); otherwise through ``log(event:)``, which repairs invalid UTF-8.
    /// - Parameters:
    ///   - level: the line's level (lines below ``logLevel`` are dropped).
    ///   - message: the message bytes, valid during the call.
    func log(level: Logger.Level, message: UnsafeRawBufferPointer) {
        guard level >= logLevel else { return }
        if metadataProvider == nil, message.allSatisfy({ $0 >= 32 && $0 < 127 }) {
            write(level: level, metadata: prefix, message: message)
            return
        }
        let text = String(decoding: message, as: UTF8.self)
        log(
            event: LogEvent(
                level: level, message: Logger.Message(stringLiteral: text), metadata: nil, source: "plugin", file: #fileID,
                function: #function, line: #line))
    }

    /// Lays one line straight into the sink's queue: no intermediate string.
    private func write(level: Logger.Level, metadata rendered: String, message: UnsafeRawBufferPointer) {
        sink.write(urgent: level >= .error) { out in
            LogTime.appendLocal(to: &out)
            out.append(32)
            out.append(contentsOf: level.rawValue.utf8)
            out.append(32)
            out.append(contentsOf: label.utf8)
            out.append(58)
            out.append(contentsOf: rendered.utf8)
            out.append(32)
            out.append(contentsOf: message)
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
