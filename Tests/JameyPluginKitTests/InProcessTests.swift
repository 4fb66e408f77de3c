import Foundation
import HelloSwift
import JameyPluginKit
import JameyTestKit
import Testing

@testable import JameyKernel

/// Swift plugin types booted in-process against a real kernel: no library is built or loaded
/// with dlopen, yet the kernel reaches them through the C ABI as it does any plugin.
@Suite struct InProcessTests {
    /// A plugin defined in the test: answers `<name>.echo` with its configured prefix.
    final class Echo: JameyPlugin, SnapshotCapable {
        struct Configuration: Decodable, Sendable {
            var prefix: String
        }
        static let manifest = PluginManifest(
            name: "echo", version: "1.0.0", description: "Echoes with a prefix",
            configuration: [.string("prefix", default: "echo: ", length: 1...16, description: "Put before the payload")]
        )
        let context: PluginContext
        let configuration: Configuration
        init(context: PluginContext, configuration: Configuration) async throws {
            self.context = context
            self.configuration = configuration
        }
        func start() async throws {
            let prefix = configuration.prefix
            try context.bus.respond("echo.echo") { request in .text(prefix + request.text) }
            // Answers after 300 ms (a request being answered when the plugin stops), or, for a
            // payload starting "held", once the test opens ``held``.
            try context.bus.respond("echo.slow") { request in
                Self.entered.withLock { $0.insert(request.text) }
                if request.text.hasPrefix("held") {
                    await Self.held.wait()
                } else if request.text.hasPrefix("stuck") {
                    await Self.stuck.wait()
                } else {
                    try await Task.sleep(for: .milliseconds(300))
                }
                return .text(prefix + request.text)
            }
        }
        /// The payloads whose `echo.slow` handler has begun.
        static let entered = LockedBox<Set<String>>([])
        /// Holds the handlers of payloads starting "held".
        static let held = Gate()
        /// Holds the handlers of payloads starting "stuck".
        static let stuck = Gate()

        /// Suspends its waiters until opened; open for good after.
        actor Gate {
            private var isOpen = false
            private var waiters: [CheckedContinuation<Void, Never>] = []

            func wait() async {
                guard !isOpen else { return }
                await withCheckedContinuation { waiters.append($0) }
            }

            func open() {
                isOpen = true
                for waiter in waiters { waiter.resume() }
                waiters = []
            }
        }
        // Empty: so the kernel can stop and start it again by a restore (one of the process's
        // eight in-process plugin types serves both tests).
        func snapshot(to directory: String) async throws {}
        func restore(from directory: String) async throws {}
    }

    /// A request being answered when the plugin is stopped (here by a restore, which starts it
    /// again) is answered: the kit's stop waits for it. The reply was dropped (its host context
    /// gone), and the requester waited out its timeout.
    @Test func aRequestBeingAnsweredAtStopIsAnswered() async throws {
        let k = try TestKernel.boot(inProcess: [.init("echo", entryPoint: try inProcessEntryPoint(for: Echo.self))])
        defer { k.shutdown() }
        let payload = "x" + UUID().uuidString
        let message = BusMessage(topic: "echo.slow", payload: Array(payload.utf8))
        let bus = k.bus
        let answer = Task { try await bus.request(message, timeout: .seconds(60)) }
        #expect(await eventually(timeout: .seconds(60)) { Echo.entered.value.contains(payload) })
        let snapshot = try TemporaryDirectory.make(prefix: "jamey-slow")
        let kernel = k.kernel
        try await onThread { try kernel.restore(plugin: "echo", from: snapshot) }
        let reply = try await answer.value
        #expect(String(decoding: reply.payload, as: UTF8.self) == "echo: " + payload)
        #expect(kernel.plugin(named: "echo")?.state == .started)
    }

