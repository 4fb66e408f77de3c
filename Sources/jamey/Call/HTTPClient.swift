/// A small blocking HTTP/1.1 client for `jamey call`: one request per connection, plain HTTP.
///
/// Runs on the calling thread and blocks it. HTTPS is not supported.
struct HTTPClient: Sendable {
    /// Largest response head accepted.
    static let maximumHeadBytes = 64 * 1024

    /// Where requests go.
    let server: ServerURL
    /// Limit for connecting, and for each wait for bytes until the response is complete.
    let timeout: Duration

    /// Sends `request` and reads the whole response.
    /// - Returns: the response head and body (decoded from chunks when chunked).
    /// - Throws: ``HTTPClientError`` when the server cannot be reached or does not answer HTTP/1.1.
    func fetch(_ request: HTTPRequest) throws(HTTPClientError) -> (head: HTTPResponseHead, body: [UInt8]) {
        var body: [UInt8] = []
        let head = try exchange(request, streaming: { _ in false }) { body += $0 }
        return (head, body)
    }

    /// Sends `request`, then hands the response body to `onBody` as it arrives.
    /// - Parameters:
    ///   - request: the request (its target gets the server's prefix).
    ///   - streaming: given the head, whether the body is an endless stream (no read timeout).
    ///   - onBody: called with each piece of the body, in order.
    /// - Returns: the response head.
    /// - Throws: ``HTTPClientError`` when the server cannot be reached or does not answer HTTP/1.1.
    func exchange(
        _ request: HTTPRequest, streaming: (HTTPResponseHead) -> Bool, onBody: ([UInt8]) -> Void
    ) throws(HTTPClientError) -> HTTPResponseHead {
        let connection = try HTTPConnection.open(server, timeout: timeout)
        var prefixed = request
        prefixed.target = server.prefix + request.target
        try connection.send(prefixed.serialized(host: server.hostHeader))
        var buffer: [UInt8] = []
        var head: HTTPResponseHead?
        var rest: ArraySlice<UInt8> = []
        while head == nil {
            let bytes = try connection.receive()
            guard !bytes.isEmpty else {
                throw HTTPClientError("\(server.text) closed the connection before answering \(request.method) \(request.target)")
            }
            buffer += bytes
            if let end = Self.endOfHead(buffer) {
                guard let parsed = HTTPResponseHead.parse(buffer[..<end]) else {
                    throw HTTPClientError("\(server.text) did not answer with HTTP/1.1 (is it the api plugin's port?)")
                }
                rest = buffer[(end + 4)...]
                if parsed.status >= 200 { head = parsed } else { buffer = Array(rest) }  // skip 1xx interim responses
            } else if buffer.count > Self.maximumHeadBytes {
                throw HTTPClientError("\(server.text) sent a response head larger than \(Self.maximumHeadBytes) bytes")
            }
        }
        guard let head else { throw HTTPClientError("\(server.text) sent no response") }
        if streaming(head) { connection.setTimeout(.zero) }
        try readBody(head.framing(method: request.method), first: rest, from: connection, onBody: onBody)
        return head
    }

    private func readBody(
        _ framing: HTTPBodyFraming, first: ArraySlice<UInt8>, from connection: HTTPConnection, onBody: ([UInt8]) -> Void
    ) throws(HTTPClientError) {
        switch framing {
        case .none:
            return
        case .length(let length):
            var left = length
            let part = first.prefix(left)
            if !part.isEmpty { onBody(Array(part)) }
            left -= part.count
            while left > 0 {
                let bytes = try connection.receive()
                guard !bytes.isEmpty else {
                    throw HTTPClientError("\(server.text) closed the connection \(left) bytes before the body's end")
                }
                let piece = bytes.prefix(left)
                onBody(Array(piece))
                left -= piece.count
            }
        case .chunked:
            var decoder = ChunkedDecoder()
            var bytes = Array(first)
            while true {
                let decoded = try decoder.decode(bytes)
                if !decoded.isEmpty { onBody(decoded) }
                if decoder.isComplete { return }
                bytes = try connection.receive()
                guard !bytes.isEmpty else { throw HTTPClientError("\(server.text) closed the connection before the last chunk") }
            }
        case .untilClose:
            if !first.isEmpty { onBody(Array(first)) }
            while true {
                let bytes = try connection.receive()
                if bytes.isEmpty { return }
                onBody(bytes)
            }
        }
    }

    /// The offset of the CRLF CRLF ending the head, if it has arrived.
    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }
}
