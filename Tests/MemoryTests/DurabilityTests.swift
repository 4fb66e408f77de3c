import Foundation
import GRDB
import JameyTestKit
import Synchronization
import Testing

@testable import MemoryPlugin

#if canImport(Glibc)
    import Glibc
#endif

/// `kill -9` of a real `jamey serve` during a stream of stores: every acknowledged item is in
/// the database afterwards.
@Suite struct DurabilityTests {
    @Test func everyAcknowledgedStoreSurvivesKill9() async throws {
        let ids = try await Self.storeSixtyThenKill(prefix: "jamey-memory-kill", memory: nil) {
            "acknowledged item \($0) with its own words \($0 * 7919)"
        }
        #expect(ids.2, "the server did not exit after SIGKILL")
        #expect(ids.0.count == 60)
        let reopened = try MemoryStore(path: ids.1)
        let found = try await reopened.list(.init(), limit: 1000).map(\.0.id)
        #expect(Set(found).isSuperset(of: ids.0))
    }

    /// `synchronous: full` reaches the writer's connection: GRDB's pool sets `NORMAL` there once
    /// WAL is on, after the connection's own setup, so the pragma is set after the pool opens
    /// (set in that setup, it read back 1). An unknown value is refused at start, naming the key.
    @Test func synchronousFullSyncsEveryCommitOnTheWriter() async throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let full = try decoder.decode(MemoryConfiguration.self, from: Data(#"{"synchronous": "full"}"#.utf8)).settings()
        #expect(full.syncEveryCommit)
        func writerSynchronous(_ store: MemoryStore) throws -> Int? {
            try store.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        }
        let (synced, _, _) = try makeStore(full)
        #expect(try writerSynchronous(synced) == 2, "FULL")
        _ = try await synced.put(item("synced to the disk before the reply"))
        #expect(try await synced.ids("synced disk").count == 1)
        #expect(try writerSynchronous(try makeStore().0) == 1, "NORMAL, the default")
        let refused = await MemoryKernel.refusal(config: "synchronous: sometimes")
        #expect(refused?.contains("synchronous") == true, "\(refused ?? "booted")")
        try await MemoryKernel.with(config: "synchronous: full") { k in
            #expect(try await k.request("memory.items.store", #"{"content":"stored with full sync"}"#).status == 201)
            let found = try await k.request("memory.items.search", #"{"query":"full sync"}"#)
            #expect((found.body["hits"] as? [Any])?.count == 1)
        }
    }

    /// Starts `jamey serve` with the memory plugin (its section `memory`), stores 60 items one
    /// at a time over HTTP (`content(i)` each), then kills the server with SIGKILL.
    /// - Returns: the acknowledged ids, the database's path, and whether the server exited.
    static func storeSixtyThenKill(
        prefix: String, memory: String?, content: @escaping @Sendable (Int) -> String
    ) async throws -> ([String], String, Bool) {
        try await onThread { () throws -> ([String], String, Bool) in
            let dir = try TemporaryDirectory.make(prefix: prefix)
            let port = try Self.freePort()
            let server = try Self.serve(dir: dir, port: port, memory: memory)
            var acknowledged: [String] = []
            for i in 0..<60 {
                let r = try MemoryKernel.send(
                    port: port, method: "POST", path: "/v1/memory/items",
                    body: #"{"content":"\#(content(i))","layer":"long_term"}"#)
                if r.0 == 201, let id = (r.1["item"] as? [String: Any])?["id"] as? String { acknowledged.append(id) }
            }
            server.send(SIGKILL)
            let exited = server.waitForExit(timeout: .seconds(10))
            return (acknowledged, dir + "/data/memory/memory.sqlite", exited)
        }
    }

    /// With `duplicates: allow` a store commits the item and its pending-log row, and the merge
    /// indexes it afterwards: killed right after the last acknowledgement (the newest items still
    /// pending), the restarted store has every item, resumes the merge, and FTS5 holds them all.
    @Test func kill9BetweenCommitAndMergeLosesNothingAndTheMergeResumes() async throws {
        let ids = try await Self.storeSixtyThenKill(prefix: "jamey-memory-kill-pending", memory: "duplicates: allow\n") {
            "pending item \($0) with words \($0 * 7919)"
        }
        #expect(ids.2, "the server did not exit after SIGKILL")
        #expect(ids.0.count == 60)
        var settings = MemorySettings()
        settings.duplicates = .allow
        let reopened = try MemoryStore(path: ids.1, settings: settings)
        #expect(Set(try await reopened.list(.init(), limit: 1000).map(\.0.id)).isSuperset(of: ids.0))
        #expect(try await PendingIndexTests.waitForMerge(reopened) == 0, "the merge did not resume")
        #expect(try await PendingIndexTests.indexed(reopened, "pending") == 60)
        #expect(Set(try await reopened.ids("pending item", limit: 100)) == Set(ids.0))
        #expect(try await PendingIndexTests.ftsIntact(reopened))
    }

    /// Two clients store a continuous stream (single items and batches of 25) while the server
    /// is killed with SIGKILL: after a restart every acknowledged item is there, every batch is
    /// there whole or not at all, and SQLite's integrity check passes.
    @Test func kill9InTheMiddleOfWritesLosesNothingAcknowledgedAndTearsNoBatch() async throws {
        let outcome = try await onThread { () throws -> WriteStream in
            let dir = try TemporaryDirectory.make(prefix: "jamey-memory-kill-stream")
            let port = try Self.freePort()
            let server = try Self.serve(dir: dir, port: port)
            let stream = WriteStream(path: dir + "/data/memory/memory.sqlite")
            let writers = (0..<2).map { writer in
                let thread = Thread { stream.write(writer: writer, port: port) }
                thread.start()
                return thread
            }
            _ = writers
            // Kill once both clients have had many requests acknowledged, with requests in flight.
            guard TestKernel.eventually(timeout: .seconds(120), { stream.acknowledgedRequests >= 200 }) else {
                _ = server.stop(SIGKILL)
                throw TestError("the stream did not get going: \(stream.failure ?? "no failure recorded")")
            }
            server.send(SIGKILL)
            guard server.waitForExit(timeout: .seconds(10)) else { throw TestError("the server did not exit after SIGKILL") }
            guard TestKernel.eventually(timeout: .seconds(60), { stream.stoppedWriters == 2 }) else {
                throw TestError("the clients did not notice the kill")
            }
            // Restart on the same data (another port: the old one may linger): SQLite recovers the
            // WAL; the server answers again.
            let newPort = try Self.freePort()
            let restarted = try Self.serve(dir: dir, port: newPort)
            let acknowledged = stream.acknowledged
            let probe = try MemoryKernel.send(
                port: newPort, method: "GET", path: "/v1/memory/items/\(acknowledged.last ?? "")", body: "")
            let after = try MemoryKernel.send(
                port: newPort, method: "POST", path: "/v1/memory/items", body: #"{"content":"stored after the restart"}"#)
            stream.afterRestart = (probe.0, after.0)
            _ = restarted.stop(SIGTERM)
            return stream
        }
        #expect(outcome.afterRestart?.0 == 200, "an acknowledged item is not readable after the restart")
        #expect(outcome.afterRestart?.1 == 201, "the restarted server did not store")
        let store = try MemoryStore(path: outcome.path)
        let check = try await store.pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        #expect(check == ["ok"])
        let present = try await store.pool.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM items")) }
        let acknowledged = outcome.acknowledged
        #expect(acknowledged.count >= 200)
        #expect(Set(acknowledged).subtracting(present).isEmpty, "acknowledged items are missing after kill -9")
        // Each batch's items carry its own tag: 0 or all 25 of them are present.
        let perBatch = try await store.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT tags, COUNT(*) AS n FROM items WHERE tags LIKE '[\"batch-%' GROUP BY tags"
            ).map { ($0["tags"] as String, $0["n"] as Int) }
        }
        #expect(perBatch.count >= 1)
        let torn = perBatch.filter { $0.1 != WriteStream.batchSize }
        #expect(torn.isEmpty, "torn batches: \(torn)")
        let searchable = try await store.ids("stream", limit: 5)
        #expect(searchable.count == 5, "the FTS5 index lost its rows")
    }

    /// What the writers of ``kill9InTheMiddleOfWritesLosesNothingAcknowledgedAndTearsNoBatch()``
    /// did.
    final class WriteStream: Sendable {
        static let batchSize = 25
        let path: String
        private let state = Mutex(State())
        private struct State {
            var acknowledged: [String] = []
            var requests = 0
            var stopped = 0
            var failure: String?
            var afterRestart: (Int, Int)?
        }

        init(path: String) { self.path = path }

        var acknowledged: [String] { state.withLock { $0.acknowledged } }
        var acknowledgedRequests: Int { state.withLock { $0.requests } }
        var stoppedWriters: Int { state.withLock { $0.stopped } }
        var failure: String? { state.withLock { $0.failure } }
        var afterRestart: (Int, Int)? {
            get { state.withLock { $0.afterRestart } }
            set { state.withLock { $0.afterRestart = newValue } }
        }

        /// Stores until a request fails: every third request a batch, the others single items.
        func write(writer: Int, port: Int) {
            var n = 0
            defer { state.withLock { $0.stopped += 1 } }
            while true {
                n += 1
                let batch = n % 3 == 0
                let words = "stream writer \(writer) request \(n) words \(n * 7919 + writer)"
                let body =
                    batch
                    ? #"{"items":["#
                        + (0..<Self.batchSize).map {
                            #"{"content":"\#(words) part \#($0)","layer":"long_term","tags":["batch-\#(writer)-\#(n)"]}"#
                        }.joined(separator: ",") + "]}"
                    : #"{"content":"\#(words)","layer":"long_term"}"#
                let reply: (Int, [String: Any], String)
                do {
                    reply = try MemoryKernel.send(
                        port: port, method: "POST", path: batch ? "/v1/memory/items/batch" : "/v1/memory/items", body: body)
                } catch {
                    state.withLock { $0.failure = "\(error)" }
                    return
                }
                guard reply.0 == 201 else {
                    state.withLock { $0.failure = "status \(reply.0): \(reply.2)" }
                    return
                }
                let ids =
                    batch
                    ? (reply.1["results"] as? [[String: Any]] ?? []).compactMap {
                        ($0["item"] as? [String: Any])?["id"] as? String
                    }
                    : [(reply.1["item"] as? [String: Any])?["id"] as? String].compactMap { $0 }
                state.withLock {
                    $0.acknowledged += ids
                    $0.requests += 1
                }
            }
        }
    }

    /// Starts `jamey serve` with the memory and api plugins on `port`, data in `dir`, and waits
    /// until it answers.
    /// - Parameters:
    ///   - first: plugins configured (and so started) before the memory plugin.
    ///   - environment: variables set for the server only (through `/usr/bin/env`).
    static func serve(
        dir: String, port: Int, memory: String? = nil, first: [TestKernel.Plugin] = [], environment: [String] = []
    ) throws -> ChildProcess {
        let yaml = TestKernel.yaml(
            plugins: first + [
                .init("memory", path: try TestPlugins.library("Memory"), required: true, config: memory),
                .init(
                    "api", path: try TestPlugins.library("API"), required: true,
                    config:
                        "port: \(port)\nadmin_key: \(MemoryKernel.adminKey)\naccess_log: false\nrate_limits:\n"
                        + "  write: {rate: 0, burst: 1}\n  admin: {rate: 0, burst: 1}\n"
                        // A store slower than the default 5 s on a loaded machine is no loss.
                        + "limits:\n  request_timeout_ms: 60000\n"),
            ])
        try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            "/usr/bin/env", environment + [TestPlugins.buildDirectory + "/jamey", "serve", "--config", dir + "/jamey.yaml"],
            stderrPath: dir + "/stderr.log")
        for _ in 0..<600 {
            if (try? MemoryKernel.send(port: port, method: "GET", path: "/healthz", body: ""))?.0 == 200 { return server }
            usleep(100_000)
        }
        _ = server.stop(SIGKILL)
        throw TestError(
            "jamey serve did not come up: \((try? String(contentsOfFile: dir + "/stderr.log", encoding: .utf8)) ?? "")")
    }

    /// A port nothing listens on right now.
    static func freePort() throws -> Int { try ServedNode.freePort() }
}
