import ArgumentParser

extension ConfigCommand {
    /// `jamey config reload`: asks a running server to re-read its config file and apply it
    /// (what SIGHUP does), through `POST /v1/config/reload` with an admin key.
    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a running server re-read its config file and apply it (as SIGHUP does).",
            discussion: """
                The server checks the whole file first: an invalid one changes nothing and every problem \
                is printed (exit 4). Otherwise it applies it — log level, hook deadlines, plugins enabled, \
                disabled, added, removed or with a changed section (reconfigured in place, or restarted) — \
                and prints what changed; a step that fails rolls everything back (exit 5). When the reload \
                restarts the api plugin itself, the server answers as it stops; the command then waits for it \
                to answer again and ends as the reload did.
                """)

        @OptionGroup var server: ServerOptions

        func run() throws {
            try Call.parse(["reloadConfig", "--as-command", "jamey config reload", "--follow-reload"] + server.callArguments)
                .run()
        }
    }
}

/// Where a command that acts on a running server finds it: `--server`, `--key-file`, `--timeout`.
struct ServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The server (default $JAMEY_SERVER, else http://127.0.0.1:8080).", valueName: "url"))
    var server: String?

    @Option(
        help: ArgumentHelp(
            "A file holding an admin API key (without it: the key itself in $JAMEY_KEY, else the file ./data/api/admin.key).",
            valueName: "path"))
    var keyFile: String?

    @Option(
        help:
            "Seconds to wait for the server (it may stop and start plugins meanwhile; default 330, past the gateway's limits.operation_timeout_ms of 300 s)."
    )
    var timeout: Double?

    /// The same options for `jamey call` (without `--timeout`, `jamey call` waits 330 s for these
    /// long-running operations, as the README says; a default of 120 gave up while the server
    /// went on, and a retried deploy ran twice).
    var callArguments: [String] {
        var arguments = timeout.map { ["--timeout", String($0)] } ?? []
        if let server { arguments += ["--server", server] }
        if let keyFile { arguments += ["--key-file", keyFile] }
        return arguments
    }
}
