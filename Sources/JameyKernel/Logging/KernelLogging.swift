import Logging

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
        atexit { KernelLogging.flush() }
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
