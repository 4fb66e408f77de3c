import ArgumentParser

/// The exit statuses of `jamey call`, by what happened (also listed in `jamey call --help` and
/// the README).
enum CallExitCode {
    /// The server answered 2xx.
    static let success = ExitCode(0)
    /// The server answered something else (1xx, 3xx), or its /openapi.json is not a usable document.
    static let unexpected = ExitCode(1)
    /// The server answered 4xx (unauthorized, forbidden, not found, invalid request, ...).
    static let clientError = ExitCode(4)
    /// The server answered 5xx.
    static let serverError = ExitCode(5)
    /// The server could not be reached, or did not answer HTTP/1.1 (like curl's 7).
    static let unreachable = ExitCode(7)
    /// Bad usage: unknown operation, missing path parameter, invalid JSON body, unreadable key
    /// file, bad server URL (EX_USAGE, as for bad flags).
    static let usage = ExitCode(64)

    /// The exit status for an HTTP status code.
    static func forStatus(_ status: Int) -> ExitCode {
        switch status {
        case 200..<300: success
        case 400..<500: clientError
        case 500..<600: serverError
        default: unexpected
        }
    }

    /// The table printed in `jamey call --help`.
    static let help = """
        Exit status: 0 the server answered 2xx; 4 it answered 4xx; 5 it answered 5xx; 7 it could not \
        be reached (or did not speak HTTP/1.1); 64 bad usage (unknown operation, missing path \
        parameter, invalid JSON body, unreadable key file, bad URL); 1 anything else (a 1xx or 3xx \
        answer, an unusable /openapi.json).
        """
}
