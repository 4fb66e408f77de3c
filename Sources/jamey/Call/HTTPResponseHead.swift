import Foundation

/// The status line and header fields of an HTTP/1.1 response.
struct HTTPResponseHead: Sendable {
    /// The status code (`200`).
    let status: Int
    /// The reason phrase (`OK`), possibly empty.
    let reason: String
    /// Header fields in order, names as received.
    let headers: [(name: String, value: String)]

    /// The first value of the field `name` (case-insensitive).
    func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// Parses the head (status line and fields, without the blank line that ends it).
    /// - Returns: nil when it is not an HTTP/1.x response head.
    static func parse(_ bytes: some Collection<UInt8>) -> HTTPResponseHead? {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.") else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[1].count == 3, let status = Int(parts[1]), status >= 100 else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((String(line[..<colon]), value))
        }
        return HTTPResponseHead(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers)
    }

    /// How the body that follows this head is delimited.
    /// - Parameter method: the request's method (a `HEAD` response has no body).
    func framing(method: String) -> HTTPBodyFraming {
        if method == "HEAD" || status == 204 || status == 304 || status < 200 { return .none }
        if let coding = header("Transfer-Encoding"), coding.lowercased().contains("chunked") { return .chunked }
        if let length = header("Content-Length").flatMap({ Int($0) }), length >= 0 { return .length(length) }
        return .untilClose
    }
}

/// How a response body is delimited on the wire.
enum HTTPBodyFraming: Equatable, Sendable {
    /// No body.
    case none
    /// Exactly this many bytes.
    case length(Int)
    /// `Transfer-Encoding: chunked`.
    case chunked
    /// Everything until the server closes the connection.
    case untilClose
}
