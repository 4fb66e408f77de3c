import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Installs the process's swift-log backend from the config: `text` (swift-log's stream handler on
/// standard error) or `json` (one JSON object per line on standard error). Call once, from `main`.
public enum KernelLogging {
    /// Bootstraps swift-log.
    /// - Parameters:
    ///   - format: `text` or `json`.
    ///   - level: the minimum level written.
    public static func bootstrap(format: String, level: Logger.Level) {
        // Without TZ, glibc checks /etc/localtime (a stat) on every local-time conversion, i.e.
        // once per text log line; naming the zone file once lets it load and cache the zone.
        if getenv("TZ") == nil { setenv("TZ", ":/etc/localtime", 0) }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                format == "json" ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Writes one JSON object per line to standard error: `ts`, `level`, `label`, `message`, then
/// metadata keys. Lines are written with one `write(2)` each, so they never interleave.
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata.
    public var metadataProvider: Logger.MetadataProvider?
    /// The minimum level written.
    public var logLevel: Logger.Level = .info

    /// - Parameter label: the logger's label.
    public init(label: String) { self.label = label }

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
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return
            "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }

    /// A JSON string literal (the config layer's escaper, shared so both stay RFC 8259-correct).
    static func quote(_ s: String) -> String {
        var out = ""
        ConfigValue.writeJSONString(s, to: &out)
        return out
    }
}
