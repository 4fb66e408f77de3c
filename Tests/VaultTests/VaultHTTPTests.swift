import Foundation
import JameyTestKit
import Testing

/// The routes through the real api plugin: admin scope, listed in /openapi.json.
@Suite(.serialized) struct VaultHTTPTests {
    @Test func theRoutesNeedAnAdminKeyAndAreListedInOpenAPI() async throws {
        try await VaultKernel.with(firstDelay: 3600, http: true) { k in
            let backup = try await k.http("POST", "/v1/vault/backups", body: "{}")
            #expect(backup.status == 200, "\(backup.text)")
            let list = try await k.http("GET", "/v1/vault/snapshots")
            #expect(list.status == 200, "\(list.text)")
            #expect(list.text.contains("\"sources\""))
            let latest = try await k.http("GET", "/v1/vault/snapshots/latest")
            #expect(latest.status == 200, "\(latest.text)")
            #expect(latest.text.contains("conscience.sqlite"))
            let stats = try await k.http("GET", "/v1/vault/stats")
            #expect(stats.status == 200, "\(stats.text)")
            let forget = try await k.http("POST", "/v1/vault/forget", body: #"{"keep_last": 1, "dry_run": true}"#)
            #expect(forget.status == 200, "\(forget.text)")
            let verify = try await k.http("POST", "/v1/vault/verify", body: #"{"subset": "1/2"}"#)
            #expect(verify.status == 200, "\(verify.text)")
            let unknown = try await k.http("GET", "/v1/vault/snapshots/ffffffffffff")
            #expect(unknown.status == 404, "\(unknown.text)")
            let anonymous = try await k.http("GET", "/v1/vault/snapshots", key: nil)
            #expect(anonymous.status == 401)
            let openapi = try await k.http("GET", "/openapi.json")
            for operation in [
                "vaultListSnapshots", "vaultBackupNow", "vaultVerify", "vaultRestore", "vaultForget", "vaultPrune", "vaultStats",
            ] {
                #expect(openapi.text.contains(operation), "\(operation)")
            }
            // What may take minutes is waited for under limits.operation_timeout_ms, and says so in
            // /openapi.json (where `jamey call` reads it, to wait as long).
            let paths = (try JSONSerialization.jsonObject(with: Data(openapi.text.utf8)) as? [String: Any])?["paths"]
            let restore = ((paths as? [String: Any])?["/v1/vault/restore"] as? [String: Any])?["post"] as? [String: Any]
            let statsOperation = ((paths as? [String: Any])?["/v1/vault/stats"] as? [String: Any])?["get"] as? [String: Any]
            #expect(restore?["x-jamey-long-running"] as? Bool == true)
            #expect(statsOperation != nil && statsOperation?["x-jamey-long-running"] == nil)
            let plugin = try await k.http("GET", "/v1/plugins/vault")
            let routes = (try JSONSerialization.jsonObject(with: Data(plugin.text.utf8)) as? [String: Any])?["routes"]
            let long = (routes as? [[String: Any]] ?? []).filter { $0["long_running"] as? Bool == true }
            #expect(
                Set(long.compactMap { $0["operation_id"] as? String })
                    == ["vaultBackupNow", "vaultVerify", "vaultRestore", "vaultForget", "vaultPrune"], "\(plugin.text)")
        }
    }
}
