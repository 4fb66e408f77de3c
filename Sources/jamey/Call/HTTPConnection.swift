#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A blocking TCP connection to the server, closed when released. Used on one thread only.
final class HTTPConnection {
    private let fd: Int32
    private let description: String

    private init(fd: Int32, description: String) {
        self.fd = fd
        self.description = description
    }

    deinit { close(fd) }

    /// Resolves `server` and connects to its first address that accepts, within `timeout`.
    /// - Throws: ``HTTPClientError`` saying why the server cannot be reached.
    static func open(_ server: ServerURL, timeout: Duration) throws(HTTPClientError) -> HTTPConnection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(server.host, String(server.port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPClientError(
                "cannot reach the server at \(server.text): cannot resolve '\(server.host)' (\(String(cString: gai_strerror(rc))))"
            )
        }
        defer { freeaddrinfo(first) }
        var reason = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else {
                reason = String(cString: strerror(errno))
                continue
            }
            if let failure = connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: timeout) {
                reason = failure
                close(fd)
                continue
            }
            let connection = HTTPConnection(fd: fd, description: server.text)
            connection.setTimeout(timeout)
            return connection
        }
        throw HTTPClientError("cannot reach the server at \(server.text): \(reason)")
    }

    /// Connects `fd` without blocking longer than `timeout`. Returns nil on success, else why not.
    private static func connect(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t, timeout: Duration)
        -> String?
    {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return nil }
        guard errno == EINPROGRESS else { return String(cString: strerror(errno)).lowercased() }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pfd, 1, Int32(clamping: timeout.milliseconds))
        guard ready == 1 else {
            return ready == 0 ? "no answer within \(timeout.milliseconds) ms" : String(cString: strerror(errno))
        }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? nil : String(cString: strerror(error)).lowercased()
    }

    /// Sets the send and receive timeout (a zero duration means none).
    func setTimeout(_ timeout: Duration) {
        let ms = timeout.milliseconds
        var value = timeval(tv_sec: Int(ms / 1000), tv_usec: Int((ms % 1000) * 1000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes every byte of `bytes`.
    func send(_ bytes: [UInt8]) throws(HTTPClientError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw failure("sending the request") }
            offset += n
        }
    }

    /// Reads what has arrived (blocking until something has); an empty result means the server closed.
    func receive() throws(HTTPClientError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw failure("reading the response") }
            return Array(buffer[0..<n])
        }
    }

    private func failure(_ doing: String) -> HTTPClientError {
        let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : String(cString: strerror(errno)).lowercased()
        return HTTPClientError("the connection to \(description) failed while \(doing): \(reason)")
    }
}

extension Duration {
    /// The duration in whole milliseconds (negative durations count as zero).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
