import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real `jamey serve` process with some plugins and the api plugin on a loopback port, so a
/// test can reach it over HTTP and kill it the hard way (`kill -9` mid-write).
public struct ServedNode: Sendable {
    /// The admin key the api plugin accepts.
    public static let adminKey = "served-node-admin-key-0123456789abcdef"

    /// The process.
    public let process: ChildProcess
    /// The api plugin's port.
    public let port: Int
    /// Where its standard error goes.
    public let logPath: String

    /// Starts `jamey serve` with `plugins` and the api plugin (on `port`, the admin key, no rate
    /// limits) on the data in `directory`, and waits (at most 60 s) until `/healthz` answers.
    /// - Throws: when the process does not come up, with what it logged.
    public static func start(plugins: [TestKernel.Plugin], directory: String, port: Int) async throws -> ServedNode {
        let api = TestKernel.Plugin(
            "api", path: try TestPlugins.library("API"), required: true,
            config:
                "port: \(port)\nadmin_key: \(adminKey)\naccess_log: false\nrate_limits:\n"
                + "  read: {rate: 0, burst: 1}\n  write: {rate: 0, burst: 1}\n  admin: {rate: 0, burst: 1}\n")
        try TestKernel.yaml(plugins: plugins + [api]).write(
            toFile: directory + "/jamey.yaml", atomically: true, encoding: .utf8)
        let logPath = directory + "/stderr.log"
        let process = try ChildProcess(
            TestPlugins.buildDirectory + "/jamey", ["serve", "--config", directory + "/jamey.yaml"], stderrPath: logPath)
        let node = ServedNode(process: process, port: port, logPath: logPath)
        let up = await eventually(timeout: .seconds(60), polling: .milliseconds(100)) {
            guard process.isRunning else { return true }
            return (try? await node.send("GET", "/healthz"))?.status == 200
        }
        guard up, process.isRunning else {
            _ = await onThread { process.stop(SIGKILL) }
            throw TestKitError("jamey serve did not come up: \(node.log)")
        }
        return node
    }

    /// Everything the process logged.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// One request with the admin key (and a JSON body, when given): the status and the JSON
    /// object answered (empty when it is not one).
    public func send(_ method: String, _ path: String, _ body: String? = nil) async throws -> (
        status: Int, body: [String: Any]
    ) {
        try await Self.send(port: port, key: Self.adminKey, method, path, body)
    }

    /// One request to `127.0.0.1:port` with the bearer `key` (and a JSON body, when given): the
    /// status and the JSON object answered (empty when it is not one).
    public static func send(port: Int, key: String, _ method: String, _ path: String, _ body: String? = nil)
        async throws -> (status: Int, body: [String: Any])
    {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: 30)
        request.httpMethod = method
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    /// Sends SIGKILL and waits (at most 10 s) for the process to end.
    /// - Returns: whether it ended.
    public func kill9() async -> Bool {
        let process = self.process
        return await onThread {
            process.send(SIGKILL)
            return process.waitForExit(timeout: .seconds(10))
        }
    }

    /// The paths of `paths` a `GET` does not answer with 404 (what a delete should have removed).
    public func present(_ paths: some Sequence<String>) async throws -> [String] {
        var found: [String] = []
        for path in paths where try await send("GET", path).status != 404 { found.append(path) }
        return found.sorted()
    }

    /// What ``killDuringWrites(clients:until:_:)`` saw.
    public struct KillOutcome: Sendable, CustomStringConvertible {
        /// The clients had done enough before the kill.
        public var going: Bool
        /// The process ended after SIGKILL.
        public var exited: Bool
        /// Every client returned after the kill.
        public var stopped: Bool

        /// All three held.
        public var clean: Bool { going && exited && stopped }

        public var description: String {
            "clients got going: \(going), the process ended after SIGKILL: \(exited), the clients stopped: \(stopped)"
        }
    }

