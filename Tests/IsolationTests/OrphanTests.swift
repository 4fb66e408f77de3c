import Foundation
import JameyTestKit
import Testing

/// A real `jamey serve` killed with SIGKILL leaves no plugin runner behind.
@Suite("Crash isolation: no orphans")
struct OrphanTests {
    @Test func runnersDieWithAKernelKilledByKill9() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-orphan")
        let yaml = try IsolatedKernel.yaml().replacingOccurrences(of: "level: warning", with: "level: info")
        try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
        let log = dir + "/serve.log"
        let serve = try ChildProcess(
            TestPlugins.buildDirectory + "/jamey", ["serve", "--config", dir + "/jamey.yaml"], stderrPath: log)
        var runner: Int32?
        _ = await eventually(timeout: .seconds(60), polling: .milliseconds(20)) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            guard let line = text.split(separator: "\n").first(where: { $0.contains("fault_c answering in process") }) else {
                return false
            }
            guard let range = line.range(of: "in process ") else { return false }
            runner = Int32(line[range.upperBound...].prefix { $0.isNumber })
            return runner != nil
        }
        let pid = try #require(runner, "no runner line in the log:\n\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        #expect(Self.isAlive(pid))
        #expect(Self.commandLine(pid).contains("jamey-plugin-runner"))
        #expect(Self.parent(of: pid) == serve.pid)

        serve.send(SIGKILL)
        #expect(await onThread { serve.waitForExit(timeout: .seconds(30)) })
        #expect(await eventually(timeout: .seconds(30)) { !Self.isAlive(pid) })
    }

    /// Running, not a zombie waiting for its new parent to reap it.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    static func commandLine(_ pid: Int32) -> String {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }
}
