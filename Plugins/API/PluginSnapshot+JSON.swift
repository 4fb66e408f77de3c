import APICore
import JameyPluginKit

extension PluginSnapshot {
    /// The plugin as `GET /v1/plugins` shows it: state, version, ABI, dependencies, routes,
    /// cached health, failure and the kernel's figures, straight from the typed list.
    var json: JSON {
        func dependencies(_ list: [Dependency]) -> JSON {
            .array(list.map { .object([("name", .string($0.name)), ("version", .string($0.version))]) })
        }
        return .object([
            ("name", .string(name)),
            ("state", .string(state.name)),
            ("version", version.map(JSON.string) ?? .null),
            ("abi", abi.map(JSON.string) ?? .null),
            ("required", .bool(required)),
            ("health", health.map { .object([("status", .string($0.statusName)), ("detail", .string($0.detail))]) } ?? .null),
            ("error", failure.map(JSON.string) ?? .null),
            ("requires", dependencies(requires)),
            ("provides", dependencies(provides)),
            (
                "routes",
                .array(
                    routes.map {
                        .object([
                            ("method", .string($0.method)), ("path", .string($0.path)), ("topic", .string($0.topic)),
                            ("scope", .string($0.scope)), ("summary", .string($0.summary)),
                            ("operation_id", $0.operationID.map(JSON.string) ?? .null),
                            ("long_running", .bool($0.longRunning)),
                        ])
                    })
            ),
            (
                "figures",
                .object([
                    ("messages_in", .int(Int64(clamping: figures.messagesIn))),
                    ("messages_out", .int(Int64(clamping: figures.messagesOut))),
                    ("handler_errors", .int(Int64(clamping: figures.handlerErrors))),
                    ("messages_dropped", .int(Int64(clamping: figures.messagesDropped))),
                    ("request_timeouts", .int(Int64(clamping: figures.requestTimeouts))),
                    ("handler_seconds", .double(figures.handlerSeconds)),
                    ("hook_seconds", .double(figures.hookSeconds)),
                ])
            ),
        ])
    }
}

extension DeclaredRoute {
    /// A route from the kernel's typed plugin list.
    init(_ route: PluginManifest.Route) {
        self.init(
            method: route.method, path: route.path, topic: route.topic, scope: route.scope, summary: route.summary,
            operationID: route.operationID, requestSchema: route.requestSchema, responseSchema: route.responseSchema,
            details: route.details, longRunning: route.longRunning)
    }
}
