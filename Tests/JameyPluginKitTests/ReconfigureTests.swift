import Foundation
import JameyPluginKit
import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

/// The kit's `Reconfigurable`: a Swift plugin takes a changed section on a config reload without
/// a restart, asks for one, or refuses it.
@Suite struct ReconfigureTests {
    final class Greeter: JameyPlugin, Reconfigurable {
        struct Configuration: Decodable, Sendable {
            var prefix: String
            var port: Int
        }
        static let manifest = PluginManifest(
            name: "greeter", version: "1.0.0", description: "Greets with a prefix",
            configuration: [
                .string("prefix", default: "hello ", length: 1...16, description: "Put before the name"),
                .int("port", default: 1, range: 1...65535, description: "Needs a restart to change"),
            ])
        let context: PluginContext
        let settings: Mutex<Configuration>
        init(context: PluginContext, configuration: Configuration) async throws {
            self.context = context
            self.settings = Mutex(configuration)
        }
        func start() async throws {
            try context.bus.respond("greeter.greet") { [self] request in .text(prefix + request.text) }
        }
        var prefix: String { settings.withLock { $0.prefix } }
        func reconfigure(_ configuration: Configuration) async throws {
            if configuration.prefix == "refuse " { throw JameyError("prefix 'refuse ' is not allowed") }
            guard configuration.port == settings.withLock({ $0.port }) else {
                throw JameyError(.unsupported, "a new port needs a restart")
            }
            settings.withLock { $0 = configuration }
        }
    }

    func greet(_ k: TestKernel) async throws -> String {
        let reply = try await k.bus.request(BusMessage(topic: "greeter.greet", payload: Array("Ada".utf8)), timeout: .seconds(30))
        return String(decoding: reply.payload, as: UTF8.self)
    }

    @Test func aChangedSectionIsTakenInPlaceOrRestartsOrIsRefused() async throws {
        let k = try TestKernel.boot(inProcess: [.init("greeter", entryPoint: try inProcessEntryPoint(for: Greeter.self))])
        defer { k.shutdown() }
        let path = k.directory + "/in-process/greeter"
        #expect(try await greet(k) == "hello Ada")

        let inPlace = try k.reload(plugins: [.init("greeter", path: path, required: true, config: "prefix: \"hi \"")])
        #expect(inPlace.changes == ["plugins.greeter.config: reconfigured (prefix)"])
        #expect(try await greet(k) == "hi Ada")

        let restarted = try k.reload(plugins: [.init("greeter", path: path, required: true, config: "prefix: \"yo \"\nport: 2")])
        #expect(restarted.changes == ["plugins.greeter.config: restarted with the new settings (port, prefix)"])
        #expect(try await greet(k) == "yo Ada")

        #expect {
            try k.reload(plugins: [.init("greeter", path: path, required: true, config: "prefix: \"refuse \"\nport: 2")])
        } throws: { "\($0)".contains("prefix 'refuse ' is not allowed") }
        #expect(try await greet(k) == "yo Ada")
    }
}
