import ArgumentParser
import Foundation

extension PluginsCommand {
    /// `jamey plugins deploy NAME PATH`: blue-green replacement of a running plugin by a new
    /// build, through `POST /v1/plugins/{name}/deploy` with an admin key.
    struct Deploy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a running plugin with a new build, blue-green (the old one serves until the new one has started).",
            discussion: """
                The server loads the new library, checks it against the plugin's config and its dependents, \
                starts it beside the running one, moves bus requests, HTTP routes and service lookups to it, \
                lets the old one finish its queued work and stops it. Dependents of the plugin restart on \
                the new service tables. A build that does not fit or does not start leaves the old one \
                serving (exit 4 when it does not fit, 5 when it did not start; as `jamey call`). Update `path` in the config file too, or the next restart loads the old build.

                With --weight below 100 the new build starts as a canary: it takes that percentage of the \
                plugin's traffic (sticky per caller: API key or X-Canary-Key header) and is rolled back by \
                itself when its error rate or p99 latency is worse than the old one's by more than the \
                margins; see `jamey plugins canary`.
                """)

        @Argument(help: "The plugin's config name.")
        var name: String

        @Argument(help: "The new build's shared library, as the server sees it (made absolute here).")
        var path: String

        @Option(help: "Start as a canary taking this percentage of the traffic (1-99); 100 replaces at once.")
        var weight: Int = 100

        @Flag(help: "Canary: no automatic rollback.")
        var noAutoRollback = false

        @Option(help: "Canary: the window the figures are compared over, in seconds.")
        var window: Int?

        @OptionGroup var server: ServerOptions

        func validate() throws {
            guard (1...100).contains(weight) else { throw ValidationError("--weight must be from 1 to 100") }
        }

        func run() throws {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            var request: [String: Any] = ["path": absolute, "weight": weight]
            if weight < 100 {
                var rollback: [String: Any] = ["auto": !noAutoRollback]
                if let window { rollback["window_ms"] = window * 1000 }
                request["rollback"] = rollback
            }
            let body = try JSONSerialization.data(withJSONObject: request)
            let arguments = ["deployPlugin", "-p", "name=\(name)", "--body", String(decoding: body, as: UTF8.self)]
            try Call.parse(arguments + ["--as-command", "jamey plugins deploy"] + server.callArguments).run()
        }
    }
}

extension PluginsCommand {
    /// `jamey plugins canary NAME [--weight N | --promote | --rollback]`: a canary release's
    /// figures, or an operation on it.
    struct Canary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Show a plugin's canary (both versions' figures side by side), or change its weight, promote or roll it back.")

        @Argument(help: "The plugin's config name.")
        var name: String

        @Option(help: "Set the canary's share of the traffic (1-99).")
        var weight: Int?

        @Flag(help: "Make the canary the only version (the old one drains and stops).")
        var promote = false

        @Flag(help: "End the canary: the old version serves everything.")
        var rollback = false

        @OptionGroup var server: ServerOptions

        func validate() throws {
            let chosen = [weight != nil, promote, rollback].filter { $0 }.count
            guard chosen <= 1 else { throw ValidationError("give at most one of --weight, --promote and --rollback") }
        }

        func run() throws {
            var arguments: [String]
            if let weight {
                arguments = ["canaryWeight", "--body", "{\"weight\": \(weight)}"]
            } else if promote {
                arguments = ["canaryPromote"]
            } else if rollback {
                arguments = ["canaryRollback"]
            } else {
                arguments = ["canaryStatus"]
            }
            arguments += ["-p", "name=\(name)", "--as-command", "jamey plugins canary"]
            try Call.parse(arguments + server.callArguments).run()
        }
    }
}
