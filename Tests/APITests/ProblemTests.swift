import Foundation
import Testing

/// Errors are problem+json with type, title, status and detail; limits on bodies and heads.
@Suite struct ProblemTests {
    func expectProblem(_ r: HTTPReply, _ status: Int, _ slug: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(r.text)", sourceLocation: sourceLocation)
        #expect(r.header("content-type") == "application/problem+json", sourceLocation: sourceLocation)
        #expect(r.json["type"] as? String == "urn:jamey:problem:" + slug, "\(r.text)", sourceLocation: sourceLocation)
        #expect(r.json["status"] as? Int == status, sourceLocation: sourceLocation)
        #expect((r.json["title"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect((r.json["detail"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    }

    @Test func notFoundAndMethodNotAllowed() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            expectProblem(try await HTTP.get(k.port, "/nothing/here"), 404, "not-found")
            expectProblem(try await HTTP.get(k.port, "/v1/plugins/nosuch", key: APIKernel.adminKey), 404, "not-found")
            let wrong = try await HTTP.request(k.port, "PUT", "/healthz")
            expectProblem(wrong, 405, "method-not-allowed")
            #expect(wrong.header("allow") == "GET, HEAD, OPTIONS")
            let options = try await HTTP.request(k.port, "OPTIONS", "/v1/keys")
            #expect(options.status == 204)
            #expect(options.header("allow") == "POST, GET, HEAD, OPTIONS")
        }
    }

    @Test func bodyOverTheLimitIs413() async throws {
        try await APIKernel.with(.init(config: "limits:\n  max_body_bytes: 100\n", probe: false, hello: false)) { k in
            let big = String(repeating: "x", count: 101)
            expectProblem(
                try await HTTP.post(k.port, "/v1/bus/publish/big.body", key: APIKernel.adminKey, body: big, type: "text/plain"),
                413, "body-too-large")
            // Streamed without a Content-Length (chunked): counted as it arrives.
            let c = try await HTTPConnection.open(port: k.port)
            try await c.send(
                "POST /v1/bus/publish/big.body HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(APIKernel.adminKey)\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "40\r\n" + String(repeating: "y", count: 64) + "\r\n" + "40\r\n" + String(repeating: "y", count: 64)
                    + "\r\n0\r\n\r\n")
            expectProblem(try await c.readResponse(), 413, "body-too-large")
            #expect(await c.isClosedByPeer(), "the refused chunked body is not read on")
            // Refused from its Content-Length: the response says `Connection: close` and the
            // connection is closed, rather than the whole body being read and thrown away.
            let declared = try await HTTPConnection.open(port: k.port, timeout: 5)
            try await declared.send(
                "POST /v1/bus/publish/big.body HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(APIKernel.adminKey)\r\n"
                    + "Content-Type: text/plain\r\nContent-Length: 100000000\r\n\r\n" + String(repeating: "z", count: 4096))
            let refused = try await declared.readResponse()
            expectProblem(refused, 413, "body-too-large")
            #expect(refused.header("connection") == "close")
            #expect(await declared.isClosedByPeer(), "the server waits for the other 99 995 904 bytes")
            let fits = try await HTTP.post(
                k.port, "/v1/bus/publish/big.body", key: APIKernel.adminKey, body: String(repeating: "x", count: 100),
                type: "text/plain")
            #expect(fits.status == 202, "\(fits.text)")
        }
    }

    @Test func slowRequestHeadIsCutOffWith408() async throws {
        try await APIKernel.with(.init(config: "limits:\n  header_timeout_ms: 300\n", probe: false, hello: false)) { k in
            let c = try await HTTPConnection.open(port: k.port, sending: "GET /healthz HTTP/1.1\r\nHost: x\r\n")
            let r = try await c.readResponse()
            #expect(r.status == 408)
            #expect(r.json["type"] as? String == "urn:jamey:problem:header-timeout")
            #expect(await c.isClosedByPeer())
            // A keep-alive connection that is merely idle is not cut off by the head timeout.
            let idle = try await HTTPConnection.open(port: k.port, sending: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await idle.readResponse().status == 200)
            try await Task.sleep(for: .milliseconds(500))  // idle longer than the head timeout: the point of the test
            #expect(try await idle.request("GET", "/healthz").status == 200)
        }
    }

    /// A chunked body whose framing is broken is the client's error: a 400, not a 500 logged as
    /// the gateway's failure.
    @Test func aMalformedChunkedBodyIs400() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let c = try await HTTPConnection.open(port: k.port)
            try await c.send(
                "POST /v1/bus/publish/a.b HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(APIKernel.adminKey)\r\n"
                    + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
            let r = try await c.readResponse()
            expectProblem(r, 400, "bad-request")
            #expect((r.json["detail"] as? String)?.hasPrefix("the request body could not be read") == true, "\(r.text)")
            #expect(try await HTTP.get(k.port, "/healthz").status == 200)
        }
    }

    @Test func oversizedHeadIsRefused() async throws {
        try await APIKernel.with(.init(config: "limits:\n  max_header_bytes: 1024\n", probe: false, hello: false)) { k in
            let c = try await HTTPConnection.open(port: k.port)
            let reply = try? await c.request("GET", "/healthz", headers: ["X-Big": String(repeating: "a", count: 4096)])
            #expect(reply.map { $0.status >= 400 } ?? true, "refused with an error status or a closed connection")
            #expect(await c.isClosedByPeer())
        }
    }
}
