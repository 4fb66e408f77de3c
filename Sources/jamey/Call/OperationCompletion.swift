import Foundation

/// Shell completion of `jamey call`'s operation argument: the operation ids (or, after a
/// method, the paths) of the server in `--server`, `$JAMEY_SERVER` or the default, asked with a
/// short timeout; nothing when it cannot be reached.
enum OperationCompletion {
    /// The candidates for the word being completed.
    /// - Parameters:
    ///   - words: the command line's words.
    ///   - index: the index of the word being completed.
    ///   - prefix: its text before the cursor.
    @Sendable static func candidates(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        var address = ProcessInfo.processInfo.environment["JAMEY_SERVER"] ?? ServerURL.default.text
        if let flag = words.firstIndex(of: "--server"), flag + 1 < words.count { address = words[flag + 1] }
        guard let server = try? ServerURL(parsing: address),
            let operations = try? Call.document(from: HTTPClient(server: server, timeout: .seconds(1)))
        else { return [] }
        let previous = index > 0 && index - 1 < words.count ? words[index - 1] : ""
        let candidates =
            HTTPMethods.isMethod(previous)
            ? operations.operations.filter { $0.method == previous.uppercased() }.map(\.path)
            : operations.operations.map(\.id)
        return candidates.filter { $0.hasPrefix(prefix) }
    }
}
