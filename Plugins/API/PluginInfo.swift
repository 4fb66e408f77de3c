import APICore
import Foundation

/// One plugin as the kernel's `plugins_json` describes it.
struct PluginInfo: Decodable, Sendable {
    /// A declared HTTP route (ABI 1.1).
    typealias Route = DeclaredRoute

    /// A required or provided capability.
    struct Dependency: Decodable, Sendable {
        var name: String
        var version: String
    }

    /// Health from the plugin's hook.
    struct Health: Decodable, Sendable {
        var status: String
        var detail: String
    }

    var name: String
    var state: String
    var version: String?
    var abi: String?
    var required: Bool
    var error: String?
    var health: Health?
    var requires: [Dependency]
    var provides: [Dependency]
    var routes: [Route]

    enum CodingKeys: String, CodingKey {
        case name, state, version, abi, required, error, health, requires, provides, routes
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        state = try c.decode(String.self, forKey: .state)
        version = try c.decodeIfPresent(String.self, forKey: .version)
        abi = try c.decodeIfPresent(String.self, forKey: .abi)
        required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? false
        error = try c.decodeIfPresent(String.self, forKey: .error)
        health = try c.decodeIfPresent(Health.self, forKey: .health)
        requires = try c.decodeIfPresent([Dependency].self, forKey: .requires) ?? []
        provides = try c.decodeIfPresent([Dependency].self, forKey: .provides) ?? []
        routes = try c.decodeIfPresent([Route].self, forKey: .routes) ?? []
    }

    /// Decodes the text `plugins_json` produced.
    /// - Throws: when it is not the expected JSON.
    static func list(from text: String) throws -> [PluginInfo] {
        try JSONDecoder().decode([PluginInfo].self, from: Data(text.utf8))
    }

    /// The plugin as `GET /v1/plugins` shows it, with its figures from the kernel's metrics.
    func json(metrics: [(String, Double)]) -> JSON {
        .object([
            ("name", .string(name)),
            ("state", .string(state)),
            ("version", version.map(JSON.string) ?? .null),
            ("abi", abi.map(JSON.string) ?? .null),
            ("required", .bool(required)),
            ("health", health.map { .object([("status", .string($0.status)), ("detail", .string($0.detail))]) } ?? .null),
            ("error", error.map(JSON.string) ?? .null),
            ("requires", .array(requires.map { .object([("name", .string($0.name)), ("version", .string($0.version))]) })),
            ("provides", .array(provides.map { .object([("name", .string($0.name)), ("version", .string($0.version))]) })),
            (
                "routes",
                .array(
                    routes.map {
                        .object([
                            ("method", .string($0.method)), ("path", .string($0.path)), ("topic", .string($0.topic)),
                            ("scope", .string($0.scope)), ("summary", .string($0.summary)),
                        ])
                    })
            ),
            ("metrics", .object(metrics.map { ($0.0, .double($0.1)) })),
        ])
    }
}
