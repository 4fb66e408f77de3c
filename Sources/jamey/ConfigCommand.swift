import ArgumentParser
import JameyKernel
import Logging

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Work with configuration files.", subcommands: [Check.self, Show.self, Reload.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the config and every enabled plugin's section without starting anything.",
            discussion: "Exit status 0 when valid; 1 with one line per problem otherwise.")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            // A plugin's entry point and its check hook run here: a crash in one is named as
            // `serve` names it (exit 70).
            CrashContext.install()
            var logger = Logger(label: "jamey.config-check")
            logger.logLevel = .critical
            let kernel: Kernel
            do {
                kernel = try Kernel(config: config, logger: logger, inspecting: true)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            var problems: [String] = []
            do {
                problems = try kernel.load()
            } catch {
                problems = kernel.plugins.compactMap(\.failure)
            }
            if let problem = kernel.dataDirectoryProblem { problems.insert(problem, at: 0) }
            // Warnings first, and whatever else is wrong: a misspelt variable's "did you mean"
            // vanished as soon as the file had an error too.
            for line in kernel.unknownEnvironmentVariables() { printError("warning: " + line) }
            guard problems.isEmpty else {
                for p in problems { printError(p) }
                throw ExitCode(1)
            }
            let enabled = kernel.plugins.filter { $0.state != .disabled }.map(\.name)
            print(
                "config OK: \(config.source); \(enabled.count) plugin(s) enabled\(enabled.isEmpty ? "" : ": " + enabled.joined(separator: ", "))"
            )
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective kernel config (defaults and environment applied, secrets redacted).")

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let config = try options.load()
            var logger = Logger(label: "jamey.config-show")
            logger.logLevel = .critical
            // Load the plugins (without starting them) so their sections are validated against
            // their schemas: that is what says which values are secret.
            var sections: [String: ValidatedSection] = [:]
            if let kernel = try? Kernel(config: config, logger: logger, inspecting: true) {
                _ = try? kernel.load()
                sections = kernel.validatedSections
            }
            print(config.redactedDescription(pluginSections: sections))
        }
    }
}
