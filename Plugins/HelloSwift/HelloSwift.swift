import CHelloGreeter
import Foundation
import JameyPluginKit
import Logging
import Metrics

/// HelloSwift — the example plugin written with JameyPluginKit.
///
/// It requires the `hello.greeter` service (provided by the HelloC plugin, so the kernel starts
/// HelloC first), calls it directly, asks HelloC for a greeting over the bus, answers sums on
/// `hello.swift.sum`, and announces itself on `hello.swift.ready`.
public final class HelloSwift: JameyPlugin {
    /// The plugin's config section.
    public struct Configuration: Decodable, Sendable {
        /// Who HelloC should greet at start.
        public var name: String
        /// Announce on `hello.swift.ready` at start.
        public var announce: Bool
    }

    public static let manifest = PluginManifest(
        name: "hello_swift",
        version: "1.0.0",
        description: "Example plugin in Swift: calls hello.greeter and answers sums on hello.swift.sum",
        requires: [.init("hello.greeter", "^1.0")],
        configuration: [
            .string("name", default: "Jamey", length: 1...64, description: "Who HelloC should greet at start"),
            .bool("announce", default: true, description: "Publish hello.swift.ready at start"),
        ],
        routes: [
            .init(
                "GET", "/v1/hello/{name}", topic: "hello.swift.greet", scope: "read", summary: "Greet someone through HelloC",
                operationID: "helloGreet",
                details: "Asks HelloC for a greeting over the bus and answers it as plain text, e.g. `Hello, Ada!`.")
        ],
        metricHelp: help
    )

    private let context: PluginContext
    private let configuration: Configuration
    private let greeter: ServiceHandle<hello_greeter_v1>

    public init(context: PluginContext, configuration: Configuration) async throws {
        self.context = context
        self.configuration = configuration
        self.greeter = try context.services.lookup("hello.greeter", versions: "^1.0", as: hello_greeter_v1.self)
    }

    public func start() async throws {
        let greeter = self.greeter
        // swift-metrics, forwarded by the kit to the kernel's Prometheus registry.
        let sums = Counter(label: "hello_swift_sums_total", dimensions: [("kind", "inline")], factory: context.metrics)
        let sumTime = Metrics.Timer(label: "hello_swift_sum_duration_seconds", factory: context.metrics)
        try context.bus.respondInline("hello.swift.sum") { request in
            let numbers = request.text.split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            guard numbers.count == 2 else { throw JameyError("expected two integers separated by a comma") }
            let started = DispatchTime.now()
            defer { sumTime.recordInterval(since: started) }
            sums.increment()
            return .text(String(greeter.table.add!(greeter.table.context, numbers[0], numbers[1])))
        }
        let bus = context.bus
        // The HTTP route GET /v1/hello/{name}, forwarded here by the api plugin.
        try bus.respond("hello.swift.greet") { request in
            let name = request.headers["http.param.name"] ?? ""
            guard !name.isEmpty, name.count <= 64 else {
                return .json(#"{"error":"name must be 1 to 64 characters"}"#, headers: ["status": "400"])
            }
            let greeting = try await bus.request("hello.c.greet", .text(name), timeout: .seconds(2)).text
            return .json(#"{"greeting":"\#(Self.jsonEscaped(greeting))"}"#)
        }
        let reply = try await context.bus.request("hello.c.greet", .text(configuration.name), timeout: .seconds(2))
        context.logger.info("HelloC says: \(reply.text)")
        if configuration.announce {
            try context.bus.publish("hello.swift.ready", .text(reply.text))
        }
    }

    /// `text` escaped for a JSON string literal (quotes, backslashes and control characters).
    static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    public func health() -> PluginHealthReport {
        .ok("hello.greeter has produced \(greeter.table.count!(greeter.table.context)) greetings")
    }
}

@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? { export(HelloSwift.self, r) }

extension HelloSwift {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "hello_swift_sums_total": "Sums computed",
        "hello_swift_sum_duration_seconds": "Time to compute a sum",
    ]
}
