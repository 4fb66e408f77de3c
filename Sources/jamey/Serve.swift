import ArgumentParser
import Dispatch
import JameyKernel
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: load, validate and start the configured plugins until SIGTERM/SIGINT.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.load()
        KernelLogging.bootstrap(format: config.logFormat.rawValue, level: config.loggerLevel)
        var logger = Logger(label: "jamey")
        logger.logLevel = config.loggerLevel
        // A plugin crashing in-process ends the process; this makes it say whose crash it was.
        CrashContext.install()
        Self.raiseOpenFileLimit(logger)
        let kernel: Kernel
        let lock: DataDirectoryLock
        do {
            lock = try DataDirectoryLock(directory: config.dataDirectory)
            kernel = try Kernel(config: config, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        logger.notice(
            "\(Versions.text) starting: pid \(getpid()), config \(config.source), data_dir \(config.dataDirectory), plugins from \(kernel.pluginDirectory)"
        )
        // Reloads (SIGHUP, POST /v1/config/reload, `jamey config reload`) read the same file again.
        let path = options.config
        kernel.setReloadSource { () throws(KernelError) in
            do throws(ConfigErrors) {
                return try KernelConfig.load(
                    path: path, defaultYAML: DefaultConfig.yaml, environment: ProcessEnvironment.current)
            } catch {
                throw KernelError.invalidConfig(error)
            }
        }
        let hangUp = Self.onHangUp { [kernel] in _ = try? kernel.reloadFromSource() }
        defer { hangUp.cancel() }
        let service = KernelService(kernel: kernel)
        // SIGTERM and SIGINT are this command's alone (onStopSignals), not the group's too: a
        // signal in the moment before the group ran would have been logged and not acted on.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger
            ))
        let stopSignals = Self.onStopSignals(logger) { Task { await group.triggerGracefulShutdown() } }
        defer { stopSignals.forEach { $0.cancel() } }
        do {
            try await group.run()
            withExtendedLifetime((hangUp, lock, stopSignals)) {}
        } catch let error as KernelError {
            for problem in error.problems { logger.critical("\(problem)") }
            throw ExitCode(1)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        // A plugin whose stop outlived its deadline may not have saved what it holds: say so to
        // the supervisor (systemd logs the unit as failed); the kernel's last line names it.
        if !kernel.pluginsAbandonedAtStop.isEmpty { throw ExitCode(1) }
    }

    /// On the first SIGTERM or SIGINT names it and calls `stop` (the service group's graceful
    /// shutdown); on a second exits at once, without waiting for plugins still stopping (their
    /// databases are crash-safe; what they had not written is lost): an operator's second ^C.
    static func onStopSignals(_ logger: Logger, stop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        let received = Mutex(0)
        let queue = DispatchQueue(label: "jamey.stop-signals")
        return [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")].map { number, name in
            // Dispatch sees a signal only when its default action (ending the process) is off.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                let count = received.withLock { n -> Int in
                    n += 1
                    return n
                }
                if count == 1 {
                    logger.notice("received \(name): stopping (another SIGTERM or SIGINT exits at once)")
                    stop()
                } else {
                    logger.critical("received \(name) again: exiting now, without waiting for plugins still stopping")
                    _exit(1)
                }
            }
            source.resume()
            return source
        }
    }

    /// Reloads on SIGHUP, one at a time, off the signal handler.
    static func onHangUp(_ reload: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let queue = DispatchQueue(label: "jamey.sighup")
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        source.setEventHandler(handler: reload)
        source.resume()
        return source
    }

    /// Raises the soft limit on open files to the hard one: every connection the gateway holds,
    /// every database and plugin library is a descriptor, and the soft limit is often 1024 while
    /// the hard one allows far more; at the limit the gateway stops accepting (and a reload cannot
    /// read its file). The api plugin's `limits.max_connections` is meant to stay below it.
    static func raiseOpenFileLimit(_ logger: Logger) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        // Linux refuses more than fs.nr_open (1 048 576 by default), an unlimited hard limit too.
        let target = min(limit.rlim_max, 1 << 20)
        guard limit.rlim_cur < target else { return }
        let before = limit.rlim_cur
        limit.rlim_cur = target
        guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            return logger.warning("cannot raise the open-file limit from \(before) to \(target): errno \(errno)")
        }
        logger.info("raised the open-file limit from \(before) to \(target)")
    }
}
