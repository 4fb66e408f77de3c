import ArgumentParser
import JameyKernel
import Logging
import ServiceLifecycle

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
        } catch let error as KernelError {
            for problem in error.problems { logger.critical("\(problem)") }
            throw ExitCode(1)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }
}
