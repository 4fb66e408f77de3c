import ArgumentParser
import Foundation

extension Call {
    /// Sends `request`, prints the body on standard output and a line on standard error for a
    /// status other than 2xx, and ends with the exit status of the status class.
    /// - Parameter keyless: whether an operation that needs a key was called without one.
    /// - Returns: the status (a 2xx; anything else throws its exit status).
    @discardableResult
    func send(_ request: HTTPRequest, with client: HTTPClient, keyless: Bool) throws -> Int {
        var body: [UInt8] = []
        var streamed = false
        let head: HTTPResponseHead
        do {
            head = try client.exchange(
                request,
                streaming: { head in
                    streamed = Self.isStream(head)
                    if verbose { Self.printHead(head) }
                    return streamed
                },
                onBody: { piece in if streamed { StandardOutput.write(piece) } else { body += piece } })
        } catch {
            throw CallError.unreachable("\(error)")
        }
        if !streamed { StandardOutput.write(render(body, head: head)) }
        guard (200..<300).contains(head.status) else {
            var line = "\(asCommand): \(request.method) \(request.target) answered \(head.status) \(head.reason)"
            if let detail = Self.problemDetail(body) { line += ": \(detail)" }
            if head.status == 401, keyless {
                line += " (no API key found: use --key-file, set JAMEY_KEY, or run where ./data/api/admin.key is)"
            }
            printError(line)
            throw CallExitCode.forStatus(head.status)
        }
        return head.status
    }

    /// The body as printed: untouched with `--raw` or when it is not JSON, else indented (on a
    /// terminal or with `--pretty`), ending with a newline.
    func render(_ body: [UInt8], head: HTTPResponseHead) -> [UInt8] {
        guard !raw, !body.isEmpty else { return body }
        let isJSON =
            (head.header("Content-Type")?.lowercased().contains("json") ?? false)
            && (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) != nil
        var out = isJSON && (pretty || StandardOutput.isTerminal) ? JSONIndenter.indent(body) : body
        if out.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        return out
    }

    /// The `detail` (else `title`) of a problem+json body.
    static func problemDetail(_ body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        return (object["detail"] as? String) ?? (object["title"] as? String)
    }

    private static func isStream(_ head: HTTPResponseHead) -> Bool {
        head.header("Content-Type")?.lowercased().hasPrefix("text/event-stream") ?? false
    }

    private static func printHead(_ head: HTTPResponseHead) {
        printError("< HTTP/1.1 \(head.status) \(head.reason)")
        for field in head.headers { printError("< \(field.name): \(field.value)") }
    }
}
