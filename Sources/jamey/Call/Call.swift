import ArgumentParser
import Foundation

/// `jamey call`: calls any operation of a running server — core and plugin routes alike — by
/// reading the server's `/openapi.json` first.
struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call any route of a running server (core or plugin), found in its /openapi.json.",
        discussion: """
            Examples:
              jamey call --list
              jamey call listPlugins
              jamey call GET /v1/hello/Ada
              jamey call GET '/v1/hello/{name}' -p name=Ada
              jamey call publish -p topic=demo.events.ping --body '{"n":1}'
              jamey call createKey --body @key.json

            Parameters (-p name=value) fill {name} path segments and the query and header \
            parameters the document declares; any other name goes into the query string.

            Server: --server, else $JAMEY_SERVER, else http://127.0.0.1:8080 (plain http only; \
            https servers are not supported yet). API key (sent to operations that need one, as \
            Authorization: Bearer): --key-file, else $JAMEY_KEY, else ./data/api/admin.key when \
            that file exists.

            \(CallExitCode.help)
            """)

    @Argument(
        help: ArgumentHelp(
            "An operation id (listPlugins), or a method and a path (GET /v1/plugins/{name}). None: list the operations.",
            valueName: "operation"),
        completion: .custom(OperationCompletion.candidates))
    var operation: [String] = []

    @Flag(help: "List the server's operations: id, method, path, summary.")
    var list = false

    @Option(
        name: [.short, .customLong("param")], help: ArgumentHelp("A path, query or header parameter.", valueName: "name=value"))
    var parameters: [String] = []

    @Option(
        name: [.customShort("H"), .customLong("header")], help: ArgumentHelp("An extra request header.", valueName: "name: value")
    )
    var headers: [String] = []

    @Option(help: ArgumentHelp("The request body: JSON text, @FILE, or - for standard input.", valueName: "json|@file|-"))
    var body: String?

    @Option(help: "The body's media type (default application/json, and the body must then be JSON).")
    var contentType: String?

    @Option(help: ArgumentHelp("The server (default $JAMEY_SERVER, else http://127.0.0.1:8080).", valueName: "url"))
    var server: String?

    @Option(
        help: ArgumentHelp(
            "A file holding the API key (without it: the key itself in $JAMEY_KEY, else the file ./data/api/admin.key).",
            valueName: "path"))
    var keyFile: String?

    @Flag(help: "Print the response body untouched.")
    var raw = false

    @Flag(help: "Indent JSON output even when standard output is not a terminal.")
    var pretty = false

    @Option(
        help:
            "Seconds to wait for the server: to connect, and for each read (default 30; 330 for an operation the server marks long-running, such as a vault backup or restore)."
    )
    var timeout: Double?

    @Flag(name: .shortAndLong, help: "Print the request line, the status line and the response headers on standard error.")
    var verbose = false

    /// The command its error lines are named after: the commands built on `call` (config reload,
    /// plugins deploy and canary) pass their own, so an error does not say "jamey call".
    @Option(name: .customLong("as-command"), help: .hidden)
    var asCommand = "jamey call"

    /// For `jamey config reload`: when the answer is 202 (the reload restarts the api plugin),
    /// wait for the outcome (``followReload(from:client:key:seconds:)``).
    @Flag(name: .customLong("follow-reload"), help: .hidden)
    var followsReload = false

    func validate() throws {
        if let timeout, !(timeout > 0 && timeout <= 86_400) {
            throw ValidationError("--timeout must be between 0 and 86400 seconds")
        }
    }

    func run() throws {
        do {
            try call()
        } catch let error as CallError {
            printError("\(asCommand): \(error)")
            throw error.exitCode
        }
    }

    private func call() throws {
        let environment = ProcessInfo.processInfo.environment
        let server = try ServerURL(
            parsing: server ?? environment["JAMEY_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? ServerURL.default.text)
        let client = HTTPClient(server: server, timeout: .milliseconds(Int64((timeout ?? 30) * 1000)))
        let operations = try Self.document(from: client)
        if list || operation.isEmpty {
            Self.printList(operations)
            return
        }
        var builder = try makeBuilder(operations)
        if !builder.operation.isPublic {
            builder.key = try APIKeySource.key(keyFile: keyFile, environment: environment)
        }
        let request = try builder.request()
        // The gateway waits up to limits.operation_timeout_ms (300 s by default) for these.
        let waits = timeout ?? (builder.operation.isLongRunning ? 330 : 30)
        let caller = HTTPClient(server: server, timeout: .milliseconds(Int64(waits * 1000)))
        let baseline = followsReload ? Self.reloadCounts(caller, key: builder.key) : nil
        if verbose { printError("> \(request.method) \(server.prefix)\(request.target)") }
        let status = try send(request, with: caller, keyless: builder.key == nil && !builder.operation.isPublic)
        if status == 202, followsReload {
            guard let baseline else {
                printError(
                    "\(asCommand): the reload restarts the api plugin, and its outcome cannot be followed (GET /metrics could not be read before it): see the server log"
                )
                throw CallExitCode.unreachable
            }
            try followReload(from: baseline, server: server, key: builder.key, seconds: waits)
        }
    }

    /// The builder for the operation named on the command line, with its parameters and body.
    private func makeBuilder(_ operations: OpenAPIOperations) throws(CallError) -> CallRequestBuilder {
        var builder: CallRequestBuilder
        switch operation.count {
        case 1 where HTTPMethods.isMethod(operation[0]):
            throw CallError.usage("\(operation[0]) needs a path: jamey call \(operation[0].uppercased()) /v1/...")
        case 1:
            builder = CallRequestBuilder(operation: try operations.operation(id: operation[0]))
        case 2:
            guard HTTPMethods.isMethod(operation[0]) else {
                throw CallError.usage("'\(operation[0])' is not an HTTP method: give an operation id, or a method and a path")
            }
            let (found, values) = try operations.operation(method: operation[0], path: operation[1])
            builder = CallRequestBuilder(operation: found)
            builder.pathValues = values
        default:
            throw CallError.usage("expected an operation id, or a method and a path; got \(operation.count) words")
        }
        builder.parameters = try parameters.map { text throws(CallError) in
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw CallError.usage("--param '\(text)' must look like name=value")
            }
            return (name: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
        }
        // The query string of a concrete path goes first, as --param pairs (it was dropped).
        if operation.count == 2, let mark = operation[1].firstIndex(of: "?") {
            builder.parameters =
                CallRequestBuilder.queryPairs(operation[1][operation[1].index(after: mark)...])
                + builder.parameters
        }
        builder.headers = try headers.map { text throws(CallError) in
            guard let colon = text.firstIndex(where: { $0 == ":" || $0 == "=" }), colon != text.startIndex else {
                throw CallError.usage("--header '\(text)' must look like 'Name: value'")
            }
            return (name: String(text[..<colon]), value: text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        if let body { builder.body = try CallBody.read(body) }
        builder.contentType = contentType
        return builder
    }

    /// Fetches and reads the server's /openapi.json.
    static func document(from client: HTTPClient) throws(CallError) -> OpenAPIOperations {
        let head: HTTPResponseHead
        let body: [UInt8]
        do {
            (head, body) = try client.fetch(
                HTTPRequest(method: "GET", target: "/openapi.json", headers: [("Accept", "application/json")]))
        } catch {
            throw CallError.unreachable("\(error) (is `jamey serve` running with the api plugin? set --server or JAMEY_SERVER)")
        }
        guard (200..<300).contains(head.status) else {
            throw CallError(
                description:
                    "GET \(client.server.text)/openapi.json answered \(head.status) \(head.reason): is it a Jamey api plugin?",
                exitCode: CallExitCode.forStatus(head.status))
        }
        return try OpenAPIOperations(document: body)
    }

    private static func printList(_ operations: OpenAPIOperations) {
        let rows =
            [["OPERATION", "METHOD", "PATH", "SUMMARY"]] + operations.operations.map { [$0.id, $0.method, $0.path, $0.summary] }
        StandardOutput.line(Table.render(rows))
    }
}
