import Foundation
import JameyPluginKit
import JameyTestKit
import Testing

@testable import JameyKernel

/// The kit's `snapshotPlugin` and `restorePlugin`: a Swift plugin granted the `snapshot`
/// privilege backs up and restores a C plugin through the kernel, from an async handler.
@Suite struct PluginBackupTests {
    /// Answers `backup.run` ("target") by snapshotting the target into a new directory and
    /// restoring it from there; replies with the kernel's steps, or the error.
    final class Backup: JameyPlugin {
        struct Configuration: Decodable, Sendable {}
        static let manifest = PluginManifest(name: "backup", version: "1.0.0", description: "Backs up through the kernel")
        let context: PluginContext
        init(context: PluginContext, configuration: Configuration) async throws { self.context = context }
        func start() async throws {
            let context = self.context
            try context.bus.respond("backup.run") { request in
                let dir = try TemporaryDirectory.make(prefix: "jamey-kit-backup")
                do {
                    try await context.snapshotPlugin(request.text, into: dir)
                    let steps = try await context.restorePlugin(request.text, from: dir)
                    return .text(steps.joined(separator: "\n"))
                } catch let error as JameyError {
                    return .text("\(error.code): \(error.message)")
                }
            }
        }
    }

    func target(_ log: String) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: "store")
        s.snapshotDelayMilliseconds = 0
        s.eventLog = log
        return .init("store", path: try TestPlugins.buildC(name: "store", source: s.render()))
    }

    func run(_ k: TestKernel, _ target: String) async throws -> String {
        let reply = try await k.bus.request(BusMessage(topic: "backup.run", payload: Array(target.utf8)), timeout: .seconds(60))
        return String(decoding: reply.payload, as: UTF8.self)
    }

    @Test func aPrivilegedSwiftPluginSnapshotsAndRestoresAnother() async throws {
        let log = try TemporaryDirectory.make(prefix: "jamey-kit-backup") + "/events.log"
        var backup = TestKernel.InProcessPlugin("backup", entryPoint: try inProcessEntryPoint(for: Backup.self))
        backup.privileges = ["snapshot"]
        let k = try TestKernel.boot(inProcess: [backup], plugins: [try target(log)])
        defer { k.shutdown() }
        let steps = try await run(k, "store")
        #expect(
            steps.split(separator: "\n").map(String.init).prefix(3) == ["stopping store", "stopped store", "initialising store"])
        #expect(steps.hasSuffix("restored store\nstarted store"), "\(steps)")
        let hooks = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter {
            !$0.hasPrefix("health")
        }
        #expect(hooks.suffix(5) == ["stop store", "deinit store", "init store", "restore store", "start store"])
        #expect(try await run(k, "ghost") == "notFound: no plugin named 'ghost' is configured")
    }

    @Test func withoutThePrivilegeTheKitThrowsState() async throws {
        let log = try TemporaryDirectory.make(prefix: "jamey-kit-backup") + "/events.log"
        let k = try TestKernel.boot(
            inProcess: [.init("backup", entryPoint: try inProcessEntryPoint(for: Backup.self))], plugins: [try target(log)])
        defer { k.shutdown() }
        let answer = try await run(k, "store")
        #expect(
            answer.hasPrefix("state: plugin 'backup' called plugin_snapshot for 'store' without the snapshot privilege"),
            "\(answer)")
    }
}
