import ArgumentParser
import JameyKernel

/// The `jamey` command.
@main
struct Jamey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jamey",
        abstract: "A plugin-hosting microkernel server.",
        version: Versions.text,
        subcommands: [
            Serve.self, ConfigCommand.self, PluginsCommand.self, Call.self, CompletionCommand.self, VersionCommand.self,
            VaultCommand.self, CacheCommand.self,
        ],
        defaultSubcommand: nil
    )
}

/// Versions of the kernel and of the ABI it speaks.
enum Versions {
    static let kernel = "0.1.0"
    static var abi: String { "\(Kernel.abiMajor).\(Kernel.abiMinor)" }
    static var text: String { "jamey \(kernel) (plugin ABI \(abi))" }
}

/// Options shared by commands that read a config file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Config file (YAML). Default: the embedded default (config/jamey.yaml).")
    var config: String?

    /// Loads the config, printing every error and exiting non-zero on failure.
    func load() throws -> KernelConfig {
        do {
            return try KernelConfig.load(path: config, defaultYAML: DefaultConfig.yaml, environment: ProcessEnvironment.current)
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the kernel and ABI versions.")

    func run() {
        print(Versions.text)
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
