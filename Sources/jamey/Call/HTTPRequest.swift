/// One HTTP/1.1 request as `jamey call` sends it: always `Connection: close`, body with a length.
struct HTTPRequest: Equatable, Sendable {
    /// `GET`, `POST`, ...
    var method: String
    /// The request target: path and query, already percent-encoded (`/v1/hello/Ada?x=1`).
    var target: String
    /// Header fields in order (`Host`, `Content-Length` and `Connection` are added when serialized).
    var headers: [(name: String, value: String)] = []
    /// The body, sent with `Content-Length` when not nil.
    var body: [UInt8]? = nil

    /// The bytes on the wire.
    /// - Parameter host: the `Host` header's value (`127.0.0.1:8080`).
    func serialized(host: String) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.body == rhs.body
            && lhs.headers.map { "\($0.name): \($0.value)" } == rhs.headers.map { "\($0.name): \($0.value)" }
    }
}
