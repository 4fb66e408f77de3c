import ArgumentParser

/// `jamey completion bash|zsh|fish`: prints the shell completion script swift-argument-parser
/// generates for every `jamey` command.
struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion: """
            bash:  jamey completion bash > /etc/bash_completion.d/jamey   (or: source <(jamey completion bash))
            zsh:   jamey completion zsh > "${fpath[1]}/_jamey"
            fish:  jamey completion fish > ~/.config/fish/completions/jamey.fish

            The operation argument of `jamey call` completes from the running server's /openapi.json.
            """)

    /// A shell with a completion script.
    enum Shell: String, ExpressibleByArgument, CaseIterable {
        case bash, zsh, fish

        var completionShell: CompletionShell {
            switch self {
            case .bash: .bash
            case .zsh: .zsh
            case .fish: .fish
            }
        }
    }

    @Argument(help: "bash, zsh or fish.")
    var shell: Shell

    func run() {
        print(Jamey.completionScript(for: shell.completionShell))
    }
}
