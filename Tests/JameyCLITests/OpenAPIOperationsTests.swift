import Foundation
import Testing

@testable import jamey

/// Reading /openapi.json and finding operations in it: no server.
@Suite struct OpenAPIOperationsTests {
    static let document = #"""
        {"openapi":"3.1.0","security":[{"bearerAuth":[]}],"paths":{
          "/healthz":{"get":{"operationId":"healthz","summary":"Liveness","security":[]}},
          "/v1/plugins":{"get":{"operationId":"listPlugins","summary":"Every plugin"}},
          "/v1/plugins/{name}":{"get":{"operationId":"showPlugin","parameters":[{"name":"name","in":"path","required":true}]}},
          "/v1/plugins/special":{"get":{"operationId":"special","x-jamey-long-running":true}},
          "/v1/bus/request/{topic}":{"post":{"operationId":"request",
            "parameters":[{"name":"topic","in":"path","required":true},{"name":"timeout_ms","in":"query","required":false},
                          {"name":"X-Trace","in":"header","required":false}],
            "requestBody":{"required":false,"content":{"application/json":{},"text/plain":{}}}}},
          "/v1/bus/subscribe":{"get":{"operationId":"subscribe","parameters":[{"name":"topic","in":"query","required":true}]}},
          "/v1/hello/{name}":{"get":{"operationId":"hello_swift_get_v1_hello_by_name","summary":"Greet"}},
          "/v1/keys":{"post":{"operationId":"createKey","requestBody":{"required":true,"content":{"application/json":{}}}},
                      "get":{"operationId":"listKeys"}}
        }}
        """#

    let operations: OpenAPIOperations

    init() throws { operations = try OpenAPIOperations(document: Array(Self.document.utf8)) }

    @Test func readsEveryOperationWithItsParametersBodyAndSecurity() throws {
        #expect(operations.operations.count == 9)
        let request = try operations.operation(id: "request")
        #expect(request.method == "POST" && request.path == "/v1/bus/request/{topic}")
        #expect(request.parameters.map(\.location) == ["path", "query", "header"])
        #expect(request.acceptsBody && !request.requiresBody && request.bodyTypes == ["application/json", "text/plain"])
        #expect(!request.isPublic, "the document's security applies")
        #expect(try operations.operation(id: "healthz").isPublic)
        #expect(try operations.operation(id: "createKey").requiresBody)
        // Read so that `jamey call` waits as long as the gateway does for it.
        #expect(try operations.operation(id: "special").isLongRunning)
        #expect(try !operations.operation(id: "createKey").isLongRunning)
        // A path item's methods are listed in the spec's order.
        #expect(operations.operations.filter { $0.path == "/v1/keys" }.map(\.method) == ["GET", "POST"])
        #expect(try operations.operation(id: "hello_swift_get_v1_hello_by_name").pathParameterNames == ["name"])
    }

    @Test func notADocumentIsAnUnexpectedError() {
        for text in ["[1]", "{not json", #"{"openapi":"3.1.0"}"#] {
            #expect(throws: CallError.self) { try OpenAPIOperations(document: Array(text.utf8)) }
        }
    }

    @Test func unknownOperationIDSuggestsCloseMatches() {
        #expect(
            failure { try operations.operation(id: "listPlugin") }
                == "unknown operation 'listPlugin'; did you mean listPlugins? (jamey call --list shows every operation)")
        #expect(failure { try operations.operation(id: "hello") }.contains("did you mean hello_swift_get_v1_hello_by_name?"))
        #expect(exitStatus { try operations.operation(id: "hello") } == 64)
        #expect(
            failure { try operations.operation(id: "zzzzzzzz") }
                == "unknown operation 'zzzzzzzz' (jamey call --list shows every operation)")
    }

    @Test func duplicateOperationIDsAskForMethodAndPath() throws {
        let twice = OpenAPIOperations([.init(id: "x", method: "GET", path: "/a_b"), .init(id: "x", method: "GET", path: "/a/b")])
        #expect(failure { try twice.operation(id: "x") }.contains("names 2 operations (GET /a_b, GET /a/b)"))
    }

    @Test func methodAndPathMatchTemplatesAndConcretePaths() throws {
        let (template, none) = try operations.operation(method: "get", path: "/v1/plugins/{name}")
        #expect(template.id == "showPlugin" && none.isEmpty)
        let (concrete, values) = try operations.operation(method: "GET", path: "/v1/plugins/hello_c")
        #expect(concrete.id == "showPlugin" && values == ["name": "hello_c"])
        // A literal segment beats a parameter, as on the server.
        #expect(try operations.operation(method: "GET", path: "/v1/plugins/special").0.id == "special")
        #expect(try operations.operation(method: "GET", path: "/v1/hello/Ada%20L").1 == ["name": "Ada%20L"])
        #expect(try operations.operation(method: "GET", path: "/v1/bus/subscribe?topic=a").0.id == "subscribe")
    }

    @Test func methodAndPathErrorsSayWhatExists() {
        #expect(
            failure { try operations.operation(method: "DELETE", path: "/v1/plugins") }.hasPrefix(
                "/v1/plugins has no DELETE operation (it has GET)"))
        #expect(
            failure { try operations.operation(method: "GET", path: "/v1/plugin") }.hasPrefix(
                "no operation serves GET /v1/plugin; did you mean /v1/plugins"))
        #expect(
            failure { try operations.operation(method: "GET", path: "/v1/plugins/{id}") }.hasPrefix(
                "no operation serves GET /v1/plugins/{id}"))
    }

    @Test func suggestionsAreCloseFirstAndBounded() {
        #expect(Suggestions.editDistance("kitten", "sitting") == 3)
        #expect(Suggestions.editDistance("", "abc") == 3)
        #expect(Suggestions.closest(to: "listkeys", among: ["listKeys", "listPlugins", "createKey"]) == ["listKeys"])
        #expect(Suggestions.closest(to: "plugins", among: ["listPlugins", "showPlugin", "healthz"]) == ["listPlugins"])
        #expect(Suggestions.closest(to: "q", among: ["healthz"]).isEmpty)
    }
}
