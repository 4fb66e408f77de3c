import Dispatch
import JameyPluginKit
import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

/// The kit's async `request` from a plugin: a reply may come inside the call (a direct responder),
/// while the requesting task watches for it, or after the task has suspended; each task must get
/// its own reply in every case.
@Suite struct AsyncRequestTests {
    /// Asks `svc.mixed` 300 times at once and answers `asker.run` with how many replies matched.
    final class Asker: JameyPlugin {
        static let manifest = PluginManifest(name: "asker", version: "1.0.0", description: "Asks svc.mixed many times at once")
        let context: PluginContext
        init(context: PluginContext, configuration: NoConfiguration) async throws { self.context = context }
        func start() async throws {
            let bus = context.bus
            try bus.respond("asker.run") { _ in
                let matched = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for n in 0..<300 {
                        group.addTask {
                            let payload: [UInt8] = [UInt8(n % 3), UInt8(n & 0xFF), UInt8(n >> 8)]
                            return try await bus.request("svc.mixed", Outgoing(payload)).payload == payload
                        }
                    }
                    var count = 0
                    for try await ok in group where ok { count += 1 }
                    return count
                }
                return .text("\(matched)")
            }
            // Requests `svc.silent` (never answered within its 60 s) in a task, cancels the task
            // once the request arrived, and answers with what the task got and how long it took.
            // (Asker's, not a plugin type of its own: a test process exports at most 8 in-process.)
            try bus.respond("asker.cancel") { _ in
                let task = Task { try await bus.request("svc.silent", timeout: .seconds(60)) }
                while !AsyncRequestTests.silentArrived.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(5)) }
                let clock = ContinuousClock()
                let began = clock.now
                task.cancel()
                let outcome = await task.result
                let took = clock.now - began
                switch outcome {
                case .success: return .text("answered")
                case .failure(let error): return .text("\(took < .seconds(10) ? "at once" : "late"): \(error)")
                }
            }
        }
    }

    @Test func eachTaskGetsItsOwnReplyWhenItComesAtOnceWhileWatchedOrAfterSuspending() async throws {
        let k = try TestKernel.boot(inProcess: [.init("asker", entryPoint: try inProcessEntryPoint(for: Asker.self))])
        defer { k.shutdown() }
        let responder = k.kernel.bus.endpoint(owner: "mixed")
        // The first payload byte says when to answer: in the handler, from another thread at once,
        // or 2 ms later (past the watch, so the requesting task has suspended).
        try responder.subscribe("svc.mixed") { request in
            let (replyTo, correlationID, payload) = (request.replyTo!, request.correlationID, request.payload)
            let answer: @Sendable () -> Void = {
                _ = try? responder.reply(to: replyTo, correlationID: correlationID, BusMessage(topic: "r", payload: payload))
            }
            switch payload[0] {
            case 0: answer()
            case 1: DispatchQueue.global().async { answer() }
            default: DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(2)) { answer() }
            }
            return true
        }
        let reply = try await k.bus.request(BusMessage(topic: "asker.run"), timeout: .seconds(30))
        #expect(String(decoding: reply.payload, as: UTF8.self) == "300")
        #expect(k.kernel.bus.pendingRequestCount == 0)
    }

    /// Set once `svc.silent`'s request reached the test's responder.
    static let silentArrived = Atomic<Bool>(false)

    /// A task cancelled while it waits for a reply (a plugin's stop cancels what it waits for)
    /// gets an error at once instead of waiting out the request's timeout; the reply that comes
    /// later is dropped.
    @Test func aCancelledRequestEndsAtOnce() async throws {
        let k = try TestKernel.boot(inProcess: [.init("asker", entryPoint: try inProcessEntryPoint(for: Asker.self))])
        defer { k.shutdown() }
        let responder = k.kernel.bus.endpoint(owner: "silent")
        let held = LockedBox<(String, UInt64)?>(nil)
        try responder.subscribe("svc.silent") { request in
            held.set((request.replyTo!, request.correlationID))
            Self.silentArrived.store(true, ordering: .releasing)
            return true
        }
        let reply = try await k.bus.request(BusMessage(topic: "asker.cancel"), timeout: .seconds(30))
        let text = String(decoding: reply.payload, as: UTF8.self)
        #expect(text.hasPrefix("at once: ") && text.contains("the task waiting for it was cancelled"), "\(text)")
        // The reply arrives after all: dropped, and nothing is left pending.
        let (replyTo, correlation) = try #require(held.value)
        try responder.reply(to: replyTo, correlationID: correlation, BusMessage(topic: "r", payload: Array("late".utf8)))
        #expect(await eventually { k.kernel.bus.pendingRequestCount == 0 })
    }
}
