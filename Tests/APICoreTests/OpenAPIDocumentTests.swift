import APICore
import Testing

/// The OpenAPI document lists every route the table serves, core and plugin-declared.
@Suite struct OpenAPIDocumentTests {
    static let table = RouteTable(
        core: Endpoint.core(metricsPublic: false),
        plugins: [
            ("hello", DeclaredRoute(method: "get", path: "/v1/hello/{name}", topic: "hello.greet", scope: "read")),
            ("hello", DeclaredRoute(method: "POST", path: "/v1/hello", topic: "hello.add", scope: "write", summary: "Add")),
            ("bad", DeclaredRoute(method: "GET", path: "/v1/keys", topic: "bad.keys", scope: "read")),
        ])

    @Test func everyRoute_isAnOperation() throws {
        let document = OpenAPIDocument.build(routes: Self.table, version: "1.2.3")
        #expect(document["openapi"]?.string == "3.1.0")
        #expect(document["info"]?["version"]?.string == "1.2.3")
        let paths = try #require(document["paths"])
        for endpoint in Self.table.endpoints {
            let operation = paths[endpoint.path.text]?[endpoint.method.lowercased()]
            #expect(operation != nil, "\(endpoint.method) \(endpoint.path) is missing")
            #expect(operation?["responses"] != nil)
        }
        #expect(Self.table.endpoints.count == Endpoint.core(metricsPublic: false).count + 2)
    }

    /// What the gateway waits for up to limits.operation_timeout_ms says so, for `jamey call`:
    /// the kernel's operations and plugin routes flagged long-running.
    @Test func longRunningOperations_areMarked() throws {
        let table = RouteTable(
            core: Endpoint.core(metricsPublic: false),
            plugins: [
                (
                    "vault",
                    DeclaredRoute(
                        method: "POST", path: "/v1/vault/restore", topic: "vault.restore", scope: "admin", longRunning: true)
                ),
                ("vault", DeclaredRoute(method: "GET", path: "/v1/vault/stats", topic: "vault.stats", scope: "admin")),
            ])
        let paths = try #require(OpenAPIDocument.build(routes: table, version: "1")["paths"])
        #expect(paths["/v1/vault/restore"]?["post"]?["x-jamey-long-running"] == .bool(true))
        #expect(paths["/v1/vault/stats"]?["get"]?["x-jamey-long-running"] == nil)
        #expect(paths["/v1/config/reload"]?["post"]?["x-jamey-long-running"] == .bool(true))
        #expect(paths["/v1/plugins"]?["get"]?["x-jamey-long-running"] == nil)
    }

    @Test func pluginRoutes_haveTheirParametersSummaryAndTag() throws {
        let document = OpenAPIDocument.build(routes: Self.table, version: "1")
        let get = try #require(document["paths"]?["/v1/hello/{name}"]?["get"])
        #expect(get["tags"] == .array([.string("plugin:hello")]))
        #expect(get["summary"]?.string == "Served by plugin hello")
        #expect(get["parameters"]?.text.contains(#""name":"name","in":"path""#) == true)
        #expect(document["paths"]?["/v1/hello"]?["post"]?["summary"]?.string == "Add")
    }

