import Foundation
import JameyTestKit
import Testing

/// Routes declared by plugins: forwarded as bus requests, replies mapped back.
@Suite struct PluginRouteTests {
    @Test func pathParametersQueryAndCallerReachThePlugin() async throws {
        try await APIKernel.with(.init(hello: false)) { k in
            let (id, key) = try await k.createKey(scope: "read")
            let r = try await HTTP.get(
                k.port, "/v1/probe/items/a%20b/parts/wheel?x=1&y=2", key: key,
                headers: ["Accept": "application/json", "X-Request-Id": "req-7"])
            #expect(r.status == 200, "\(r.text)")
            #expect(r.header("content-type") == "application/json")
            #expect(r.header("x-probe") == "yes")
            #expect(r.header("x-content-type-options") == "nosniff", "security headers on forwarded responses too")
            #expect(
                r.headers.filter { $0.0 == "x-frame-options" }.map(\.1) == ["DENY"], "a plugin cannot set the gateway's headers")
            let body = r.json
            #expect(body["method"] as? String == "GET")
            #expect(body["path"] as? String == "/v1/probe/items/a%20b/parts/wheel")
            #expect(body["query"] as? String == "x=1&y=2")
            #expect(body["id"] as? String == "a b")
            #expect(body["part"] as? String == "wheel")
            #expect(body["key_id"] as? String == id)
            #expect(body["scope"] as? String == "read")
            #expect(body["accept"] as? String == "application/json")
            #expect(body["request_id"] as? String == "req-7")
        }
    }

    /// A parameter that does not decode is a 400 naming it; `%00` among them, since a parameter
    /// travels as a NUL-terminated header and would reach the plugin cut short.
    @Test func undecodableParametersAreRefused() async throws {
        try await APIKernel.with(.init(hello: false)) { k in
            let (_, key) = try await k.createKey(scope: "read")
            for segment in ["a%00b", "%zz", "%ff", "a%0"] {
                let r = try await HTTP.get(k.port, "/v1/probe/items/\(segment)/parts/wheel", key: key)
                #expect(r.status == 400, "\(segment): \(r.text)")
                #expect(r.json["type"] as? String == "urn:jamey:problem:bad-request")
                #expect((r.json["detail"] as? String)?.hasPrefix("the path segment '\(segment)' is not valid") == true)
            }
            let fine = try await HTTP.get(k.port, "/v1/probe/items/a%2500b/parts/wheel", key: key)
            #expect(fine.status == 200, "\(fine.text)")
            #expect(fine.json["id"] as? String == "a%00b")
            let elsewhere = try await HTTP.get(k.port, "/v1/nothing/%00", key: key)
            #expect(elsewhere.status == 404, "no route has that shape")
        }
    }

    @Test func aDirectResponderAnswersOnTheGatewaysThread() async throws {
        try await APIKernel.with(.init(hello: false)) { k in
            let (id, key) = try await k.createKey(scope: "read")
            for round in 0..<20 {
                let r = try await HTTP.get(k.port, "/v1/probe/direct/item\(round)?q=\(round)", key: key)
                #expect(r.status == 200, "\(r.text)")
                #expect(r.header("x-probe") == "yes")
                #expect(r.json["id"] as? String == "item\(round)")
                #expect(r.json["query"] as? String == "q=\(round)")
                #expect(r.json["key_id"] as? String == id)
            }
            let missing = try await HTTP.get(k.port, "/v1/probe/direct/missing", key: key)
            #expect(missing.status == 404)
            let teapot = try await HTTP.get(k.port, "/v1/probe/direct/teapot", key: key)
            #expect(teapot.status == 418)
            #expect(teapot.header("content-type") == "application/problem+json")
            // A direct responder that does not answer is still bounded by the request timeout
            // (5 s; the client waits longer for it: a loaded run once took more than 10 s).
            let slow = try await HTTP.get(k.port, "/v1/probe/direct/slow", key: key, timeout: 60)
            #expect(slow.status == 504)
        }
    }

    @Test func postBodyAndScopeAreEnforced() async throws {
        try await APIKernel.with(.init(hello: false)) { k in
            let (_, reader) = try await k.createKey(scope: "read")
            let (_, writer) = try await k.createKey(scope: "write")
            #expect(try await HTTP.post(k.port, "/v1/probe/items/42", key: reader, body: "hi", type: "text/plain").status == 403)
            let r = try await HTTP.post(k.port, "/v1/probe/items/42", key: writer, body: "hi", type: "text/plain")
            #expect(r.status == 200)
            #expect(r.json["body"] as? String == "hi")
            #expect(r.json["content_type"] as? String == "text/plain")
            #expect(r.json["method"] as? String == "POST")
            #expect(try await HTTP.get(k.port, "/v1/probe/admin", key: writer).status == 403)
            #expect(try await HTTP.get(k.port, "/v1/probe/admin").status == 401)
            let open = try await HTTP.get(k.port, "/v1/probe/public")
            #expect(open.status == 200)
            #expect(open.json["key_id"] as? String == "", "no caller on public routes")
        }
    }

    @Test func replyStatusesAreMapped() async throws {
        try await APIKernel.with(.init(config: "limits:\n  request_timeout_ms: 300\n", hello: false)) { k in
            let key = APIKernel.adminKey
            let missing = try await HTTP.get(k.port, "/v1/probe/items/missing/parts/x", key: key)
            #expect(missing.status == 404)
            #expect(missing.text == #"{"error":"no such item"}"#, "a plugin's JSON error body passes through")
            let teapot = try await HTTP.get(k.port, "/v1/probe/items/teapot/parts/x", key: key)
            #expect(teapot.status == 418)
            #expect(teapot.header("content-type") == "application/problem+json", "an empty error body becomes problem+json")
            // A status HTTPTypes does not name gets its class's phrase as the title (it was "").
            #expect(teapot.json["title"] as? String == "Client Error")
            #expect(missing.status == 404)
            let boom = try await HTTP.get(k.port, "/v1/probe/items/boom/parts/x", key: key)
            #expect(boom.status == 500)
            #expect(boom.header("content-type") == "application/problem+json")
            #expect(boom.json["status"] as? Int == 500)
            let bad = try await HTTP.get(k.port, "/v1/probe/items/bad/parts/x", key: key)
            #expect(bad.status == 502)
            #expect(bad.json["type"] as? String == "urn:jamey:problem:bad-reply")
            // A handler that fails without replying is a 502 at once, queued or direct (it was a
            // 504 after the request timeout).
            for path in ["/v1/probe/items/fail/parts/x", "/v1/probe/direct/fail"] {
                let failed = try await HTTP.get(k.port, path, key: key)
                #expect(failed.status == 502, "\(path): \(failed.text)")
                #expect(failed.json["type"] as? String == "urn:jamey:problem:handler-failed")
                #expect(failed.json["title"] as? String == "Bad Gateway")
            }
            let slow = try await HTTP.get(k.port, "/v1/probe/items/slow/parts/x", key: key)
            #expect(slow.status == 504)
            #expect(slow.json["detail"] as? String == "plugin 'probe' did not answer within 300 ms")
            let nobody = try await HTTP.get(k.port, "/v1/probe/nobody", key: key)
            #expect(nobody.status == 503)
            #expect(nobody.header("content-type") == "application/problem+json")
        }
    }

    @Test func helloSwiftRouteRoundTrip() async throws {
        try await APIKernel.with(.init(probe: false)) { k in
            let (_, key) = try await k.createKey(scope: "read")
            let r = try await HTTP.get(k.port, "/v1/hello/Grace", key: key)
            #expect(r.status == 200, "\(r.text)")
            #expect(r.text == #"{"greeting":"Hello, Grace!"}"#)
            let tooLong = try await HTTP.get(k.port, "/v1/hello/" + String(repeating: "n", count: 65), key: key)
            #expect(tooLong.status == 400)
            #expect(tooLong.header("content-type") == "application/json")
        }
    }

    @Test func routesClashingWithTheGatewayAreRefused() async throws {
        try await APIKernel.with(.init(hello: false)) { k in
            let health = try await HTTP.get(k.port, "/healthz")
            #expect(health.text == #"{"status":"ok"}"#, "the gateway keeps its own routes")
        }
    }
}
