import Foundation
import JameyKernel
import JameyTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// A kernel with the memory plugin loaded from its built library and, optionally, the api plugin
/// on a free port, for tests over the bus and over real HTTP.
final class MemoryKernel: Sendable {
    /// The admin key the api plugin accepts.
    static let adminKey = "memory-test-admin-key-0123456789"
    /// The kernel.
    let test: TestKernel
    /// The api plugin's port (0 without it).
    let port: Int

    private init(config: String, http: Bool) throws {
        var plugins: [TestKernel.Plugin] = [
            .init("memory", path: try TestPlugins.library("Memory"), required: true, config: config)
        ]
        if http {
            let limits = ["public", "read", "write", "admin"].map { "  \($0): {rate: 100000, burst: 100000}" }
            plugins.append(
                .init(
                    "api", path: try TestPlugins.library("API"), required: true,
                    config: "port: 0\nadmin_key: \(Self.adminKey)\nrate_limits:\n" + limits.joined(separator: "\n") + "\n"))
        }
        let kernel = try TestKernel.boot(plugins: plugins)
        test = kernel
        var found = 0
        if http {
            _ = TestKernel.eventually(timeout: .seconds(10)) {
                let detail = kernel.kernel.plugin(named: "api")?.health?.detail ?? ""
                found = detail.hasPrefix("listening on") ? detail.split(separator: ":").last.flatMap { Int($0) } ?? 0 : 0
                return found != 0
            }
        }
        port = found
    }

    /// Why a kernel with the memory plugin under `config` did not start, or nil when it did (it
    /// is stopped again).
    static func refusal(config: String) async -> String? {
        do {
            let k = try await boot(config: config)
            await k.stop()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Boots a kernel off the cooperative pool.
    static func boot(config: String = "", http: Bool = false) async throws -> MemoryKernel {
        try await onThread { try MemoryKernel(config: config, http: http) }
    }

    /// Boots a kernel, runs `body`, and stops the kernel whatever happens.
    static func with(config: String = "", http: Bool = false, _ body: (MemoryKernel) async throws -> Void) async throws {
        try await withStopping(try await boot(config: config, http: http), stop: { await $0.stop() }, body)
    }

    /// Stops it.
    func stop() async {
        let test = self.test
        await onThread { test.shutdown() }
    }

    /// A bus request with a JSON payload; returns (status header or 200, parsed JSON body).
    func request(_ topic: String, _ json: String = "") async throws -> (status: Int, body: [String: Any], contentType: String?) {
        let bus = test.bus
        let reply = try await onThread {
            try bus.requestSync(
                BusMessage(topic: topic, payload: Array(json.utf8), contentType: "application/json"), timeout: .seconds(30))
        }
        let status = reply.headers.first { $0.key == "status" }.flatMap { Int($0.value) } ?? 200
        let body = (try? JSONSerialization.jsonObject(with: Data(reply.payload))) as? [String: Any] ?? [:]
        return (status, body, reply.contentType)
    }

    /// One HTTP/1.1 request to the api plugin with the admin key (`Connection: close`).
    func http(_ method: String, _ path: String, body: String = "") async throws -> (status: Int, body: [String: Any], raw: String)
    {
        let port = self.port
        let (status, payload, raw) = try await onThread { try Self.exchange(port: port, method: method, path: path, body: body) }
        return (status, Self.object(payload), raw)
    }

    /// One request; returns (status, JSON object of the body, head and body as text).
    static func send(port: Int, method: String, path: String, body: String) throws -> (Int, [String: Any], String) {
        let (status, payload, raw) = try exchange(port: port, method: method, path: path, body: body)
        return (status, object(payload), raw)
    }

    /// A JSON object from text (empty when it is not one).
    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    private static func exchange(port: Int, method: String, path: String, body: String) throws -> (Int, String, String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestError("connect to port \(port) failed") }
        let head =
            "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(adminKey)\r\nConnection: close\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        let bytes = Array((head + body).utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw TestError("write failed") }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var failure: Int32 = 0
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 { failure = errno }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else {
            // EAGAIN: nothing came for the 30 s of SO_RCVTIMEO; 0: the server closed without a head.
            throw TestError("\(method) \(path): no response head (read errno \(failure)): \(text)")
        }
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        var payload = String(text[split.upperBound...])
        if text[..<split.lowerBound].lowercased().contains("transfer-encoding: chunked") { payload = unchunk(payload) }
        return (status, payload, String(text[..<split.lowerBound]) + "\n\n" + payload)
    }

    private static func unchunk(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let line = rest.range(of: "\r\n"), let size = Int(rest[..<line.lowerBound], radix: 16), size > 0 {
            let start = line.upperBound
            let bytes = Array(rest[start...].utf8)
            out += String(decoding: bytes.prefix(size), as: UTF8.self)
            rest = Substring(String(decoding: bytes.dropFirst(size + 2), as: UTF8.self))
        }
        return out
    }
}

/// A test-side failure.
struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
