import Foundation
import JameyTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` (Debian `redis-server`) on a free loopback port, without persistence,
/// that a test can kill and start again on the same port.
final class RedisServer: Sendable {
    let port: Int
    private let process = LockedBox<ChildProcess?>(nil)

    init() throws {
        // A free port can be handed to another test between the probe and redis-server's bind
        // (a broker, another redis-server): then redis-server exits and the other one answers.
        // Try another port in that case.
        var chosen: (port: Int, process: ChildProcess)?
        for attempt in 1...5 {
            let candidate = try Self.freePort()
            do {
                chosen = (candidate, try Self.launch(port: candidate))
                break
            } catch  where attempt < 5 {
                continue
            }
        }
        port = chosen!.port
        process.set(chosen!.process)
    }

    static func make() async throws -> RedisServer { try await onThread { try RedisServer() } }

    /// Starts the server again on its port and waits until it accepts connections.
    func start() throws { process.set(try Self.launch(port: port)) }

    /// Starts redis-server on `port` and waits until it accepts connections and is still running
    /// a moment later (one that could not bind exits while another process answers).
    private static func launch(port: Int) throws -> ChildProcess {
        try listening(
            "/usr/bin/redis-server",
            ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            port: port)
    }

    /// Starts `executable` and waits (20 s at most) until it accepts connections on `port` and is
    /// still running a moment later (a server that could not bind exits while another answers).
    static func listening(_ executable: String, _ arguments: [String], port: Int) throws -> ChildProcess {
        let name = executable.split(separator: "/").last.map(String.init) ?? executable
        let p = try ChildProcess(executable, arguments)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if Self.accepts(port) {
                usleep(50_000)
                guard p.isRunning else { throw TestKitError("\(name) exited (port \(port) taken?)") }
                return p
            }
            guard p.isRunning else { throw TestKitError("\(name) exited with \(p.exitStatus ?? -1)") }
            usleep(5000)
        }
        _ = p.stop(SIGKILL)
        throw TestKitError("\(name) did not listen on \(port) within 20 s")
    }

    /// Sends `signal` to the server (SIGSTOP: a hung Redis, which still takes connections into
    /// its backlog; SIGCONT: going on).
    func signal(_ signal: Int32) { process.value?.send(signal) }

    /// Kills the server (SIGKILL: no goodbye to the clients).
    func kill() {
        process.value?.stop(SIGKILL)
        process.set(nil)
    }

    func restart() async throws { try await onThread { [self] in try start() } }

    func stop() async { await onThread { [self] in kill() } }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A port nothing listens on now (bound to 0, read back, released).
    static func freePort() throws -> Int { try ServedNode.freePort() }
}
