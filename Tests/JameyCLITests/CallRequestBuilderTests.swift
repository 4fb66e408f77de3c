import Testing

@testable import jamey

/// Building the request from an operation and the command line's values: no server.
@Suite struct CallRequestBuilderTests {
    let request = OpenAPIOperation(
        id: "request", method: "POST", path: "/v1/bus/request/{topic}",
        parameters: [
            .init(name: "topic", location: "path", required: true), .init(name: "timeout_ms", location: "query", required: false),
            .init(name: "X-Trace", location: "header", required: false),
        ], acceptsBody: true, bodyTypes: ["application/json"])

    func header(_ name: String, _ built: HTTPRequest) -> String? { built.headers.first { $0.name == name }?.value }

    @Test func fillsPathQueryAndHeaderParametersWhereDeclared() throws {
        var builder = CallRequestBuilder(operation: request)
        builder.parameters = [("topic", "a.b c/>"), ("timeout_ms", "500"), ("X-Trace", "t1"), ("extra", "x&y=z")]
        let built = try builder.request()
        #expect(built.method == "POST")
        #expect(built.target == "/v1/bus/request/a.b%20c%2F%3E?timeout_ms=500&extra=x%26y%3Dz")
        #expect(header("X-Trace", built) == "t1")
        #expect(built.body == nil && header("Content-Type", built) == nil)
    }

    @Test func usesValuesTypedInThePath() throws {
        var builder = CallRequestBuilder(operation: request)
        builder.pathValues = ["topic": "demo.ping"]
        #expect(try builder.request().target == "/v1/bus/request/demo.ping")
        builder.parameters = [("topic", "other")]
        #expect(
            failure { try builder.request() }.hasPrefix(
                "path parameter 'topic' of operation request (POST /v1/bus/request/{topic}) is given twice"))
    }

    /// A segment typed in a concrete path keeps its escapes and gets the ones a request line
    /// needs (a space went out raw); its query string becomes parameters (it was dropped).
    @Test func aTypedPathIsEscapedAndItsQueryKept() throws {
        var builder = CallRequestBuilder(operation: request)
        builder.pathValues = ["topic": "Ada Lovelace#1%2F"]
        builder.parameters = CallRequestBuilder.queryPairs("timeout_ms=500&note=two%20words&flag")
        #expect(try builder.request().target == "/v1/bus/request/Ada%20Lovelace%231%2F?timeout_ms=500&note=two%20words&flag=")
    }

    @Test func missingRequiredParametersAreNamed() {
        #expect(
            failure { try CallRequestBuilder(operation: request).request() }
                == "operation request (POST /v1/bus/request/{topic}) needs path parameter 'topic': add --param topic=VALUE")
        let subscribe = OpenAPIOperation(
            id: "subscribe", method: "GET", path: "/v1/bus/subscribe",
            parameters: [.init(name: "topic", location: "query", required: true)])
        #expect(
            failure { try CallRequestBuilder(operation: subscribe).request() }.hasSuffix(
                "needs query parameter 'topic': add --param topic=VALUE"))
    }

    @Test func sendsTheKeyOnlyToOperationsThatNeedOne() throws {
        var builder = CallRequestBuilder(operation: request)
        builder.pathValues = ["topic": "t"]
        builder.key = "k-123"
        #expect(header("Authorization", try builder.request()) == "Bearer k-123")
        builder.operation.isPublic = true
        #expect(header("Authorization", try builder.request()) == nil)
    }

    @Test func checksAJSONBodyAndLabelsIt() throws {
        var builder = CallRequestBuilder(operation: request)
        builder.pathValues = ["topic": "t"]
        builder.body = Array(#"{"n": 1}"#.utf8)
        let built = try builder.request()
        #expect(built.body == Array(#"{"n": 1}"#.utf8) && header("Content-Type", built) == "application/json")
        builder.body = Array("{\"n\": ".utf8)
        #expect(failure { try builder.request() }.hasPrefix("the body is not valid JSON: '{\"n\": '"))
        builder.contentType = "text/plain"
        #expect(header("Content-Type", try builder.request()) == "text/plain", "another media type is not checked")
    }

    @Test func refusesABodyWhereNoneIsDeclaredAndRequiresOneWhereRequired() {
        var get = CallRequestBuilder(operation: OpenAPIOperation(id: "listPlugins", method: "GET", path: "/v1/plugins"))
        get.body = Array("{}".utf8)
        #expect(failure { try get.request() }.hasSuffix("takes no body; leave out --body"))
        let create = CallRequestBuilder(
            operation: OpenAPIOperation(id: "createKey", method: "POST", path: "/v1/keys", acceptsBody: true, requiresBody: true))
        #expect(failure { try create.request() }.hasSuffix("needs a body: add --body JSON, --body @FILE or --body -"))
    }

    @Test func serializesAsHTTP11WithLengthAndClose() {
        let built = HTTPRequest(method: "POST", target: "/x?y=1", headers: [("A", "b")], body: Array("hi".utf8))
        #expect(
            String(decoding: built.serialized(host: "127.0.0.1:8080"), as: UTF8.self)
                == "POST /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nA: b\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
    }

    @Test func exitCodesFollowTheStatusClass() {
        #expect([200, 204, 301, 401, 404, 500, 503].map { CallExitCode.forStatus($0).rawValue } == [0, 0, 1, 4, 4, 5, 5])
    }
}