    /// A plugin route's body is required unless its schema takes `{}` (plugins read an empty
    /// body as `{}`), and a DELETE route documents its 204 without a body: schemathesis, run
    /// over the default plugins' routes, flagged an empty PATCH answered 200 as "invalid data
    /// accepted" and a 204 as missing the JSON the document promised.
    @Test func pluginBodiesAreOptionalWhereEmptyIsValid_andDeletesDocumentTheir204() throws {
        #expect(OpenAPIDocument.bodyRequired(#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}"#))
        #expect(!OpenAPIDocument.bodyRequired(#"{"type":"object","properties":{"a":{"type":"string"}}}"#))
        #expect(!OpenAPIDocument.bodyRequired(#"{"type":"object","required":[]}"#))
        #expect(
            !OpenAPIDocument.bodyRequired(
                #"{"type":"object","properties":{"l":{"type":"array","items":{"type":"object","required":["k"]}}}}"#),
            "a nested required member does not make the body required")
        #expect(OpenAPIDocument.bodyRequired(#"{"type":"array"}"#))
        #expect(OpenAPIDocument.bodyRequired("not json"))
        let table = RouteTable(
            core: [],
            plugins: [
                (
                    "notes",
                    DeclaredRoute(
                        method: "PATCH", path: "/v1/notes/{id}", topic: "notes.patch", scope: "write",
                        requestSchema: #"{"type":"object","properties":{"text":{"type":"string"}}}"#)
                ),
                (
                    "notes",
                    DeclaredRoute(
                        method: "POST", path: "/v1/notes", topic: "notes.add", scope: "write",
                        requestSchema: #"{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"#)
                ),
                ("notes", DeclaredRoute(method: "DELETE", path: "/v1/notes/{id}", topic: "notes.delete", scope: "write")),
            ])
        let paths = try #require(OpenAPIDocument.build(routes: table, version: "1")["paths"])
        #expect(paths["/v1/notes/{id}"]?["patch"]?["requestBody"]?["required"] == .bool(false))
        #expect(paths["/v1/notes"]?["post"]?["requestBody"]?["required"] == .bool(true))
        let deleted = try #require(paths["/v1/notes/{id}"]?["delete"]?["responses"]?["204"])
        #expect(deleted["content"] == nil)
    }

    /// A path parameter named like a member of the route's body takes the member's schema (the
    /// plugins require the two to agree), and a body whose every `anyOf` branch requires a member
    /// is required: schemathesis found the soul's `PUT /v1/soul/entities/{name}` refusing names
    /// its document allowed.
    @Test func pathParametersTakeTheSchemaOfTheBodyMemberOfTheirName() throws {
        let name = #"{"maxLength":128,"minLength":1,"pattern":"^[^\\u0000]*$","type":"string"}"#
        let table = RouteTable(
            core: [],
            plugins: [
                (
                    "people",
                    DeclaredRoute(
                        method: "PUT", path: "/v1/people/{name}/{id}", topic: "people.put", scope: "write",
                        requestSchema: #"{"type":"object","properties":{"name":\#(name)}}"#)
                ),
                ("people", DeclaredRoute(method: "GET", path: "/v1/people/{name}/{id}", topic: "people.get", scope: "read")),
                (
                    "people",
                    DeclaredRoute(
                        method: "POST", path: "/v1/people/judge", topic: "people.judge", scope: "write",
                        requestSchema:
                            #"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"anyOf":[{"required":["a"]},{"required":["b"]}]}"#
                    )
                ),
            ])
        let paths = try #require(OpenAPIDocument.build(routes: table, version: "1")["paths"])
        let parameters = try #require(paths["/v1/people/{name}/{id}"]?["put"]?["parameters"]?.text)
        #expect(parameters.contains(#""pattern":"^[^\\u0000]*$""#), "\(parameters)")
        #expect(parameters.contains(#""maxLength":128"#))
        let sibling = try #require(paths["/v1/people/{name}/{id}"]?["get"]?["parameters"]?.text)
        #expect(sibling.contains(#""pattern":"^[^\\u0000]*$""#), "the GET of the same path: \(sibling)")
        let put = try #require(table.endpoints.first { $0.method == "PUT" })
        #expect(OpenAPIDocument.bodyProperty("id", of: put) == nil)
        #expect(OpenAPIDocument.bodyProperty("name", of: put) != nil)
        #expect(paths["/v1/people/judge"]?["post"]?["requestBody"]?["required"] == .bool(true))
        #expect(
            !OpenAPIDocument.bodyRequired(
                #"{"type":"object","anyOf":[{"required":["a"]},{"properties":{"k":{"maxItems":0}}}]}"#),
            "a branch that requires nothing takes {}")
    }

    @Test func conflictingPluginRoute_isRejected_andNotDocumented() {
        #expect(Self.table.rejected.count == 1)
        #expect(Self.table.rejected.first?.contains("overlaps the gateway's own route") == true)
        let document = OpenAPIDocument.build(routes: Self.table, version: "1")
        #expect(document["paths"]?["/v1/keys"]?["get"]?["tags"] == .array([.string("keys")]))
    }

    @Test func keyRequest_refusesBothExpiryMembers() throws {
        let document = OpenAPIDocument.build(routes: Self.table, version: "1")
        let schema = try #require(document["components"]?["schemas"]?["KeyRequest"])
        #expect(schema["not"] == .object([("required", .array([.string("expires_at"), .string("ttl_seconds")]))]))
        #expect(schema["additionalProperties"] == .bool(false))
    }

    @Test func routeTable_prefersLiteralSegments() {
        guard case .found(let endpoint, let parameters) = Self.table.match(method: "GET", path: "/v1/hello/Ada%21") else {
            Issue.record("no match")
            return
        }
        #expect(endpoint.action == .forward(plugin: "hello", topic: "hello.greet"))
        #expect(parameters.first?.1 == "Ada!")
        guard case .wrongMethod(let allowed) = Self.table.match(method: "DELETE", path: "/v1/hello") else {
            Issue.record("expected wrongMethod")
            return
        }
        #expect(allowed == ["POST", "OPTIONS"])
    }
}
