import Foundation
import GRDB
import JameyGRDB
import JameyTestKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What a client is told when a plugin's database fails, and what only the log keeps: classified
/// by SQLite's result code, and end to end through a real `jamey serve` whose databases are
/// broken or locked from outside.
@Suite struct DatabaseFailureTests {
    @Test(
        arguments: [
            (ResultCode.SQLITE_FULL, 507, "storage-full", nil),
            (.SQLITE_IOERR_WRITE, 500, "storage", nil),
            (.SQLITE_BUSY, 503, "storage-busy", 1),
            (.SQLITE_LOCKED_SHAREDCACHE, 503, "storage-busy", 1),
            (.SQLITE_READONLY, 503, "storage-unavailable", 5),
            (.SQLITE_READONLY_DBMOVED, 500, "storage-unavailable", nil),
            (.SQLITE_CANTOPEN, 503, "storage-unavailable", 5),
            (.SQLITE_CORRUPT, 500, "storage-damaged", nil),
            (.SQLITE_NOTADB, 500, "storage-damaged", nil),
            (.SQLITE_ERROR, 500, "storage", nil),
        ] as [(ResultCode, Int, String, Int?)])
    func aResultCodeGivesItsStatusAndKeepsTheSQLOutOfTheDetail(
        code: ResultCode, status: Int, slug: String, retryAfter: Int?
    ) {
        let error = DatabaseError(
            resultCode: code, message: "secret message", sql: "SELECT token FROM keys WHERE id = ?", arguments: ["k1"])
        let failure = DatabaseFailure(error, database: "soul")
        #expect(failure.status == status)
        #expect(failure.slug == slug)
        #expect(failure.retryAfterSeconds == retryAfter)
        #expect(failure.detail.contains("the soul database"))
        #expect(failure.detail.contains("(incident \(failure.incident); the server log has the cause)"))
        for secret in ["SELECT", "secret message", "keys", "k1"] { #expect(!failure.detail.contains(secret)) }
        #expect(failure.logMessage.contains(failure.incident))
        #expect(failure.logMessage.contains("SELECT token FROM keys") && failure.logMessage.contains("secret message"))
    }

    /// A request id goes into replies and log lines only when the gateway could have made it.
    @Test func anUnprintableRequestIDIsNotUsedAsTheIncident() {
        let error = DatabaseError(resultCode: .SQLITE_ERROR)
        #expect(DatabaseFailure(error, database: "soul", requestID: "req-7").incident == "req-7")
        for hostile in ["a\nb", "", String(repeating: "x", count: 129), "é"] {
            let failure = DatabaseFailure(error, database: "soul", requestID: hostile)
            #expect(failure.incident.count == 8 && failure.incident.allSatisfy(\.isHexDigit), "\(hostile)")
        }
    }

    /// Only SQLite's failures make a plugin's health say its database is failing.
    @Test func onlySQLitesFailuresCountAsTheDatabaseFailing() {
        struct Odd: Error {}
        let recent = RecentDatabaseFailures()
        var logged: [String] = []
        _ = recent.failure(Odd(), database: "soul", requestID: nil) { logged.append($0) }
        #expect(recent.summary == nil)
        let full = recent.failure(DatabaseError(resultCode: .SQLITE_FULL), database: "soul", requestID: "r1") {
            logged.append($0)
        }
        #expect(full.status == 507)
        #expect(recent.summary?.hasPrefix("database failing: 1 failure(s) since start, the last 0 s ago (storage-full: ") == true)
        #expect(logged.count == 2 && logged[1].hasPrefix("soul request failed: database failure r1 (storage-full, answered 507)"))
    }

    @Test func anErrorThatIsNotSQLitesIsAPlain500() {
        struct Odd: Error {}
        let failure = DatabaseFailure(Odd(), database: "memory")
        #expect(failure.status == 500 && failure.slug == "storage")
        #expect(failure.incident.count == 8 && failure.incident.allSatisfy(\.isHexDigit))
        #expect(DatabaseFailure(Odd(), database: "memory").incident != failure.incident)
    }

    /// Each plugin's table is renamed from outside: the request that reads or writes it fails
    /// with a problem citing the request's id and no SQL, the log has the cause under that id,
    /// and once the table is back the same request succeeds.
    @Test func aBrokenDatabaseAnswersWithTheRequestIdAndTheLogHasTheCause() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-db-failure")
        let node = try await Self.serve(dir)
        defer { _ = node.process.stop(SIGKILL) }
        #expect(try await node.send("PUT", "/v1/soul/entities/ann", #"{"trust":0.5}"#).status == 201)
        let created = try await node.send(
            "POST", "/v1/conscience/rules", #"{"name":"kind","description":"be kind","weight":1,"polarity":"virtue"}"#)
        #expect(created.status == 201, "\(created.body)")
        let item = try await node.send("POST", "/v1/memory/items", #"{"layer":"long_term","content":"the sky is blue"}"#)
        let id = try #require((item.body["item"] as? [String: Any])?["id"] as? String, "\(item.body)")

        let cases: [(database: String, file: String, table: String, method: String, path: String, body: String?)] = [
            ("soul", "soul/soul.sqlite", "soul_entities", "GET", "/v1/soul/entities/ann", nil),
            ("conscience", "conscience/conscience.sqlite", "rules", "GET", "/v1/conscience/rules/kind", nil),
            ("memory", "memory/memory.sqlite", "items", "GET", "/v1/memory/items/\(id)", nil),
            ("cache's L3", "cache/cache.sqlite", "entries", "PUT", "/v1/cache/default/k", #"{"value":"v"}"#),
        ]
        for c in cases {
            let queue = try DatabaseQueue(path: "\(dir)/data/\(c.file)")
            try await queue.write { db in try db.execute(sql: "ALTER TABLE \(c.table) RENAME TO \(c.table)_gone") }
            let requestID = "broken-\(c.table)"
            let failed = try await Self.call(port: node.port, c.method, c.path, c.body, requestID: requestID)
            #expect(failed.status == 500, "\(c.database): \(failed.body)")
            #expect(failed.json["type"] as? String == "urn:jamey:problem:storage")
            #expect(
                failed.json["detail"] as? String
                    == "the \(c.database) database failed (incident \(requestID); the server log has the cause)")
            let logged = await eventually(timeout: .seconds(10)) {
                node.log.split(separator: "\n").contains {
                    $0.contains("database failure \(requestID) (storage, answered 500)") && $0.contains(c.table)
                }
            }
            #expect(logged, "\(c.database): no log line for \(requestID)")
            // The plugin's health says so (it said ok while every write failed).
            let plugin = c.file.split(separator: "/")[0]
            let degraded = await eventually(timeout: .seconds(10)) {
                let health = (try? await node.send("GET", "/v1/plugins/\(plugin)"))?.body["health"] as? [String: Any]
                return health?["status"] as? String == "degraded"
                    && (health?["detail"] as? String ?? "").contains("database failing: 1 failure(s) since start")
            }
            #expect(degraded, "\(c.database): health not degraded")
            try await queue.write { db in try db.execute(sql: "ALTER TABLE \(c.table)_gone RENAME TO \(c.table)") }
            let again = try await Self.call(port: node.port, c.method, c.path, c.body)
            #expect((200..<300).contains(again.status), "\(c.database) after repair: \(again.body)")
        }
    }

    /// A writer that holds the soul's database past the busy timeout makes a write answer 503
    /// with `Retry-After` before the gateway's deadline, and the write goes through once it lets go.
    @Test func aDatabaseHeldByAnotherWriterAnswers503WithRetryAfter() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-db-busy")
        let node = try await Self.serve(dir)
        defer { _ = node.process.stop(SIGKILL) }
        #expect(try await node.send("PUT", "/v1/soul/entities/ann", #"{"trust":0.5}"#).status == 201)
        let holder = try DatabaseQueue(path: dir + "/data/soul/soul.sqlite")
        let held = try await holder.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            defer { try? db.execute(sql: "ROLLBACK") }
            return try Self.callBlocking(port: node.port, "PUT", "/v1/soul/entities/ann", #"{"trust":0.9}"#, requestID: nil)
        }
        #expect(held.status == 503, "\(held.body)")
        #expect(held.retryAfter == "1")
        #expect(held.json["type"] as? String == "urn:jamey:problem:storage-busy")
        #expect((held.json["detail"] as? String ?? "").hasPrefix("the soul database is busy; retry shortly (incident "))
        let after = try await node.send("PUT", "/v1/soul/entities/ann", #"{"trust":0.9}"#)
        #expect(after.status == 200 && after.body["trust"] as? Double == 0.9)
    }

    static func serve(_ dir: String) async throws -> ServedNode {
        var plugins: [TestKernel.Plugin] = []
        for name in ["Soul", "Conscience", "Memory"] {
            plugins.append(TestKernel.Plugin(name.lowercased(), path: try TestPlugins.library(name), required: true))
        }
        plugins.append(
            TestKernel.Plugin(
                "cache", path: try TestPlugins.library("Cache"), required: true,
                config: "namespaces:\n  - name: default\n    l3_max_bytes: 4194304\n"))
        return try await ServedNode.start(plugins: plugins, directory: dir, port: try ServedNode.freePort())
    }

    /// An HTTP answer: status, `Retry-After`, body.
    struct Answer {
        var status: Int
        var retryAfter: String?
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    static func call(port: Int, _ method: String, _ path: String, _ body: String?, requestID: String? = nil)
        async throws -> Answer
    {
        try await onThread { try callBlocking(port: port, method, path, body, requestID: requestID) }
    }

    /// One request with the admin key, waited for on this thread (a caller holding a database
    /// lock on its own thread).
    static func callBlocking(port: Int, _ method: String, _ path: String, _ body: String?, requestID: String?) throws
        -> Answer
    {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: 30)
        request.httpMethod = method
        request.setValue("Bearer \(ServedNode.adminKey)", forHTTPHeaderField: "Authorization")
        if let requestID { request.setValue(requestID, forHTTPHeaderField: "X-Request-Id") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        let done = DispatchSemaphore(value: 0)
        let result = LockedBox<Answer?>(nil)
        URLSession.shared.dataTask(with: request) { data, response, _ in
            let http = response as? HTTPURLResponse
            result.withLock {
                $0 = Answer(
                    status: http?.statusCode ?? 0, retryAfter: http?.value(forHTTPHeaderField: "Retry-After"),
                    body: String(decoding: data ?? Data(), as: UTF8.self))
            }
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 30) == .success, let answer = result.withLock({ $0 }) else {
            throw TestKitError("no answer to \(method) \(path)")
        }
        return answer
    }
}
