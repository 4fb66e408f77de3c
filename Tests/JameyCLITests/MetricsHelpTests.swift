import Foundation
import JameyTestKit
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What an operator's Prometheus (and `promtool check metrics`) reads beside each series.
@Suite struct MetricsHelpTests {
    /// Every metric family of a real `jamey serve` with the plugins the default config enables
    /// has a `# HELP` line with text: 83 of 87 families had none, since the kit never passed
    /// the help its ABI takes (`PluginManifest.metricHelp` now does).
    @Test func everyFamilyHasHelpText() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-help")
        var plugins: [TestKernel.Plugin] = [.init("hello_c", path: try TestPlugins.helloC())]
        for (name, library) in [
            ("hello_swift", "HelloSwift"), ("memory", "Memory"), ("conscience", "Conscience"), ("soul", "Soul"),
            ("consciousness", "Consciousness"), ("cache", "Cache"),
        ] {
            plugins.append(.init(name, path: try TestPlugins.library(library)))
        }
        let node = try await ServedNode.start(plugins: plugins, directory: dir, port: try ServedNode.freePort())
        defer { _ = node.process.stop(SIGKILL) }
        // A request so the gateway's request series exist.
        #expect(try await node.send("GET", "/v1/plugins").status == 200)
        let text = try await onThread { () throws -> String in
            let url = URL(string: "http://127.0.0.1:\(node.port)/metrics")!
            var request = URLRequest(url: url)
            request.setValue("Bearer \(ServedNode.adminKey)", forHTTPHeaderField: "Authorization")
            let done = DispatchSemaphore(value: 0)
            let body = LockedBox("")
            URLSession.shared.dataTask(with: request) { data, _, _ in
                body.withLock { $0 = String(decoding: data ?? Data(), as: UTF8.self) }
                done.signal()
            }.resume()
            _ = done.wait(timeout: .now() + 30)
            return body.value
        }
        let lines = text.split(separator: "\n")
        let families = lines.filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
        var help: [String: String] = [:]
        for line in lines where line.hasPrefix("# HELP ") {
            let parts = line.split(separator: " ", maxSplits: 3)
            help[String(parts[2])] = parts.count > 3 ? String(parts[3]) : ""
        }
        #expect(families.count > 60, "\(families.count) families")
        for prefix in ["api_", "memory_", "conscience_", "soul_", "consciousness_", "cache_", "hello_swift_", "jamey_"] {
            #expect(families.contains { $0.hasPrefix(prefix) }, "no \(prefix) family")
        }
        let without = families.filter { help[$0, default: ""].isEmpty }
        #expect(without.isEmpty, "families without help: \(without)")
        #expect(help["memory_items"] == "Items held now, by layer")
    }
}