    /// The kit's wait for requests being answered at stop takes half of what the kernel's stop
    /// deadline leaves (`hook_time_left`), so a request that never ends does not cost the plugin:
    /// a fixed 2 s outlived a deadline of 1 s, and the plugin was abandoned.
    @Test func aRequestThatNeverEndsDoesNotOutliveTheStopDeadline() async throws {
        let k = try TestKernel.boot(
            inProcess: [.init("echo", entryPoint: try inProcessEntryPoint(for: Echo.self))],
            extra: "hooks:\n  stop_timeout_ms: 1000\n")
        defer { k.shutdown() }
        let payload = "stuck " + UUID().uuidString
        let bus = k.bus
        let asked = Task {
            try? await bus.request(BusMessage(topic: "echo.slow", payload: Array(payload.utf8)), timeout: .seconds(10))
        }
        #expect(await eventually(timeout: .seconds(60)) { Echo.entered.value.contains(payload) })
        let snapshot = try TemporaryDirectory.make(prefix: "jamey-stuck")
        let kernel = k.kernel
        let restored = await onThread { () -> String? in
            do {
                try kernel.restore(plugin: "echo", from: snapshot)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(restored == nil, "\(restored ?? "")")
        #expect(kernel.plugin(named: "echo")?.state == .started, "\(kernel.plugin(named: "echo")?.failure ?? "")")
        await Echo.stuck.open()
        _ = await asked.value
    }

    /// A responder slower than its callers sheds what it cannot take: past `maxAnswering`
    /// requests being answered, one more is answered at once with 503 instead of waiting in a
    /// task of its own (12 000 such tasks took 133 MB in a soak run).
    @Test func aRespondersRequestsInFlightAreCapped() async throws {
        // A queue larger than the requests sent: with the default (1 024, below the 1 224 sent)
        // a bus worker slowed by a loaded machine let the queue fill and a request was refused
        // "queue full" before the kit's cap was reached (a fresh-clone CI run).
        let k = try TestKernel.boot(
            inProcess: [.init("echo", entryPoint: try inProcessEntryPoint(for: Echo.self))],
            extra: "bus:\n  queue_capacity: 4096\n")
        defer { k.shutdown() }
        let bus = k.bus
        let total = PluginBus.maxAnswering + 200
        // The handlers are held until one request has been shed (or, if none is, a minute has
        // passed), however slowly a loaded machine sends the requests.
        let shedSoFar = LockedBox<Int>(0)
        let opener = Task {
            _ = await eventually(timeout: .seconds(60)) { shedSoFar.value > 0 }
            await Echo.held.open()
        }
        let statuses = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<total {
                group.addTask {
                    let message = BusMessage(topic: "echo.slow", payload: Array("held \(i)".utf8))
                    let reply = try await bus.request(message, timeout: .seconds(120))
                    let status = reply.headers.last { $0.key == "status" }?.value ?? "200"
                    if status == "503" { shedSoFar.withLock { $0 += 1 } }
                    return status
                }
            }
            var all: [String] = []
            for try await status in group { all.append(status) }
            return all
        }
        await opener.value
        let shed = statuses.filter { $0 == "503" }.count
        #expect(shed >= 1, "\(Set(statuses))")
        #expect(statuses.filter { $0 == "200" }.count >= PluginBus.maxAnswering / 2)
        #expect(shed + statuses.filter { $0 == "200" }.count == total)
    }

    /// Asks without blocking a Swift concurrency pool thread: `respond` handlers run on that pool.
    func request(_ k: TestKernel, _ topic: String, _ text: String, headers: [BusHeader] = []) async throws -> String {
        let message = BusMessage(topic: topic, payload: Array(text.utf8), headers: headers)
        let reply = try await k.bus.request(message, timeout: .seconds(30))
        return String(decoding: reply.payload, as: UTF8.self)
    }

    @Test func helloSwiftRunsInProcessBesideTheCLibrary() async throws {
        let k = try TestKernel.boot(
            inProcess: [.init("hello_swift", entryPoint: try inProcessEntryPoint(for: HelloSwift.self))],
            plugins: [.init("hello_c", path: try TestPlugins.helloC())])
        defer { k.shutdown() }
        let status = try #require(k.kernel.plugin(named: "hello_swift"))
        #expect(status.state == .started)
        #expect(status.path == k.directory + "/in-process/hello_swift")
        // A bus request into the Swift plugin, which calls the C library's service table.
        #expect(try await request(k, "hello.swift.sum", "40, 2") == "42")
        // And one that the Swift plugin answers by asking the C library, over the bus.
        let greet = try await request(k, "hello.swift.greet", "", headers: [BusHeader(key: "http.param.name", value: "Ada")])
        #expect(greet == #"{"greeting":"Hello, Ada!"}"#)
        let text = k.kernel.metrics.exposition()
        #expect(text.contains(#"hello_swift_sums_total{plugin="hello_swift",kind="inline"} 1"#), "\(text)")
    }

    @Test func oneTypeServesTwoKernelsWithTheirOwnConfig() async throws {
        let entry = try inProcessEntryPoint(for: Echo.self)
        let again = try inProcessEntryPoint(for: Echo.self)
        #expect(unsafeBitCast(entry, to: UnsafeRawPointer.self) == unsafeBitCast(again, to: UnsafeRawPointer.self))
        let a = try TestKernel.boot(inProcess: [.init("echo", entryPoint: entry, config: "prefix: \"a: \"")])
        defer { a.shutdown() }
        let b = try TestKernel.boot(inProcess: [.init("echo", entryPoint: entry, config: "prefix: \"b: \"")])
        defer { b.shutdown() }
        #expect(try await request(a, "echo.echo", "hi") == "a: hi")
        #expect(try await request(b, "echo.echo", "hi") == "b: hi")
    }

    @Test func aBadConfigStopsStartUpWithASentence() throws {
        let entry = try inProcessEntryPoint(for: Echo.self)
        var thrown: (any Error)?
        do {
            let k = try TestKernel.boot(inProcess: [.init("echo", entryPoint: entry, config: "prefix: \"\"")])
            k.shutdown()
        } catch { thrown = error }
        let message = thrown.map { String(describing: $0) } ?? "no error"
        #expect(message.contains("plugins.echo.config.prefix"), "\(message)")
    }

    @Test func shutdownForgetsThePath() throws {
        let k = try TestKernel.boot(inProcess: [.init("echo", entryPoint: try inProcessEntryPoint(for: Echo.self))])
        let path = k.directory + "/in-process/echo"
        #expect(InProcessPlugins.entryPoint(at: path) != nil)
        k.shutdown()
        #expect(InProcessPlugins.entryPoint(at: path) == nil)
    }
}
