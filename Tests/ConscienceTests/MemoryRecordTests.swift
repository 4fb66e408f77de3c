import Conscience
import Foundation
import JameyKernel
import JameyPluginKit
import JameyTestKit
import Testing

/// Evaluations land in the real memory plugin's short-term layer (libMemory.so beside the
/// conscience), where a search finds them.
@Suite struct MemoryRecordTests {
    @Test func anEvaluationIsRecordedInTheRealMemoryPlugin() async throws {
        let entry = try inProcessEntryPoint(for: ConsciencePlugin.self)
        let memory = try TestPlugins.library("Memory")
        let test = try await onThread {
            try TestKernel.boot(
                inProcess: [.init("conscience", entryPoint: entry)], plugins: [.init("memory", path: memory)])
        }
        let k = ConscienceKernel(test: test)
        do {
            let r = try await k.request("conscience.evaluate", #"{"text":"I will not cause harm to anyone"}"#)
            #expect(r.status == 200)
            var found: [[String: Any]] = []
            let stored = await eventually(timeout: .seconds(10)) {
                let hits = (try? await k.request("memory.items.search", #"{"query":"harm"}"#))?.json["hits"] as? [[String: Any]]
                found = hits ?? []
                return !found.isEmpty
            }
            #expect(stored, "the evaluation was not found in memory")
            let item = found.first?["item"] as? [String: Any]
            #expect(item?["source"] as? String == "conscience")
            #expect(item?["layer"] as? String == "short_term")
            #expect((item?["content"] as? String)?.contains("I will not cause harm to anyone") == true)
            #expect(item?["tags"] as? [String] == ["conscience"])
        } catch {
            await k.stop()
            throw error
        }
        await k.stop()
    }
}
