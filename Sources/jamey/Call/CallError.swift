import ArgumentParser

/// A failure of `jamey call` before or instead of a response: one sentence and the exit status it
/// ends with.
struct CallError: Error, CustomStringConvertible, Sendable {
    /// The sentence, printed on standard error.
    let description: String
    /// The exit status.
    let exitCode: ExitCode

    /// A usage error (exit 64): an unknown operation, a missing parameter, an invalid body.
    static func usage(_ sentence: String) -> CallError { CallError(description: sentence, exitCode: CallExitCode.usage) }

    /// The server could not be reached (exit 7).
    static func unreachable(_ sentence: String) -> CallError {
        CallError(description: sentence, exitCode: CallExitCode.unreachable)
    }

    /// Anything else (exit 1), such as an unusable /openapi.json.
    static func unexpected(_ sentence: String) -> CallError {
        CallError(description: sentence, exitCode: CallExitCode.unexpected)
    }
}
