import Foundation
import GRDB
import JameyTestKit
import Testing

/// `POST/GET/DELETE /v1/keys` and the bootstrap admin key.
@Suite struct KeyTests {
    @Test func createdKeyIsShownOnceAndListedWithoutSecrets() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let created = try await HTTP.post(
                k.port, "/v1/keys", key: APIKernel.adminKey,
                body: #"{"name":"ci","scope":"write","expires_at":"2099-01-01T00:00:00Z"}"#)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let key = try #require(created.json["key"] as? String)
            #expect(key.hasPrefix("jmy_\(id)_"))
            #expect(created.header("location") == "/v1/keys/" + id)
            #expect(created.json["scope"] as? String == "write")
            #expect(created.json["expires_at"] as? String == "2099-01-01T00:00:00Z")
            let list = try await HTTP.get(k.port, "/v1/keys", key: APIKernel.adminKey)
            #expect(list.status == 200)
            let keys = try #require(list.json["keys"] as? [[String: Any]])
            #expect(keys.contains { $0["id"] as? String == id && $0["name"] as? String == "ci" })
            #expect(!list.text.contains(String(key.dropFirst(21))), "no secret in the listing")
            #expect(!list.text.contains("digest"))
            // The database holds only a digest.
            let database = try Data(contentsOf: URL(fileURLWithPath: k.dataDirectory + "/keys.sqlite"))
            #expect(database.range(of: Data(key.utf8)) == nil)
        }
    }

    /// A key change is copied from the WAL into the database file at once: the keys lived only
    /// in `keys.sqlite-wal` until a clean stop, and a damaged WAL lost them all.
    @Test func aCreatedKeyIsInTheDatabaseFileNotOnlyInItsWAL() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let created = try await HTTP.post(
                k.port, "/v1/keys", key: APIKernel.adminKey, body: #"{"name":"kept","scope":"read"}"#)
            #expect(created.status == 201, "\(created.text)")
            let id = try #require(created.json["id"] as? String)
            let file = try Data(contentsOf: URL(fileURLWithPath: k.dataDirectory + "/keys.sqlite"))
            #expect(file.range(of: Data(id.utf8)) != nil, "the key's row is not in keys.sqlite")
            let wal = try FileManager.default.attributesOfItem(atPath: k.dataDirectory + "/keys.sqlite-wal")
            #expect((wal[.size] as? Int) == 0)
        }
    }

    /// `GET /v1/keys` comes in pages (newest first, `next` naming where the next starts) and
    /// filters by state; a bad parameter or an unknown `after` is a 400 naming it.
    @Test func keysAreListedInPagesAndByState() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let admin = APIKernel.adminKey
            var created: [String] = []
            for _ in 0..<5 { created.append(try await k.createKey(scope: "read").id) }
            let revoked = created[1]
            let r = try await HTTP.request(k.port, "DELETE", "/v1/keys/" + revoked, headers: ["X-API-Key": admin])
            #expect(r.status == 204)
            let expiring = try await k.createKey(scope: "read", extra: #","ttl_seconds":1"#).id

            // Every key, two at a time: each once, newest first, the last page without next.
            var seen: [String] = []
            var after: String?
            var pages = 0
            repeat {
                let page = try await HTTP.get(k.port, "/v1/keys?limit=2" + (after.map { "&after=" + $0 } ?? ""), key: admin)
                #expect(page.status == 200, "\(page.text)")
                let keys = try #require(page.json["keys"] as? [[String: Any]])
                #expect(keys.count <= 2)
                seen += keys.compactMap { $0["id"] as? String }
                after = page.json["next"] as? String
                #expect(after == nil || after == seen.last)
                pages += 1
            } while after != nil && pages < 10
            #expect(Set(seen) == Set(created + [expiring]), "\(seen)")
            #expect(seen.count == 6)
            #expect(pages == 3)
            let all = try await HTTP.get(k.port, "/v1/keys", key: admin)
            #expect((all.json["keys"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == seen)
            #expect(all.json["next"] == nil)

            func ids(_ query: String) async throws -> [String] {
                let page = try await HTTP.get(k.port, "/v1/keys?" + query, key: admin)
                #expect(page.status == 200, "\(query): \(page.text)")
                return (page.json["keys"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            }
            #expect(try await ids("state=revoked") == [revoked])
            #expect(Set(try await ids("state=active")) == Set(created + [expiring]).subtracting([revoked]))
            _ = await eventually(timeout: .seconds(30)) { (try? await ids("state=expired")) == [expiring] }
            #expect(try await ids("state=expired") == [expiring])
            #expect(!(try await ids("state=active")).contains(expiring))

            for query in ["limit=0", "limit=1001", "limit=x", "state=gone", "after=ffffffffffffffff"] {
                let bad = try await HTTP.get(k.port, "/v1/keys?" + query, key: admin)
                #expect(bad.status == 400, "\(query): \(bad.text)")
                #expect(bad.text.contains(String(query.prefix { $0 != "=" })), "\(query): \(bad.text)")
            }
        }
    }

    @Test func invalidKeyRequestsAre400Or415() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let admin = APIKernel.adminKey
            let bad = [
                "not json", #"{"name":"x"}"#, #"{"name":"x","scope":"root"}"#, #"{"name":"","scope":"read"}"#,
                #"{"name":"x","scope":"read","expires_at":"yesterday"}"#,
                #"{"name":"x","scope":"read","expires_at":"2001-01-01T00:00:00Z"}"#,
                #"{"name":"x","scope":"read","expires_at":"2099-01-01T12:99:00Z"}"#,
                #"{"name":"x","scope":"read","ttl_seconds":0}"#, #"{"name":"x","scope":"read","extra":1}"#, "[]",
                // A member named twice (read first-wins here, last-wins elsewhere); names that
                // display as something else (a C1 control, a bidirectional override, a line separator).
                #"{"name":"x","scope":"admin","scope":"read"}"#, #"{"name":"a\u009bb","scope":"read"}"#,
                #"{"name":"a\u202eb","scope":"read"}"#, #"{"name":"a\u2028b","scope":"read"}"#,
            ]
            for body in bad {
                let r = try await HTTP.post(k.port, "/v1/keys", key: admin, body: body)
                #expect(r.status == 400, "\(body): \(r.text)")
                #expect(r.header("content-type") == "application/problem+json")
            }
            let wrongType = try await HTTP.post(
                k.port, "/v1/keys", key: admin, body: #"{"name":"x","scope":"read"}"#, type: "text/plain")
            #expect(wrongType.status == 415)
            #expect(wrongType.json["type"] as? String == "urn:jamey:problem:unsupported-media-type")
        }
    }

    /// Keys revoked or expired more than `key_retention_days` ago are deleted at start: listed no
    /// more, and refused as unknown. Those that ended recently stay, refused as revoked.
    @Test func keysEndedLongAgoAreDeleted() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-api-keys")
        let options = APIKernel.Options(
            config: "key_retention_days: 30\n", probe: false, hello: false, environment: ["JAMEY_DATA_DIR": data])
        let created = LockedBox<[String: [String]]>([:])
        try await APIKernel.with(options) { k in
            for name in ["revoked-long-ago", "expired-long-ago", "revoked-lately", "active"] {
                let r = try await HTTP.post(
                    k.port, "/v1/keys", key: APIKernel.adminKey, body: #"{"name":"\#(name)","scope":"read"}"#)
                #expect(r.status == 201, "\(r.text)")
                let pair = [try #require(r.json["id"] as? String), try #require(r.json["key"] as? String)]
                created.withLock { $0[name] = pair }
            }
            for name in ["revoked-long-ago", "revoked-lately"] {
                let id = try #require(created.value[name]?[0])
                let r = try await HTTP.request(k.port, "DELETE", "/v1/keys/\(id)", headers: ["X-API-Key": APIKernel.adminKey])
                #expect(r.status == 204)
            }
        }
        let made = created.value.mapValues { (id: $0[0], key: $0[1]) }
        // Move the ends back in time, as 31 days would.
        let database = try DatabaseQueue(path: data + "/api/keys.sqlite")
        try await database.write { db in
            let past = Date(timeIntervalSinceNow: -31 * 86400)
            try db.execute(
                sql: "UPDATE api_key SET revoked_at = ? WHERE id = ?", arguments: [past, made["revoked-long-ago"]?.id])
            try db.execute(
                sql: "UPDATE api_key SET expires_at = ? WHERE id = ?", arguments: [past, made["expired-long-ago"]?.id])
        }
        try database.close()
        try await APIKernel.with(options) { k in
            let listed = try await HTTP.get(k.port, "/v1/keys", key: APIKernel.adminKey)
            let names = Set((listed.json["keys"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
            #expect(names.isSuperset(of: ["revoked-lately", "active"]), "\(names)")
            #expect(names.isDisjoint(with: ["revoked-long-ago", "expired-long-ago"]), "\(names)")
            let gone = try await HTTP.get(k.port, "/v1/plugins", key: try #require(made["revoked-long-ago"]?.key))
            #expect(gone.status == 401)
            #expect(gone.text.contains("not valid"), "\(gone.text)")
            let lately = try await HTTP.get(k.port, "/v1/plugins", key: try #require(made["revoked-lately"]?.key))
            #expect(lately.text.contains("revoked"), "\(lately.text)")
        }
    }

    @Test func deletingAnUnknownKeyIs404() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let r = try await HTTP.request(
                k.port, "DELETE", "/v1/keys/ffffffffffffffff", headers: ["X-API-Key": APIKernel.adminKey])
            #expect(r.status == 404)
            #expect(r.header("content-type") == "application/problem+json")
        }
    }

    @Test func revokingTheLastAdminKeyIs409UntilAnotherExists() async throws {
        try await APIKernel.with(.init(adminKey: nil, probe: false, hello: false)) { k in
            // No bootstrap key: the generated admin.key is the only admin key.
            let first = try String(contentsOfFile: k.dataDirectory + "/admin.key", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let firstID = String(first.dropFirst(4).prefix(16))
            let refused = try await HTTP.request(
                k.port, "DELETE", "/v1/keys/" + firstID, headers: ["Authorization": "Bearer " + first])
            #expect(refused.status == 409, "\(refused.text)")
            #expect(refused.header("content-type") == "application/problem+json")
            #expect(refused.json["type"] as? String == "urn:jamey:problem:last-admin-key")
            #expect((refused.json["detail"] as? String)?.contains("last active admin key") == true, "\(refused.text)")
            #expect(try await HTTP.get(k.port, "/v1/keys", key: first).status == 200, "the key still works")
            let listed = try await HTTP.get(k.port, "/v1/keys", key: first)
            let keys = try #require(listed.json["keys"] as? [[String: Any]])
            #expect(keys.first { $0["id"] as? String == firstID }?["revoked_at"] is NSNull)

            // A key of another scope changes nothing; a second admin key does.
            let reader = try await HTTP.post(k.port, "/v1/keys", key: first, body: #"{"name":"r","scope":"read"}"#)
            #expect(reader.status == 201)
            #expect(
                try await HTTP.request(
                    k.port, "DELETE", "/v1/keys/" + firstID, headers: ["Authorization": "Bearer " + first]
                ).status == 409)
            let created = try await HTTP.post(k.port, "/v1/keys", key: first, body: #"{"name":"ops","scope":"admin"}"#)
            #expect(created.status == 201, "\(created.text)")
            let second = try #require(created.json["key"] as? String)
            let secondID = try #require(created.json["id"] as? String)
            let revoked = try await HTTP.request(
                k.port, "DELETE", "/v1/keys/" + firstID, headers: ["Authorization": "Bearer " + second])
            #expect(revoked.status == 204, "\(revoked.text)")
            #expect(try await HTTP.get(k.port, "/v1/keys", key: first).status == 401)
            #expect(try await HTTP.get(k.port, "/v1/keys", key: second).status == 200)
            // Now the second one is the last.
            #expect(
                try await HTTP.request(
                    k.port, "DELETE", "/v1/keys/" + secondID, headers: ["Authorization": "Bearer " + second]
                ).status == 409)
        }
    }

    @Test func withABootstrapKeyTheLastStoredAdminKeyMayBeRevoked() async throws {
        // The bootstrap key (config or environment) always works, so nobody is locked out.
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let created = try await HTTP.post(
                k.port, "/v1/keys", key: APIKernel.adminKey, body: #"{"name":"ops","scope":"admin"}"#)
            let id = try #require(created.json["id"] as? String)
            let r = try await HTTP.request(
                k.port, "DELETE", "/v1/keys/" + id, headers: ["Authorization": "Bearer " + APIKernel.adminKey])
            #expect(r.status == 204, "\(r.text)")
        }
    }

    @Test func keyRequestSchemaAcceptsExactlyWhatTheGatewayAccepts() async throws {
        try await APIKernel.with(.init(probe: false, hello: false)) { k in
            let document = try await HTTP.get(k.port, "/openapi.json").json
            let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
            let schema = try #require(schemas?["KeyRequest"] as? [String: Any])
            // Both expiry members at once are invalid by the schema, as the gateway refuses them.
            let not = try #require(schema["not"] as? [String: Any], "KeyRequest has no 'not' clause")
            #expect(Set(not["required"] as? [String] ?? []) == ["expires_at", "ttl_seconds"])
            let operation = (document["paths"] as? [String: Any]).flatMap { ($0["/v1/keys"] as? [String: Any])?["post"] }
            let body = (operation as? [String: Any])?["requestBody"] as? [String: Any]
            #expect(((body?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] != nil)

            let future = "2099-01-01T00:00:00Z"
            let bodies: [[String: Any]] = [
                ["name": "a", "scope": "read"],
                ["name": "b", "scope": "write", "expires_at": future],
                ["name": "c", "scope": "admin", "ttl_seconds": 3600],
                ["name": "d", "scope": "read", "expires_at": future, "ttl_seconds": 3600],
                ["name": "e", "scope": "read", "ttl_seconds": 0],
                ["name": "f", "scope": "read", "ttl_seconds": 315_360_001],
                ["name": "g", "scope": "read", "ttl_seconds": "60"],
                ["name": "", "scope": "read"],
                ["name": String(repeating: "n", count: 101), "scope": "read"],
                ["name": "tab\there", "scope": "read"],
                ["name": "h", "scope": "public"],
                ["name": "i"],
                ["name": "j", "scope": "read", "extra": true],
                ["name": 5, "scope": "read"],
            ]
            for candidate in bodies {
                let text = String(decoding: try JSONSerialization.data(withJSONObject: candidate), as: UTF8.self)
                let valid = SchemaCheck.isValid(candidate, schema)
                let r = try await HTTP.post(k.port, "/v1/keys", key: APIKernel.adminKey, body: text)
                #expect((r.status == 201) == valid, "\(text): schema says \(valid ? "valid" : "invalid"), gateway \(r.status)")
            }
        }
    }

    @Test func withoutABootstrapKeyAnAdminKeyFileIsGenerated() async throws {
        try await APIKernel.with(.init(adminKey: nil, probe: false, hello: false)) { k in
            let path = k.dataDirectory + "/admin.key"
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let key = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(key.hasPrefix("jmy_"))
            #expect(try await HTTP.get(k.port, "/v1/keys", key: key).status == 200)
            #expect(try await HTTP.get(k.port, "/v1/keys", key: APIKernel.adminKey).status == 401)
        }
    }

    @Test func environmentAdminKeyWorksWithJameyServe() async throws {
        // The real binary, so the variable is in the process environment as operators set it.
        let dir = try TemporaryDirectory.make(prefix: "jamey-api-serve")
        let yaml = TestKernel.yaml(
            plugins: [.init("api", path: try TestPlugins.library("API"), required: true, config: "port: 0")], logLevel: "info")
        try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPlugins.buildDirectory + "/jamey")
        process.arguments = ["serve", "--config", dir + "/jamey.yaml"]
        var environment = ProcessInfo.processInfo.environment
        environment["JAMEY_API_ADMIN_KEY"] = "env-admin-key-abcdefghijklmnop"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let log = LineReader(errors.fileHandleForReading)
        do {
            // The bound address is logged: "listening on http://127.0.0.1:PORT".
            let line = try #require(await log.firstLine(containing: "listening on http://", timeout: .seconds(20)))
            let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
            #expect(try await HTTP.get(port, "/v1/keys", key: "env-admin-key-abcdefghijklmnop").status == 200)
            #expect(!FileManager.default.fileExists(atPath: dir + "/data/api/admin.key"))
        } catch {
            process.terminate()
            throw error
        }
        // SIGTERM: graceful stop, exit 0.
        process.terminate()
        let status = await onThread {
            process.waitUntilExit()
            return process.terminationStatus
        }
        #expect(status == 0, "\(log.all)")
    }
}

/// Reads lines from a pipe on a background thread, for waiting on a log line.
final class LineReader: Sendable {
    private let lines = LockedBox<[String]>([])

    init(_ handle: FileHandle) {
        Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                pending.append(chunk)
                while let i = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[pending.startIndex..<i], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...i)
                    self.lines.append(line)
                }
            }
        }.start()
    }

    /// Every line so far.
    var all: String { lines.withLock { $0.joined(separator: "\n") } }

    /// The first line containing `text`, waiting up to `timeout`.
    func firstLine(containing text: String, timeout: Duration) async -> String? {
        var found: String?
        _ = await eventually(timeout: timeout) {
            found = lines.withLock { $0.first { $0.contains(text) } }
            return found != nil
        }
        return found
    }
}
