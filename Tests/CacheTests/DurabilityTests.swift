import Foundation
import GRDB
import JameyTestKit
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `kill -9` of a real `jamey serve` while clients put and delete keys of a namespace with an L3:
/// after a restart every acknowledged put is read back with its value, and no acknowledged
/// delete is undone (a cache that came back with a value it had been told to drop would serve
/// it stale).
@Suite struct DurabilityTests {
    /// What the clients had acknowledged when the server died.
    struct Log {
        /// Keys put and not deleted since, with their values.
        var live: [String: String] = [:]
        /// Keys whose delete was acknowledged.
        var deleted: Set<String> = []
        /// Keys whose delete was sent and not answered (either outcome is right).
        var unsure: Set<String> = []
        var requests = 0
        var stopped = 0
    }

    /// The clients' ``Log``, shared.
    final class Shared: Sendable {
        let log = Mutex(Log())
    }

    @Test func kill9DuringPutsAndDeletesLosesNoPutAndUndoesNoDelete() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-cache-kill")
        let port = try RedisServer.freePort()
        let server = try await onThread { try Self.serve(dir: dir, port: port) }
        let shared = Shared()
        for writer in 0..<2 {
            Task.detached { await Self.write(writer: writer, port: port, shared: shared) }
        }
        let going = await eventually(timeout: .seconds(120)) { shared.log.withLock { $0.requests } >= 300 }
        server.send(SIGKILL)
        let exited = await onThread { server.waitForExit(timeout: .seconds(10)) }
        #expect(going, "the clients did not get going")
        #expect(exited, "the server did not exit after SIGKILL")
        #expect(await eventually(timeout: .seconds(60)) { shared.log.withLock { $0.stopped } == 2 }, "the clients did not stop")
        // Restarted on the same data (another port: the old one may linger).
        let newPort = try RedisServer.freePort()
        let restarted = try await onThread { try Self.serve(dir: dir, port: newPort) }
        let (live, deleted) = shared.log.withLock { ($0.live, $0.deleted) }
        #expect(live.count >= 150 && deleted.count >= 50)
        var lost: [String] = []
        var undone: [String] = []
        for (key, value) in live {
            let got = try await Self.send(newPort, "GET", "/v1/cache/main/\(key)")
            if got.0 != 200 || got.1["value"] as? String != value { lost.append(key) }
        }
        for key in deleted where try await Self.send(newPort, "GET", "/v1/cache/main/\(key)").0 != 404 {
            undone.append(key)
        }
        _ = await onThread { restarted.stop(SIGTERM) }
        #expect(lost.isEmpty, "acknowledged puts lost or changed: \(lost.sorted().prefix(10))")
        #expect(undone.isEmpty, "acknowledged deletes undone: \(undone.sorted().prefix(10))")
        let check = try await DatabaseQueue(path: dir + "/data/cache/cache.sqlite").read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check")
        }
        #expect(check == ["ok"])
    }

    /// Puts `w<writer>-<n>` for n = 1, 2, … and after every third put deletes the key put just
    /// before it, until a request fails (the server died).
    static func write(writer: Int, port: Int, shared: Shared) async {
        defer { shared.log.withLock { $0.stopped += 1 } }
        var n = 0
        while true {
            n += 1
            let key = "w\(writer)-\(n)"
            let value = "value of \(key) \(n * 7919)"
            guard let put = try? await send(port, "PUT", "/v1/cache/main/\(key)", #"{"value":"\#(value)"}"#),
                put.0 == 200 || put.0 == 201
            else { return }
            shared.log.withLock {
                $0.live[key] = value
                $0.requests += 1
            }
            guard n % 3 == 0 else { continue }
            let victim = "w\(writer)-\(n - 1)"
            shared.log.withLock {
                $0.live[victim] = nil
                $0.unsure.insert(victim)
            }
            guard let gone = try? await send(port, "DELETE", "/v1/cache/main/\(victim)"), gone.0 == 200 else { return }
            shared.log.withLock {
                $0.unsure.remove(victim)
                $0.deleted.insert(victim)
                $0.requests += 1
            }
        }
    }

    /// One request with the admin key; the status and the JSON object answered.
    static func send(_ port: Int, _ method: String, _ path: String, _ body: String? = nil) async throws -> (
        Int, [String: Any]
    ) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: 30)
        request.httpMethod = method
        request.setValue("Bearer \(CacheKernel.adminKey)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    /// Starts `jamey serve` with the cache (namespace `main`: L1 and L3) and api plugins on
    /// `port`, data in `dir`, and waits until it answers.
    static func serve(dir: String, port: Int) throws -> ChildProcess {
        let yaml = TestKernel.yaml(plugins: [
            .init(
                "cache", path: try TestPlugins.library("Cache"), required: true,
                config: "namespaces:\n  - {name: main, max_bytes: 1048576, l3_max_bytes: 16777216, max_value_bytes: 65536}\n"),
            .init(
                "api", path: try TestPlugins.library("API"), required: true,
                config:
                    "port: \(port)\nadmin_key: \(CacheKernel.adminKey)\naccess_log: false\nrate_limits:\n"
                    + "  read: {rate: 0, burst: 1}\n  write: {rate: 0, burst: 1}\n  admin: {rate: 0, burst: 1}\n"),
        ])
        try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            TestPlugins.buildDirectory + "/jamey", ["serve", "--config", dir + "/jamey.yaml"],
            stderrPath: dir + "/stderr.log")
        let answers = TestKernel.eventually(timeout: .seconds(30)) {
            let done = DispatchSemaphore(value: 0)
            let status = Mutex(0)
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/healthz")!, timeoutInterval: 2)
            request.httpMethod = "GET"
            URLSession.shared.dataTask(with: request) { _, response, _ in
                status.withLock { $0 = (response as? HTTPURLResponse)?.statusCode ?? 0 }
                done.signal()
            }.resume()
            done.wait()
            return status.withLock { $0 } == 200
        }
        guard answers else {
            _ = server.stop(SIGKILL)
            throw ServeFailure(
                description:
                    "jamey serve did not come up: \((try? String(contentsOfFile: dir + "/stderr.log", encoding: .utf8)) ?? "")"
            )
        }
        return server
    }

    struct ServeFailure: Error, CustomStringConvertible {
        let description: String
    }
}
