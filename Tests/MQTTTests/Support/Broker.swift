import Foundation
import JameyTestKit
import Synchronization

/// A real mosquitto broker on a free loopback port, with its own config, started by the test.
///
/// It keeps its port across ``kill(signal:)`` and ``start()``, so a test can take it down and
/// bring it back in the middle of a stream. The process is a ``ChildProcess``: killed when the
/// object goes away and reaped on a thread of its own, every wait for it bounded.
final class Broker: Sendable {
    /// What the broker requires and keeps.
    struct Options {
        /// Password file lines (`user:password` pairs made with mosquitto_passwd); nil: anonymous.
        var users: [(String, String)]? = nil
        /// TLS listener files; nil: plain TCP.
        var tls: (ca: String, cert: String, key: String, requireClientCertificate: Bool)? = nil
        /// Keep sessions and queued messages across a restart (saved on SIGTERM).
        var persistence = false
        /// In-flight window per client.
        var maxInflight = 20
        /// Start now.
        var start = true
    }

    /// The port.
    let port: Int
    /// Directory holding its config, password file, log and persistence.
    let directory: String
    /// The running mosquitto, if any.
    private let process = LockedBox<ChildProcess?>(nil)

    init(_ options: Options = Options()) throws {
        directory = try TemporaryDirectory.make(prefix: "jamey-mosquitto")
        // A free port can be handed to another test between the probe and mosquitto's bind (a
        // redis-server, another broker): then mosquitto exits and the other process answers.
        // Try another port in that case.
        var chosen: (port: Int, process: ChildProcess?)?
        for attempt in 1...5 {
            let candidate = try Self.freePort()
            try Self.writeConfig(directory: directory, port: candidate, options)
            guard options.start else {
                chosen = (candidate, nil)
                break
            }
            do {
                chosen = (candidate, try Self.launch(directory: directory, port: candidate))
                break
            } catch  where attempt < 5 {
                continue
            }
        }
        port = chosen!.port
        process.set(chosen!.process)
    }

    private static func writeConfig(directory: String, port: Int, _ options: Options) throws {
        var config = [
            "listener \(port) 127.0.0.1",
            "user root",
            "log_dest file \(directory)/mosquitto.log",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_inflight_messages \(options.maxInflight)",
            "max_queued_messages 100000",
        ]
        if let users = options.users {
            let file = directory + "/passwd"
            _ = FileManager.default.createFile(atPath: file, contents: nil)
            for (user, password) in users {
                let r = try Run.command("/usr/bin/mosquitto_passwd", ["-b", file, user, password])
                guard r.status == 0 else { throw BrokerError("mosquitto_passwd failed: \(r.output)") }
            }
            config += ["allow_anonymous false", "password_file \(file)"]
        } else {
            config += ["allow_anonymous true"]
        }
        if let tls = options.tls {
            config += ["cafile \(tls.ca)", "certfile \(tls.cert)", "keyfile \(tls.key)"]
            if tls.requireClientCertificate { config += ["require_certificate true"] }
        }
        if options.persistence {
            config += ["persistence true", "persistence_location \(directory)/", "autosave_interval 3600"]
        } else {
            config += ["persistence false"]
        }
        try (config.joined(separator: "\n") + "\n").write(
            toFile: directory + "/mosquitto.conf", atomically: true, encoding: .utf8)
    }

    /// Starts mosquitto and waits (at most 10 s) until it accepts connections.
    func start() throws {
        process.set(try Self.launch(directory: directory, port: port))
    }

    /// Starts mosquitto on `port` and waits until it accepts connections and is still running a
    /// moment later (a mosquitto that could not bind exits while another process answers).
    private static func launch(directory: String, port: Int) throws -> ChildProcess {
        // ChildProcess resets the signals the test process ignores (the kernel's lifecycle
        // handles SIGTERM itself), so SIGTERM and SIGHUP reach mosquitto.
        let p = try ChildProcess("/usr/sbin/mosquitto", ["-c", directory + "/mosquitto.conf"])
        let log = { (try? String(contentsOfFile: directory + "/mosquitto.log", encoding: .utf8)) ?? "" }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.accepts(port: port) {
                usleep(50_000)
                guard p.isRunning else { throw BrokerError("mosquitto exited (port \(port) taken?): \(log())") }
                return p
            }
            guard p.isRunning else { throw BrokerError("mosquitto exited (\(p.exitStatus ?? -1)): \(log())") }
            usleep(2000)
        }
        _ = p.stop(SIGKILL)
        throw BrokerError("mosquitto did not listen on \(port) within 10 s: \(log())")
    }

    /// Creates (and by default starts) a broker off the Swift concurrency pool.
    static func make(_ options: Options = Options()) async throws -> Broker {
        try await onThread { try Broker(options) }
    }

    /// Starts mosquitto again (same port and config) off the Swift concurrency pool.
    func restart() async throws {
        try await onThread { [self] in try start() }
    }

    /// Sends `signal` and waits, off the Swift concurrency pool, until the process is gone.
    func stop(signal: Int32 = SIGTERM) async {
        await onThread { [self] in kill(signal: signal) }
    }

    /// Sends `signal` (SIGTERM: a clean shutdown that saves persistence; SIGKILL: a crash) and
    /// waits until the process is gone (blocking, bounded: SIGKILL after 10 s, given up after
    /// 10 s more).
    func kill(signal: Int32 = SIGTERM) {
        guard let p = process.value else { return }
        p.stop(signal)
        process.set(nil)
    }

    /// Sends `signal` to the running broker without waiting (SIGSTOP: it stops answering but keeps
    /// its connections and listen queue; SIGCONT: it goes on).
    func signal(_ signal: Int32) {
        process.value?.send(signal)
    }

    /// Adds a user to the password file and makes the broker reload it (SIGHUP).
    func addUser(_ user: String, _ password: String) throws {
        let r = try Run.command("/usr/bin/mosquitto_passwd", ["-b", directory + "/passwd", user, password])
        guard r.status == 0 else { throw BrokerError("mosquitto_passwd failed: \(r.output)") }
        guard let p = process.value else { throw BrokerError("broker not running") }
        p.send(SIGHUP)
    }

    /// The broker's log so far.
    var log: String { (try? String(contentsOfFile: directory + "/mosquitto.log", encoding: .utf8)) ?? "" }

    /// Ports already handed to a broker of this test process. A broker keeps its port while it is
    /// stopped (to restart on it), so another test must never be given that port meanwhile.
    private static let handedOut = Mutex<Set<Int>>([])

    /// A port nobody listens on right now and no other broker of this process owns.
    static func freePort() throws -> Int {
        for _ in 0..<100 {
            let port = try unboundPort()
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw BrokerError("no free port")
    }

    private static func unboundPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw BrokerError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on the loopback port.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A broker that could not be set up.
struct BrokerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
