import Foundation
import JameyKernel
import JameyTestKit

/// A kernel with fault_c running isolated (`isolation: process`) and hello_c in process beside
/// it, from the real built libraries and the real jamey-plugin-runner.
struct IsolatedKernel: Sendable {
    let test: TestKernel
    var kernel: Kernel { test.kernel }

    /// Fast restarts with a high quarantine threshold, so a test can crash fault_c many times.
    static let quickRestarts = "delay_ms: 10\nmax_delay_ms: 100\nsteps: 3\nwindow_s: 3600\nmax_restarts: 1000"
    /// 256 MiB of address space; a handler running 3 s is hung (filling 256 MiB takes a loaded
    /// machine over a second).
    static let testLimits = "memory_mb: 256\nhandler_timeout_ms: 3000"

    /// The config of one plugin `name`, the library at `path`, with `isolation` and nothing else.
    static func yaml(only name: String, path: String, isolation: String = "process") -> String {
        TestKernel.yaml(plugins: []).replacingOccurrences(of: "plugins:\n  {}\n", with: "plugins:\n")
            + "  \(name):\n    path: \"\(path)\"\n    isolation: \(isolation)\n"
    }

    /// The config: fault_c with `isolation`, `limits` and `restart` as given (YAML lines), hello_c,
    /// and the api plugin on a free port when `api` is set.
    static func yaml(
        isolation: String = "process", limits: String = testLimits, restart: String = quickRestarts, api: Bool = false
    ) throws -> String {
        func indent(_ text: String, _ by: Int) -> String {
            text.split(separator: "\n").map { String(repeating: " ", count: by) + $0 }.joined(separator: "\n")
        }
        var plugins: [TestKernel.Plugin] = [.init("hello_c", path: try TestPlugins.helloC())]
        if api {
            plugins.append(
                .init("api", path: try TestPlugins.library("API"), required: true, config: "port: 0\naccess_log: false"))
        }
        let fault =
            "  fault_c:\n    path: \"\(try TestPlugins.faultC())\"\n    isolation: \(isolation)\n    limits:\n\(indent(limits, 6))\n    restart:\n\(indent(restart, 6))\n    config:\n      greeting: isolated hello\n"
        return TestKernel.yaml(plugins: plugins) + fault
    }

    /// Boots a kernel from ``yaml(isolation:limits:restart:api:)``, runs `body`, shuts it down.
    static func with(
        limits: String = testLimits, restart: String = quickRestarts, api: Bool = false,
        _ body: (IsolatedKernel) async throws -> Void
    ) async throws {
        let text = try yaml(limits: limits, restart: restart, api: api)
        let test = try await onThread { try TestKernel.boot(yaml: text) }
        do {
            try await body(IsolatedKernel(test: test))
            await onThread { test.shutdown() }
        } catch {
            await onThread { test.shutdown() }
            throw error
        }
    }

    /// Sends a bus request (off the test pool) and returns the reply.
    func ask(_ topic: String, _ payload: [UInt8] = []) async throws -> BusMessage {
        let bus = test.bus
        return try await onThread { () throws(BusError) -> BusMessage in
            try bus.requestSync(BusMessage(topic: topic, payload: payload), timeout: .seconds(30))
        }
    }

    /// fault_c's process id, or nil while it answers 503.
    func faultPID() async throws -> Int32? {
        let reply = try await ask("fault_c.pid")
        return reply.status == "503" ? nil : Int32(reply.text)
    }

    /// Waits until fault_c's restart number `restarts` has finished (its start returned: every
    /// subscription taken over; a topic subscribed early answers before that) and it answers from
    /// a process other than `old`.
    func restarted(from old: Int32?, restarts: Int) async -> Int32? {
        var pid: Int32?
        _ = await eventually(timeout: .seconds(60), polling: .milliseconds(10)) {
            guard (kernel.isolation(of: "fault_c")?.restarts ?? 0) >= restarts else { return false }
            pid = try? await faultPID()
            return pid != nil && pid != old
        }
        return pid
    }
}

extension BusMessage {
    /// The `status` header of a reply, if any.
    var status: String? { headers.first { $0.key == "status" }?.value }
    /// The payload as text.
    var text: String { String(decoding: payload, as: UTF8.self) }
}
