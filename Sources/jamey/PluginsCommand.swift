import ArgumentParser
import JameyKernel
import Logging

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List, inspect, create and deploy plugins.",
        subcommands: [List.self, Inspect.self, New.self, Deploy.self, Canary.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Name, version, ABI, path and state of each configured plugin (loads, does not start).")

        @OptionGroup var options: ConfigOptions
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() throws {
            let config = try options.load()
            var logger = Logger(label: "jamey.plugins-list")
            logger.logLevel = .critical
            let kernel: Kernel
            do { kernel = try Kernel(config: config, logger: logger, inspecting: true) } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            _ = try? kernel.load()
            if json {
                print(kernel.pluginsJSON())
                return
            }
            let rows =
                [["NAME", "VERSION", "ABI", "STATE", "PATH"]]
                + kernel.plugins.map { [$0.name, $0.version ?? "-", $0.abi ?? "-", $0.state.rawValue, $0.path ?? "-"] }
            print(Table.render(rows))
            for p in kernel.plugins where p.failure != nil {
                print("\(p.name): \(p.failure!)")
            }
            if kernel.plugins.contains(where: { $0.state == .failed }) { throw ExitCode(1) }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the descriptor of one plugin library without starting it.")

        @Argument(help: "Path of the plugin's .so file.") var path: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let library: PluginLibrary
            do { library = try PluginLibrary.load(path: path) } catch {
                printError(error.message)
                throw ExitCode(1)
            }
            print(
                json
                    ? library.descriptor.jsonDescription(path: library.path)
                    : library.descriptor.textDescription(path: library.path))
        }
    }
}

/// Left-aligned text columns.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = first.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
