import Foundation
import JameyTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// A response read off the wire.
struct HTTPReply: Sendable {
    /// Status code.
    let status: Int
    /// Header fields in order, names lower-cased.
    let headers: [(String, String)]
    /// The body (chunked encoding undone).
    let body: [UInt8]

    /// The first value of header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0 == lower }?.1
    }

    /// The body as UTF-8 text.
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as a JSON object (empty when it is not one).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
}

/// A failure of the test client.
struct HTTPClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A blocking HTTP/1.1 client on one TCP connection to 127.0.0.1, with full control of the bytes
/// sent (for slow or malformed requests) and a read timeout on every read.
final class BlockingConnection: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects.
    /// - Parameters:
    ///   - port: the server port.
    ///   - timeout: the timeout of every read (and, with `receiveBuffer`, of every send).
    ///   - receiveBuffer: a small `SO_RCVBUF` for a client that stops reading (set before the
    ///     connect, so the window is small from the start).
    init(port: Int, timeout: Double = 30, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPClientError("socket failed") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // No close here: a class whose stored properties are all set runs its deinit when its
        // initializer throws, and deinit closes the socket. Closing it here too closed it twice,
        // and the second close could hit a descriptor another test had just opened (seen as
        // "send failed: errno 9" in an unrelated test).
        guard result == 0 else { throw HTTPClientError("connect to port \(port) failed: errno \(errno)") }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Sends raw bytes.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HTTPClientError("send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Sends raw text.
    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends a request and reads its response.
    func request(
        _ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil
    ) throws -> HTTPReply {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        if let body, headers.keys.first(where: { $0.lowercased() == "content-length" }) == nil {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        try send(Array(head.utf8) + (body ?? []))
        return try readResponse(method: method)
    }

    /// Reads one response (for `HEAD`, without a body).
    func readResponse(method: String = "GET") throws -> HTTPReply {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw HTTPClientError("bad status line '\(statusLine)'") }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let reply = HTTPReply(status: status, headers: headers, body: [])
        if method == "HEAD" || status == 204 || status == 304 { return reply }
        if let length = reply.header("content-length").flatMap(Int.init) {
            return HTTPReply(status: status, headers: headers, body: try read(count: length))
        }
        if reply.header("transfer-encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while true {
                let size = Int(try readLine().split(separator: ";")[0], radix: 16) ?? 0
                if size == 0 {
                    while try !readLine().isEmpty {}
                    break
                }
                body += try read(count: size)
                _ = try readLine()
            }
            return HTTPReply(status: status, headers: headers, body: body)
        }
        var body: [UInt8] = []
        while let more = try? fill(), more { body += buffer; buffer.removeAll() }
        return HTTPReply(status: status, headers: headers, body: body + buffer)
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<i])
                buffer.removeFirst(i + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw HTTPClientError("connection closed while reading a line") }
        }
    }

    /// Reads exactly `count` bytes.
    func read(count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw HTTPClientError("connection closed after \(buffer.count) of \(count) bytes") }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    /// Whether the server closed the connection (reads until EOF or timeout).
    func isClosedByPeer() -> Bool {
        while true {
            do {
                if try !fill() { return true }
            } catch {
                return false
            }
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw HTTPClientError("read timed out") }
            if errno == ECONNRESET { return false }
            throw HTTPClientError("read failed: errno \(errno)")
        }
        if n == 0 { return false }
        buffer += chunk[..<n]
        return true
    }
}

/// An HTTP/1.1 connection whose blocking reads and writes run off the cooperative pool.
final class HTTPConnection: Sendable {
    private let connection: BlockingConnection

    private init(_ connection: BlockingConnection) { self.connection = connection }

    /// Connects to 127.0.0.1:`port` (`receiveBuffer`: see ``BlockingConnection/init(port:timeout:receiveBuffer:)``).
    /// - Parameter sending: raw text sent as soon as the connection is made, on the same thread: a
    ///   server with a short `header_timeout_ms` closes a connection that has sent nothing when it
    ///   runs out, without an answer, and a loaded machine can put more than that between two
    ///   separate calls.
    static func open(port: Int, timeout: Double = 30, receiveBuffer: Int32? = nil, sending: String? = nil) async throws
        -> HTTPConnection
    {
        HTTPConnection(
            try await onThread {
                let connection = try BlockingConnection(port: port, timeout: timeout, receiveBuffer: receiveBuffer)
                if let sending { try connection.send(sending) }
                return connection
            })
    }

    /// Sends raw text.
    func send(_ text: String) async throws {
        let c = connection
        try await onThread { try c.send(text) }
    }

    /// Sends a request and reads its response.
    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil) async throws
        -> HTTPReply
    {
        let c = connection
        return try await onThread { try c.request(method, path, headers: headers, body: body) }
    }

    /// Reads one response.
    func readResponse(method: String = "GET") async throws -> HTTPReply {
        let c = connection
        return try await onThread { try c.readResponse(method: method) }
    }

    /// Reads one line.
    func readLine() async throws -> String {
        let c = connection
        return try await onThread { try c.readLine() }
    }

    /// Whether the server closed the connection.
    func isClosedByPeer() async -> Bool {
        let c = connection
        return await onThread { c.isClosedByPeer() }
    }
}

/// One-shot requests, each on a new connection.
enum HTTP {
    /// Sends one request on a fresh connection.
    /// - Parameter timeout: the read timeout in seconds (longer for a reply the server delays on purpose).
    static func request(
        _ port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil,
        timeout: Double = 30
    ) async throws -> HTTPReply {
        try await onThread {
            try BlockingConnection(port: port, timeout: timeout).request(method, path, headers: headers, body: body)
        }
    }

    /// `GET` with an optional bearer key.
    static func get(
        _ port: Int, _ path: String, key: String? = nil, headers: [String: String] = [:], timeout: Double = 30
    ) async throws -> HTTPReply {
        var h = headers
        if let key { h["Authorization"] = "Bearer " + key }
        return try await request(port, "GET", path, headers: h, timeout: timeout)
    }

    /// `POST` of a body with a bearer key.
    static func post(
        _ port: Int, _ path: String, key: String? = nil, body: String = "", type: String = "application/json",
        headers: [String: String] = [:]
    ) async throws -> HTTPReply {
        var h = headers
        if let key { h["Authorization"] = "Bearer " + key }
        h["Content-Type"] = type
        return try await request(port, "POST", path, headers: h, body: Array(body.utf8))
    }
}
