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
                serving (exit 1). Update `path` in the config file too, or the next restart loads the old build.
                """)

        @Argument(help: "The plugin's config name.")
        var name: String

        @Argument(help: "The new build's shared library, as the server sees it (made absolute here).")
        var path: String

        @OptionGroup var server: ServerOptions

        func run() throws {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            let body = try JSONSerialization.data(withJSONObject: ["path": absolute])
            let arguments = ["deployPlugin", "-p", "name=\(name)", "--body", String(decoding: body, as: UTF8.self)]
            try Call.parse(arguments + server.callArguments).run()
        }
    }
}
