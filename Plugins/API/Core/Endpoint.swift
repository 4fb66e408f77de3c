/// One route the gateway serves: method, path template, the scope a caller needs, and what
/// answers it (a core handler or a plugin's bus topic).
package struct Endpoint: Sendable {
    /// What answers a route.
    package enum Action: Sendable, Hashable {
        case healthz, readyz, metrics, openAPI
        case listPlugins, showPlugin
        case publish, request, subscribe
        case createKey, listKeys, deleteKey
        /// Re-read the config file and apply it (the kernel answers `kernel.config.reload`).
        case reloadConfig
        /// Replace a running plugin with a new build, blue-green (the kernel answers
        /// `kernel.plugins.deploy`).
        case deployPlugin
        /// A canary release's status or operation (`status`, `weight`, `promote`, `rollback`;
        /// the kernel answers `kernel.plugins.canary.<operation>`).
        case canary(String)
        /// A route declared by `plugin`, forwarded to `topic` as a bus request.
        case forward(plugin: String, topic: String)
    }

    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    package let method: String
    /// The path template (also the `route` label of the request metrics).
    package let path: PathTemplate
    /// The scope a caller needs.
    package let scope: Scope
    /// What answers it.
    package let action: Action
    /// One line for the OpenAPI document.
    package let summary: String
    /// What a plugin declared about its route for the OpenAPI document (ABI 1.3), or nil.
    package var documentation: DeclaredRoute? = nil

    /// Answered within `limits.operation_timeout_ms`, not `limits.request_timeout_ms`: the
    /// kernel's operations (reload, deploy, canary) and plugin routes flagged long-running.
    package var isLongRunning: Bool {
        switch action {
        case .reloadConfig, .deployPlugin, .canary: true
        default: documentation?.longRunning == true
        }
    }

    /// Whether this is a route declared by a plugin.
    package var isForwarded: Bool {
        if case .forward = action { return true }
        return false
    }
}

extension Endpoint {
    /// The gateway's own routes. `metricsPublic` makes `/metrics` need no key.
    package static func core(metricsPublic: Bool) -> [Endpoint] {
        func e(_ m: String, _ p: String, _ s: Scope, _ a: Action, _ summary: String) -> Endpoint {
            Endpoint(method: m, path: PathTemplate(p)!, scope: s, action: a, summary: summary)
        }
        return [
            e("GET", "/healthz", .public, .healthz, "Liveness: the gateway answers"),
            e("GET", "/readyz", .public, .readyz, "Readiness: every required and enabled plugin is started"),
            e("GET", "/metrics", metricsPublic ? .public : .read, .metrics, "Prometheus exposition of the kernel and plugins"),
            e("GET", "/openapi.json", .public, .openAPI, "This API as an OpenAPI 3.1 document"),
            e("GET", "/v1/plugins", .read, .listPlugins, "Every configured plugin with state, health and figures"),
            e("GET", "/v1/plugins/{name}", .read, .showPlugin, "One plugin"),
            e(
                "POST", "/v1/plugins/{name}/deploy", .admin, .deployPlugin,
                "Replace a running plugin with a new build, blue-green: the old one serves until the new one has started"),
            e(
                "GET", "/v1/plugins/{name}/canary", .read, .canary("status"),
                "A canary release: both versions' requests, errors and latency side by side"),
            e(
                "POST", "/v1/plugins/{name}/canary/weight", .admin, .canary("weight"),
                "Set the canary's share of the plugin's traffic (1-99 %)"),
            e(
                "POST", "/v1/plugins/{name}/canary/promote", .admin, .canary("promote"),
                "Make the canary the plugin's only version (the old one drains and stops)"),
            e(
                "POST", "/v1/plugins/{name}/canary/rollback", .admin, .canary("rollback"),
                "End the canary: the stable version serves everything"),
            e("POST", "/v1/bus/publish/{topic}", .write, .publish, "Publish the body as an event on a topic"),
            e("POST", "/v1/bus/request/{topic}", .write, .request, "Send the body as a bus request and return the reply"),
            e("GET", "/v1/bus/subscribe", .read, .subscribe, "Stream the events matching a topic pattern (Server-Sent Events)"),
            e("POST", "/v1/keys", .admin, .createKey, "Create an API key (its text is shown only in this response)"),
            e("GET", "/v1/keys", .admin, .listKeys, "List API keys (no secrets)"),
            e("DELETE", "/v1/keys/{id}", .admin, .deleteKey, "Revoke an API key"),
            e(
                "POST", "/v1/config/reload", .admin, .reloadConfig,
                "Re-read the config file and apply it; an invalid file changes nothing (as SIGHUP does)"),
        ]
    }
}
