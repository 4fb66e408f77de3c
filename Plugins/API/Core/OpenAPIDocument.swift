import Foundation

/// The OpenAPI 3.1 document of what is being served: the core routes and the routes of the
/// plugins loaded now, built at request time from the route table.
package enum OpenAPIDocument {
    /// Builds the document.
    /// - Parameters:
    ///   - routes: the current route table.
    ///   - version: the api plugin's version.
    package static func build(routes: RouteTable, version: String) -> JSON {
        var paths: [(String, [(String, JSON)])] = []
        for endpoint in routes.endpoints {
            let path = endpoint.path.text
            let siblings = routes.endpoints.filter { $0.path.text == path }
            let operation = (endpoint.method.lowercased(), self.operation(endpoint, siblings: siblings))
            if let i = paths.firstIndex(where: { $0.0 == path }) {
                paths[i].1.append(operation)
            } else {
                paths.append((path, [operation]))
            }
        }
        return .object([
            ("openapi", .string("3.1.0")),
            (
                "info",
                .object([
                    ("title", .string("Jamey HTTP API")),
                    ("version", .string(version)),
                    (
                        "description",
                        .string(
                            "The gateway of a Jamey node: health, metrics, plugins, the message bus, API keys, and the routes plugins declare. Errors are application/problem+json (RFC 9457)."
                        )
                    ),
                ])
            ),
            ("paths", .object(paths.map { ($0.0, .object($0.1)) })),
            ("components", components),
            ("security", .array([.object([("bearerAuth", .array([]))]), .object([("apiKeyAuth", .array([]))])])),
        ])
    }

    /// - Parameter siblings: the routes on the same path (`e` among them), whose body members may
    ///   document its path parameters (`bodyProperty`).
    private static func operation(_ e: Endpoint, siblings: [Endpoint]) -> JSON {
        var members: [(String, JSON)] = [
            ("operationId", .string(operationID(e))),
            ("summary", .string(e.summary)),
            ("tags", .array([.string(tag(e))])),
        ]
        // Waited for up to limits.operation_timeout_ms: `jamey call` waits as long.
        if e.isLongRunning { members.append(("x-jamey-long-running", .bool(true))) }
        let details = e.documentation?.details.map { [$0] } ?? []
        if e.scope == .public {
            members.append(("security", .array([])))
            if !details.isEmpty { members.append(("description", .string(details[0]))) }
        } else {
            let needs = "Requires an API key with scope '\(e.scope)' or stronger."
            members.append(("description", .string((details + [needs]).joined(separator: "\n\n"))))
        }
        var parameters: [JSON] = e.path.parameterNames.map { name in
            if name == "topic" { return pathParameter(name, schema: topicSchema) }
            if let schema = ([e] + siblings).lazy.compactMap({ bodyProperty(name, of: $0) }).first {
                return pathParameter(name, schema: .raw(schema))
            }
            return pathParameter(name, schema: .object([("type", .string("string")), ("minLength", .int(1))]))
        }
        switch e.action {
        case .subscribe:
            parameters.append(
                queryParameter(
                    "topic", required: true, description: "Topic pattern: * matches one segment, a final > the rest",
                    schema: patternSchema))
        case .request:
            parameters.append(
                queryParameter(
                    "timeout_ms", required: false, description: "Reply timeout in milliseconds",
                    schema: .object([("type", .string("integer")), ("minimum", .int(100)), ("maximum", .int(600_000))])))
        case .listKeys:
            parameters.append(
                queryParameter(
                    "state", required: false,
                    description: "Which keys: neither revoked nor expired, revoked, expired, or all (the default)",
                    schema: .object([("type", .string("string")), ("enum", .array(KeyPaging.states.map { .string($0) }))])))
            parameters.append(
                queryParameter(
                    "limit", required: false, description: "The most keys in the page (\(KeyPaging.defaultLimit) when absent)",
                    schema: .object([
                        ("type", .string("integer")), ("minimum", .int(1)), ("maximum", .int(Int64(KeyPaging.maxLimit))),
                    ])))
            parameters.append(
                queryParameter(
                    "after", required: false, description: "The previous page's next: the page starts after this key",
                    schema: .object([("type", .string("string")), ("minLength", .int(1))])))
        default: break
        }
        if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
        if let body = requestBody(e) { members.append(("requestBody", body)) }
        members.append(("responses", responses(e)))
        return .object(members)
    }

    /// The operationId: the one the plugin declared (ABI 1.3), else derived from plugin, method
    /// and path for plugin routes, or the action's name for the gateway's own.
    package static func operationID(_ e: Endpoint) -> String {
        if let declared = e.documentation?.operationID { return declared }
        if case .forward(let plugin, _) = e.action {
            let words = e.path.segments.map { segment -> String in
                switch segment {
                case .literal(let l): l
                case .parameter(let p): "by_" + p
                }
            }
            let raw = ([plugin, e.method.lowercased()] + words).joined(separator: "_")
            return String(raw.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        }
        if case .canary(let operation) = e.action { return "canary" + operation.prefix(1).uppercased() + operation.dropFirst() }
        return "\(e.action)".replacingOccurrences(of: "()", with: "")
    }

    private static func tag(_ e: Endpoint) -> String {
        switch e.action {
        case .healthz, .readyz, .metrics, .openAPI, .reloadConfig: "operations"
        case .listPlugins, .showPlugin, .deployPlugin, .canary: "plugins"
        case .publish, .request, .subscribe: "bus"
        case .createKey, .listKeys, .deleteKey: "keys"
        case .forward(let plugin, _): "plugin:" + plugin
        }
    }

    private static func pathParameter(_ name: String, schema: JSON) -> JSON {
        .object([("name", .string(name)), ("in", .string("path")), ("required", .bool(true)), ("schema", schema)])
    }

    private static func queryParameter(_ name: String, required: Bool, description: String, schema: JSON) -> JSON {
        .object([
            ("name", .string(name)), ("in", .string("query")), ("required", .bool(required)),
            ("description", .string(description)), ("schema", schema),
        ])
    }

    package static let topicSchema = JSON.object([
        ("type", .string("string")), ("pattern", .string(#"^[!-)+--/-=?-~]+(\.[!-)+--/-=?-~]+)*$"#)), ("maxLength", .int(255)),
    ])
    package static let patternSchema = JSON.object([
        ("type", .string("string")),
        ("pattern", .string(#"^([!-)+--/-=?-~]+|\*)(\.([!-)+--/-=?-~]+|\*))*(\.>)?$|^>$"#)), ("maxLength", .int(255)),
    ])

    /// Whether a plugin route's request body must be sent: unless its schema is an object schema
    /// with no required member. Plugins read an empty body as `{}`, so where `{}` is valid (a
    /// patch, a decay as of now, a warm of every namespace) the body may be left out.
    package static func bodyRequired(_ schema: String) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(schema.utf8)) as? [String: Any],
            object["type"] as? String == "object"
        else { return true }
        if (object["required"] as? [Any])?.isEmpty == false { return true }
        // `anyOf` whose every branch requires a member (`{"text"} or {"action"}`) refuses `{}` too.
        guard let branches = object["anyOf"] as? [[String: Any]], !branches.isEmpty else { return false }
        return branches.allSatisfy { ($0["required"] as? [Any])?.isEmpty == false }
    }

    /// The schema of the request body's member named like a path parameter, as JSON text: the
    /// plugins that take a member and a path parameter of one name (`PUT /v1/soul/entities/{name}`
    /// with a body `name`) require the two to agree and check both alike, so the parameter is
    /// documented with the member's schema, on that route and on the other methods of its path
    /// (`GET` and `DELETE /v1/soul/entities/{name}` name the same entity). Nil when the route
    /// declares no such member.
    package static func bodyProperty(_ name: String, of e: Endpoint) -> String? {
        guard case .forward = e.action, let text = e.documentation?.requestSchema,
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let property = (object["properties"] as? [String: Any])?[name] as? [String: Any],
            let data = try? JSONSerialization.data(withJSONObject: property, options: [.sortedKeys])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    private static func requestBody(_ e: Endpoint) -> JSON? {
        switch e.action {
        case .publish, .request:
            return .object([
                ("required", .bool(false)),
                (
                    "content",
                    .object([
                        (
                            "application/octet-stream",
                            .object([("schema", .object([("type", .string("string")), ("format", .string("binary"))]))])
                        ),
                        ("text/plain", .object([("schema", .object([("type", .string("string"))]))])),
                        ("application/json", .object([("schema", .object([]))])),
                    ])
                ),
            ])
        case .createKey:
            return .object([
                ("required", .bool(true)),
                ("content", .object([("application/json", .object([("schema", ref("KeyRequest"))]))])),
            ])
        case .deployPlugin:
            return .object([
                ("required", .bool(true)),
                ("content", .object([("application/json", .object([("schema", ref("DeployRequest"))]))])),
            ])
        case .canary("weight"):
            return .object([
                ("required", .bool(true)),
                ("content", .object([("application/json", .object([("schema", ref("CanaryWeight"))]))])),
            ])
        case .forward where e.documentation?.requestSchema != nil:
            return .object([
                ("required", .bool(bodyRequired(e.documentation?.requestSchema ?? "{}"))),
                ("content", .object([("application/json", .object([("schema", .raw(e.documentation?.requestSchema ?? "{}"))]))])),
            ])
        case .forward where ["POST", "PUT", "PATCH"].contains(e.method):
            return .object([
                ("required", .bool(false)),
                ("content", .object([("*/*", .object([("schema", .object([]))]))])),
            ])
        default:
            return nil
        }
    }

    private static func responses(_ e: Endpoint) -> JSON {
        func ok(_ status: String, _ description: String, _ type: String, _ schema: JSON) -> (String, JSON) {
            (
                status,
                .object([("description", .string(description)), ("content", .object([(type, .object([("schema", schema)]))]))])
            )
        }
        let problem: (String, JSON) = ("default", .object([("$ref", .string("#/components/responses/Problem"))]))
        switch e.action {
        case .healthz:
            return .object([ok("200", "The gateway is alive", "application/json", ref("Health")), problem])
        case .readyz:
            return .object([ok("200", "Every required plugin is started", "application/json", ref("Ready")), problem])
        case .metrics:
            return .object([
                ok("200", "Prometheus text format 0.0.4", "text/plain", .object([("type", .string("string"))])), problem,
            ])
        case .openAPI:
            return .object([ok("200", "This document", "application/json", .object([("type", .string("object"))])), problem])
        case .listPlugins:
            return .object([ok("200", "Every configured plugin", "application/json", ref("PluginList")), problem])
        case .deployPlugin:
            return .object([
                ok("200", "The new build serves; every step taken", "application/json", ref("DeployReport")),
                ("404", problemResponse("No plugin has this name")),
                ("409", problemResponse("The plugin is not started")),
                ("422", problemResponse("The new build does not fit (path, library, config or dependencies); nothing changed")),
                (
                    "500",
                    problemResponse("The new build did not start (the old one goes on serving), or dependents did not restart")
                ),
                problem,
            ])
        case .canary(let operation):
            return .object([
                operation == "status"
                    ? ok("200", "The canary and both versions' figures", "application/json", ref("CanaryStatus"))
                    : ok("200", "Done; every step taken", "application/json", ref("CanaryReport")),
                ("404", problemResponse("No plugin has this name, or it has no canary running")),
                ("422", problemResponse("The request is invalid")),
                problem,
            ])
        case .reloadConfig:
            return .object([
                ok("200", "Applied: what changed, what waits for a restart", "application/json", ref("ReloadReport")),
                (
                    "409",
                    problemResponse(
                        "The reload would disturb work in progress (the kernel still starting, a canary, a backup's snapshot); nothing changed: try again"
                    )
                ),
                ("422", problemResponse("The new config is invalid (every problem listed); nothing changed")),
                ("500", problemResponse("Applying failed; everything was rolled back to the previous config")),
                problem,
            ])
        case .showPlugin:
            return .object([ok("200", "The plugin", "application/json", ref("Plugin")), problem])
        case .publish:
            return .object([ok("202", "Published", "application/json", ref("Published")), problem])
        case .subscribe:
            return .object([ok("200", "An event stream", "text/event-stream", .object([("type", .string("string"))])), problem])
        case .createKey:
            return .object([ok("201", "The new key, with its text", "application/json", ref("CreatedKey")), problem])
        case .listKeys:
            return .object([
                ok("200", "One page of keys, newest first, without secrets", "application/json", ref("KeyList")),
                ("400", problemResponse("A query parameter is invalid, or after names no key")), problem,
            ])
        case .deleteKey:
            return .object([
                ("204", .object([("description", .string("Revoked"))])),
                ("404", problemResponse("No key has this id")),
                (
                    "409",
                    problemResponse(
                        "The key is the last active admin key and no bootstrap admin key is configured; create another admin key first"
                    )
                ),
                problem,
            ])
        case .forward where e.documentation?.responseSchema != nil:
            return .object([
                ok("200", "The plugin's answer", "application/json", .raw(e.documentation?.responseSchema ?? "{}")),
                (
                    "default",
                    .object([
                        ("description", .string("Another status the plugin chose, or a problem")),
                        ("content", .object([("*/*", .object([("schema", .object([]))]))])),
                    ])
                ),
            ])
        case .forward where e.method == "DELETE":
            return .object([
                ("204", .object([("description", .string("Deleted; no body"))])),
                (
                    "default",
                    .object([
                        ("description", .string("Another status the plugin chose, or a problem")),
                        ("content", .object([("*/*", .object([("schema", .object([]))]))])),
                    ])
                ),
            ])
        case .request, .forward:
            return .object([
                (
                    "default",
                    .object([
                        ("description", .string("The responder's reply (status, headers, body), or a problem")),
                        ("content", .object([("*/*", .object([("schema", .object([]))]))])),
                    ])
                )
            ])
        }
    }

    /// A problem+json response with its own description.
    private static func problemResponse(_ description: String) -> JSON {
        .object([
            ("description", .string(description)),
            ("content", .object([("application/problem+json", .object([("schema", ref("Problem"))]))])),
        ])
    }

    private static func ref(_ name: String) -> JSON { .object([("$ref", .string("#/components/schemas/" + name))]) }

    private static func object(_ properties: [(String, JSON)], required: [String]) -> JSON {
        .object([
            ("type", .string("object")),
            ("properties", .object(properties)),
            ("required", .array(required.map(JSON.string))),
        ])
    }

    private static let string = JSON.object([("type", .string("string"))])
    private static let nullableString = JSON.object([("type", .array([.string("string"), .string("null")]))])
    private static let dateTime = JSON.object([("type", .string("string")), ("format", .string("date-time"))])
    private static let nullableDateTime = JSON.object([
        ("type", .array([.string("string"), .string("null")])), ("format", .string("date-time")),
    ])

    private static var components: JSON {
        let dependency = object([("name", string), ("version", string)], required: ["name", "version"])
        let route = object(
            [
                ("method", string), ("path", string), ("topic", string), ("scope", string), ("summary", string),
                ("operation_id", nullableString), ("long_running", .object([("type", .string("boolean"))])),
            ],
            required: ["method", "path", "topic", "scope"])
        let count = JSON.object([("type", .string("integer")), ("minimum", .int(0))])
        let seconds = JSON.object([("type", .string("number")), ("minimum", .int(0))])
        let figures = object(
            [
                ("messages_in", count), ("messages_out", count), ("handler_errors", count), ("messages_dropped", count),
                ("request_timeouts", count), ("handler_seconds", seconds), ("hook_seconds", seconds),
            ],
            required: [
                "messages_in", "messages_out", "handler_errors", "messages_dropped", "request_timeouts", "handler_seconds",
                "hook_seconds",
            ])
        let health = JSON.object([
            ("type", .array([.string("object"), .string("null")])),
            ("properties", .object([("status", string), ("detail", string)])),
        ])
        let key: [(String, JSON)] = [
            ("id", string), ("name", string),
            ("scope", .object([("enum", .array(["read", "write", "admin"].map(JSON.string)))])),
            ("created_at", dateTime), ("expires_at", nullableDateTime), ("revoked_at", nullableDateTime),
        ]
        let keyRequired = ["id", "name", "scope", "created_at", "expires_at", "revoked_at"]
        let schemas: [(String, JSON)] = [
            (
                "Problem",
                object(
                    [
                        ("type", string), ("title", string), ("status", .object([("type", .string("integer"))])),
                        ("detail", string),
                    ],
                    required: ["type", "title", "status", "detail"])
            ),
            ("Health", object([("status", .object([("const", .string("ok"))]))], required: ["status"])),
            (
                "Ready",
                object(
                    [
                        ("status", .object([("const", .string("ready"))])),
                        ("failed_optional", .object([("type", .string("array")), ("items", string)])),
                    ],
                    required: ["status", "failed_optional"])
            ),
            (
                "Plugin",
                object(
                    [
                        ("name", string), ("state", string), ("version", nullableString), ("abi", nullableString),
                        ("required", .object([("type", .string("boolean"))])), ("health", health), ("error", nullableString),
                        ("requires", .object([("type", .string("array")), ("items", dependency)])),
                        ("provides", .object([("type", .string("array")), ("items", dependency)])),
                        ("routes", .object([("type", .string("array")), ("items", route)])),
                        ("figures", figures),
                    ],
                    required: [
                        "name", "state", "version", "abi", "required", "health", "error", "requires", "provides", "routes",
                        "figures",
                    ])
            ),
            (
                "PluginList",
                object([("plugins", .object([("type", .string("array")), ("items", ref("Plugin"))]))], required: ["plugins"])
            ),
            ("Published", object([("topic", string)], required: ["topic"])),
            (
                "DeployRequest",
                .object([
                    ("type", .string("object")),
                    (
                        "properties",
                        .object([
                            (
                                "path",
                                .object([
                                    ("type", .string("string")), ("pattern", .string("^/")), ("minLength", .int(2)),
                                    ("description", .string("The new build's shared library, an absolute path on the server")),
                                ])
                            ),
                            (
                                "weight",
                                .object([
                                    ("type", .string("integer")), ("minimum", .int(1)), ("maximum", .int(100)),
                                    (
                                        "description",
                                        .string("Below 100: start as a canary taking this percentage of the traffic")
                                    ),
                                ])
                            ),
                            ("rollback", ref("CanaryPolicy")),
                        ])
                    ),
                    ("required", .array([.string("path")])),
                ])
            ),
            (
                "DeployReport",
                object(
                    [
                        ("plugin", string), ("version", nullableString), ("path", string),
                        ("steps", .object([("type", .string("array")), ("items", string)])),
                        ("canary_weight", .object([("type", .string("integer"))])),
                    ],
                    required: ["plugin", "version", "path", "steps"])
            ),
            (
                "CanaryPolicy",
                object(
                    [
                        ("auto", .object([("type", .string("boolean"))])),
                        ("window_ms", .object([("type", .string("integer")), ("minimum", .int(100))])),
                        ("min_requests", .object([("type", .string("integer")), ("minimum", .int(1))])),
                        (
                            "max_error_rate_increase",
                            .object([("type", .string("number")), ("minimum", .int(0)), ("maximum", .int(1))])
                        ),
                        (
                            "max_p99_increase",
                            .object([("type", .string("number")), ("minimum", .int(0)), ("maximum", .int(1000))])
                        ),
                        (
                            "min_p99_difference_ms",
                            .object([("type", .string("number")), ("minimum", .int(0)), ("maximum", .int(86_400_000))])
                        ),
                    ], required: [])
            ),
            (
                "CanaryWeight",
                object(
                    [("weight", .object([("type", .string("integer")), ("minimum", .int(1)), ("maximum", .int(99))]))],
                    required: ["weight"])
            ),
            (
                "CanaryReport",
                object(
                    [("plugin", string), ("steps", .object([("type", .string("array")), ("items", string)]))],
                    required: ["plugin", "steps"])
            ),
            (
                "CanaryStatus",
                object(
                    [
                        ("plugin", string), ("stable", string), ("canary", string),
                        ("weight", .object([("type", .string("integer"))])),
                        ("window_ms", .object([("type", .string("integer"))])),
                        ("sides", .object([("type", .string("object"))])),
                        ("policy", ref("CanaryPolicy")),
                    ],
                    required: ["plugin", "stable", "canary", "weight", "sides"])
            ),
            (
                "ReloadReport",
                object(
                    [
                        ("changes", .object([("type", .string("array")), ("items", string)])),
                        ("pending", .object([("type", .string("array")), ("items", string)])),
                        ("still_failing", .object([("type", .string("array")), ("items", string)])),
                    ],
                    required: ["changes", "pending", "still_failing"])
            ),
            (
                "KeyRequest",
                .object([
                    ("type", .string("object")),
                    (
                        "properties",
                        .object([
                            (
                                "name",
                                .object([
                                    ("type", .string("string")), ("minLength", .int(1)), ("maxLength", .int(100)),
                                    ("pattern", .string(#"^[^\u0000-\u001F\u007F]+$"#)),
                                ])
                            ),
                            ("scope", .object([("enum", .array(["read", "write", "admin"].map(JSON.string)))])),
                            (
                                "expires_at",
                                .object([
                                    ("type", .string("string")), ("format", .string("date-time")),
                                    ("description", .string("When the key expires; must be in the future")),
                                ])
                            ),
                            (
                                "ttl_seconds",
                                .object([("type", .string("integer")), ("minimum", .int(1)), ("maximum", .int(315_360_000))])
                            ),
                        ])
                    ),
                    ("required", .array([.string("name"), .string("scope")])),
                    ("additionalProperties", .bool(false)),
                    // At most one of the two ways to give an expiry.
                    ("not", .object([("required", .array([.string("expires_at"), .string("ttl_seconds")]))])),
                    (
                        "description",
                        .string("An expiry is given by expires_at or ttl_seconds, not both; neither: the key never expires.")
                    ),
                ])
            ),
            ("Key", object(key, required: keyRequired)),
            ("CreatedKey", object(key + [("key", string)], required: keyRequired + ["key"])),
            (
                "KeyList",
                object(
                    [
                        ("keys", .object([("type", .string("array")), ("items", ref("Key"))])),
                        (
                            "next",
                            .object([
                                ("type", .string("string")),
                                ("description", .string("Present when more keys follow: pass it as after for the next page")),
                            ])
                        ),
                    ], required: ["keys"])
            ),
        ]
        return .object([
            ("schemas", .object(schemas)),
            (
                "responses",
                .object([
                    (
                        "Problem",
                        .object([
                            ("description", .string("An error, as RFC 9457 problem details")),
                            ("content", .object([("application/problem+json", .object([("schema", ref("Problem"))]))])),
                        ])
                    )
                ])
            ),
            (
                "securitySchemes",
                .object([
                    ("bearerAuth", .object([("type", .string("http")), ("scheme", .string("bearer"))])),
                    (
                        "apiKeyAuth",
                        .object([("type", .string("apiKey")), ("in", .string("header")), ("name", .string("X-API-Key"))])
                    ),
                ])
            ),
        ])
    }
}