    /// Runs `clients` clients (`write(i)`, each writing until a request fails), sends SIGKILL
    /// once `enough()` holds (at most 120 s), and waits for the clients to return.
    public func killDuringWrites(
        clients: Int, until enough: @escaping @Sendable () -> Bool, _ write: @escaping @Sendable (Int) async -> Void
    ) async -> KillOutcome {
        let finished = Finished()
        for i in 0..<clients {
            Task.detached {
                await write(i)
                finished.count.add(1, ordering: .relaxed)
            }
        }
        let going = await eventually(timeout: .seconds(120), polling: .milliseconds(10)) { enough() }
        let exited = await kill9()
        let ended = await eventually(timeout: .seconds(60), polling: .milliseconds(10)) {
            finished.count.load(ordering: .relaxed) == clients
        }
        return KillOutcome(going: going, exited: exited, stopped: ended)
    }

    /// The clients of ``killDuringWrites(clients:until:_:)`` that returned.
    private final class Finished: Sendable {
        let count = Atomic<Int>(0)
    }

    /// Stops the process with SIGTERM (SIGKILL after 10 s).
    public func stop() async {
        let process = self.process
        _ = await onThread { process.stop(SIGTERM) }
    }

    /// A socket listening on a loopback TCP port of the system's choice, to hold the port taken;
    /// close `descriptor` to free it.
    public static func listeningSocket() throws -> (descriptor: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard listening else {
            close(fd)
            throw TestKitError("cannot listen on a loopback port")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A loopback TCP port nothing listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestKitError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// What the clients of a `kill -9` trial had acknowledged when the server died
/// (``ServedNode/killNineTrial(start:clients:requests:path:matches:write:)``).
public struct AcknowledgedWrites<Value: Sendable>: Sendable {
    /// Keys written and not deleted since, with what their last acknowledged reply showed. A
    /// client drops a key whose last write was sent and not answered (either outcome is right).
    public var live: [String: Value] = [:]
    /// Keys whose delete was acknowledged (a client drops a key from ``live`` before sending it).
    public var deleted: Set<String> = []
    /// Requests acknowledged.
    public var requests = 0

    public init() {}
}

/// What a `kill -9` trial found after the restart.
public struct KillTrial: Sendable {
    /// How the kill went.
    public var outcome: ServedNode.KillOutcome
    /// Keys acknowledged as written and deleted.
    public var written: Int
    public var deleted: Int
    /// Written keys the restarted node does not answer as acknowledged, sorted.
    public var lost: [String]
    /// Deleted paths the restarted node still answers, sorted.
    public var undone: [String]
}

extension ServedNode {
    /// Starts a node, runs `clients` clients writing through it until they have `requests`
    /// acknowledged, kills it with SIGKILL, starts it again on the same data and reads back
    /// every key: each written one must answer 200 with a body `matches` accepts, each deleted
    /// one 404.
    /// - Parameters:
    ///   - start: starts the node (twice, on the same data).
    ///   - path: the path a key is read at.
    ///   - write: client `i`'s loop, writing through the node and noting what was acknowledged,
    ///     until a request fails.
    public static func killNineTrial<Value: Sendable>(
        start: () async throws -> ServedNode, clients: Int = 2, requests: Int = 300,
        path: (String) -> String, matches: ([String: Any], Value) -> Bool,
        write: @escaping @Sendable (Int, ServedNode, LockedBox<AcknowledgedWrites<Value>>) async -> Void
    ) async throws -> KillTrial {
        let node = try await start()
        let log = LockedBox(AcknowledgedWrites<Value>())
        let outcome = await node.killDuringWrites(clients: clients, until: { log.withLock { $0.requests } >= requests }) {
            await write($0, node, log)
        }
        let restarted = try await start()
        let (live, deleted) = log.withLock { ($0.live, $0.deleted) }
        var lost: [String] = []
        for (key, expected) in live {
            let got = try await restarted.send("GET", path(key))
            if got.status != 200 || !matches(got.body, expected) { lost.append(key) }
        }
        let undone = try await restarted.present(deleted.map(path))
        await restarted.stop()
        return KillTrial(outcome: outcome, written: live.count, deleted: deleted.count, lost: lost.sorted(), undone: undone)
    }
}
