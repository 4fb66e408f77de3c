import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Installs the process's swift-log backend from the config: `text` (``TextLogHandler``) or `json`
/// (``JSONLogHandler``), both writing to standard error through ``LogSink/standardError``, which
/// is flushed at exit. Call once, from `main`.
public enum KernelLogging {
    /// Bootstraps swift-log.
    /// - Parameters:
    ///   - format: `text` or `json`.
    ///   - level: the minimum level written.
    public static func bootstrap(format: String, level: Logger.Level) {
        // Without TZ, glibc checks /etc/localtime (a stat) on every local-time conversion, i.e.
        // once per text log line; naming the zone file once lets it load and cache the zone.
        if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
        tzset()
        atexit { LogSink.standardError.flush(timeout: .seconds(2)) }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == "json" ? JSONLogHandler(label: label) : TextLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Writes out every queued log line (see ``LogSink/flush(timeout:)``).
    public static func flush() { LogSink.standardError.flush(timeout: .seconds(2)) }
}

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
        var line = ""
        line.reserveCapacity(96 + label.utf8.count + prefix.utf8.count + event.message.description.utf8.count)
        LogTime.appendLocal(to: &line)
        line += " "
        line += event.level.rawValue
        line += " "
        line += label
        line += ":"
        var extra = metadataProvider?.get() ?? [:]
        if let more = event.metadata { extra.merge(more) { $1 } }
        if extra.isEmpty {
            line += prefix
        } else {
            var merged = metadata
            merged.merge(extra) { $1 }
            line += Self.render(merged)
        }
        line += " "
        line += event.message.description
        line += "\n"
        sink.write(line, urgent: event.level >= .error)
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

/// Timestamps for log lines, formatted without Foundation.
enum LogTime {
    /// The local-time text of the current second (`2026-11-24T22:26:13`) and its offset
    /// (`+0000`), formatted once per second rather than once per line.
    private static let second = Mutex<(second: Int, text: String, offset: String)>((-1, "", ""))

    /// Appends local time as `2026-11-24T22:26:13.412+0000`.
    static func appendLocal(to out: inout String) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let now = Int(ts.tv_sec)
        let (text, offset) = second.withLock { cache -> (String, String) in
            if cache.second != now {
                var t = time_t(ts.tv_sec)
                var tm = tm()
                localtime_r(&t, &tm)
                var text = ""
                appendSeconds(tm, to: &text)
                let minutes = tm.tm_gmtoff / 60
                var offset = minutes < 0 ? "-" : "+"
                pad(Int(abs(minutes) / 60), 2, &offset)
                pad(Int(abs(minutes) % 60), 2, &offset)
                cache = (now, text, offset)
            }
            return (cache.text, cache.offset)
        }
        out += text
        out += "."
        pad(Int(ts.tv_nsec / 1_000_000), 3, &out)
        out += offset
    }

    /// Appends UTC as `2026-11-24T22:26:13.412Z`.
    static func appendUTC(to out: inout String) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tm = tm()
        gmtime_r(&t, &tm)
        append(tm, millis: Int(ts.tv_nsec / 1_000_000), to: &out)
        out += "Z"
    }

    private static func append(_ tm: tm, millis: Int, to out: inout String) {
        appendSeconds(tm, to: &out)
        out += "."
        pad(millis, 3, &out)
    }

    private static func appendSeconds(_ tm: tm, to out: inout String) {
        pad(Int(tm.tm_year) + 1900, 4, &out)
        out += "-"
        pad(Int(tm.tm_mon) + 1, 2, &out)
        out += "-"
        pad(Int(tm.tm_mday), 2, &out)
        out += "T"
        pad(Int(tm.tm_hour), 2, &out)
        out += ":"
        pad(Int(tm.tm_min), 2, &out)
        out += ":"
        pad(Int(tm.tm_sec), 2, &out)
    }

    private static func pad(_ value: Int, _ width: Int, _ out: inout String) {
        let digits = String(value)
        for _ in digits.utf8.count..<max(width, digits.utf8.count) { out += "0" }
        out += digits
    }
}

/// Writes one JSON object per line to standard error: `ts`, `level`, `label`, `message`, then
/// metadata keys, through a ``LogSink`` (lines never interleave; errors and worse are written before
/// `log` returns).
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata.
    public var metadataProvider: Logger.MetadataProvider?
    /// The minimum level written.
    public var logLevel: Logger.Level = .info

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
