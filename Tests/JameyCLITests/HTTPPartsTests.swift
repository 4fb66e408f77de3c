import Testing

@testable import jamey

/// The pieces of the CLI's HTTP client and output: no server.
@Suite struct HTTPPartsTests {
    @Test func serverURLs() throws {
        #expect(try ServerURL(parsing: "http://127.0.0.1:8080") == ServerURL(host: "127.0.0.1", port: 8080, prefix: ""))
        #expect(try ServerURL(parsing: "localhost:9000/jamey/") == ServerURL(host: "localhost", port: 9000, prefix: "/jamey"))
        #expect(try ServerURL(parsing: "http://[::1]:81") == ServerURL(host: "::1", port: 81, prefix: ""))
        #expect(try ServerURL(parsing: "http://example.org").port == 80)
        #expect(ServerURL(host: "::1", port: 81, prefix: "").hostHeader == "[::1]:81")
        #expect(failure { try ServerURL(parsing: "https://x:1") }.contains("uses https, which jamey call does not support yet"))
        #expect(failure { try ServerURL(parsing: "http://x:99999") }.contains("invalid port '99999'"))
        #expect(failure { try ServerURL(parsing: "ftp://x") }.contains("must start with http://"))
        #expect(failure { try ServerURL(parsing: "http://:80") }.contains("has no host"))
    }

    @Test func responseHeadAndFraming() throws {
        let head = try #require(
            HTTPResponseHead.parse(
                Array("HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\nContent-Length:  12 ".utf8)))
        #expect(head.status == 404 && head.reason == "Not Found")
        #expect(head.header("Content-Type") == "application/problem+json")
        #expect(head.framing(method: "GET") == .length(12))
        #expect(head.framing(method: "HEAD") == HTTPBodyFraming.none)
        let chunked = try #require(HTTPResponseHead.parse(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked".utf8)))
        #expect(chunked.framing(method: "GET") == .chunked)
        #expect(HTTPResponseHead.parse(Array("HTTP/1.1 200 OK".utf8))?.framing(method: "GET") == .untilClose)
        #expect(HTTPResponseHead.parse(Array("SSH-2.0-OpenSSH".utf8)) == nil)
        #expect(HTTPResponseHead.parse(Array("HTTP/1.1 2000 OK".utf8)) == nil)
        #expect(HTTPClient.endOfHead(Array("HTTP/1.1 200 OK\r\n\r\nbody".utf8)) == 15)
    }

    @Test func chunkedBodiesDecodeAcrossAnySplit() throws {
        let wire = Array("5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n".utf8)
        for split in 0...wire.count {
            var decoder = ChunkedDecoder()
            let body = try decoder.decode(wire[..<split]) + decoder.decode(wire[split...])
            #expect(body == Array("hello, world".utf8), "split at \(split)")
            #expect(decoder.isComplete)
        }
        var bad = ChunkedDecoder()
        #expect(throws: HTTPClientError.self) { try bad.decode(Array("zz\r\n".utf8)) }
        var long = ChunkedDecoder()
        #expect(throws: HTTPClientError.self) { try long.decode(Array("2\r\nabc\r\n".utf8)) }
    }

    @Test func jsonIsIndentedWithoutReordering() {
        let text = #"{"z":1,"a":[1, 2,{}],"s":"x,{\"y\":[]}","e":[]}"#
        let expected = """
            {
              "z": 1,
              "a": [
                1,
                2,
                {}
              ],
              "s": "x,{\\"y\\":[]}",
              "e": []
            }
            """
        #expect(String(decoding: JSONIndenter.indent(Array(text.utf8)), as: UTF8.self) == expected)
    }
}
