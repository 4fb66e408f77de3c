import ArgumentParser
import Dispatch
import JameyKernel
import Logging
import ServiceLifecycle

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
        let kernel: Kernel
        do {
            kernel = try Kernel(config: config, logger: logger)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
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
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger
            ))
        do {
            try await group.run()
            withExtendedLifetime(hangUp) {}
        } catch let error as KernelError {
            for problem in error.problems { logger.critical("\(problem)") }
            throw ExitCode(1)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
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
}
