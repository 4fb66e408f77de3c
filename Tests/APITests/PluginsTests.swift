import Foundation
import Testing

/// `/v1/plugins` and `/v1/plugins/{name}`.
@Suite struct PluginsTests {
    @Test func listShowsStateVersionDependenciesHealthAndFigures() async throws {
        try await APIKernel.with(.init(probe: false, before: [.init("ghost", path: "/nonexistent/libghost.so")])) { k in
            let (_, key) = try await k.createKey(scope: "read")
            let r = try await HTTP.get(k.port, "/v1/plugins", key: key)
            #expect(r.status == 200)
            let plugins = try #require(r.json["plugins"] as? [[String: Any]])
            #expect(plugins.map { $0["name"] as? String } == ["hello_c", "hello_swift", "ghost", "api"])
            let swift = try #require(plugins.first { $0["name"] as? String == "hello_swift" })
            #expect(swift["state"] as? String == "started")
            #expect(swift["version"] as? String == "1.0.0")
            #expect(swift["abi"] as? String == "1.7")
            #expect((swift["requires"] as? [[String: String]])?.first?["name"] == "hello.greeter")
            #expect((swift["health"] as? [String: String])?["status"] == "ok")
            #expect((swift["routes"] as? [[String: Any]])?.first?["path"] as? String == "/v1/hello/{name}")
            let figures = try #require(swift["figures"] as? [String: Any])
            #expect((figures["hook_seconds"] as? Double ?? 0) > 0, "\(figures)")
            #expect((figures["messages_out"] as? Int ?? 0) >= 1, "hello_swift requested a greeting at start: \(figures)")
            #expect(figures["handler_errors"] as? Int == 0, "\(figures)")
            #expect((swift["routes"] as? [[String: Any]])?.first?["operation_id"] as? String == "helloGreet")
            let c = try #require(plugins.first { $0["name"] as? String == "hello_c" })
            #expect((c["provides"] as? [[String: String]])?.first?["name"] == "hello.greeter")
            let ghost = try #require(plugins.first { $0["name"] as? String == "ghost" })
            #expect(ghost["state"] as? String == "failed")
            #expect((ghost["error"] as? String)?.contains("does not exist") == true)
            let one = try await HTTP.get(k.port, "/v1/plugins/hello_c", key: key)
            #expect(one.status == 200)
            #expect(one.json["name"] as? String == "hello_c")
            #expect(one.json["figures"] is [String: Any])
        }
    }
}
