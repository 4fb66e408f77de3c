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
        atexit { KernelLogging.flush() }
        runtimeLevel.store(level.rank, ordering: .releasing)
        runtimeJSON.store(format == "json", ordering: .releasing)
        LoggingSystem.bootstrap { label in
            var handler = KernelLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Whether lines are written as JSON (else text); a config reload changes it.
    static let runtimeJSON = Atomic<Bool>(false)

    /// Changes the format of every logger at once (a config reload): `json` or `text`. Does
    /// nothing in a process that did not bootstrap the kernel's logging.
    public static func apply(format: String) {
        guard runtimeLevel.load(ordering: .acquiring) >= 0 else { return }
        runtimeJSON.store(format == "json", ordering: .releasing)
    }

    /// The process's log level once ``bootstrap(format:level:)`` ran (`-1` before): the kernel's
    /// handlers read it on every line, so a config reload changes the level of every logger,
    /// plugins' included.
    static let runtimeLevel = Atomic<Int>(-1)

    /// The level every kernel handler uses, when the process bootstrapped its logging.
    static var level: Logger.Level? {
        let rank = runtimeLevel.load(ordering: .acquiring)
        return rank < 0 ? nil : Logger.Level.allCases[rank]
    }

    /// Changes the level of every logger at once (a config reload). Does nothing in a process
    /// that did not bootstrap the kernel's logging (tests running several kernels).
    public static func apply(level: Logger.Level) {
        guard runtimeLevel.load(ordering: .acquiring) >= 0 else { return }
        runtimeLevel.store(level.rank, ordering: .releasing)
    }

    /// Writes out every queued log line (see ``LogSink/flush(timeout:)``).
    public static func flush() { LogSink.standardError.flush(timeout: .seconds(2)) }
}

extension Logger.Level {
    /// Its index in `allCases` (trace 0 ... critical 6).
    var rank: Int { Logger.Level.allCases.firstIndex(of: self) ?? 2 }
}
