import Foundation
import JameyPluginKit
import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

/// The kit's `Reconfigurable`: a Swift plugin takes a changed section on a config reload without
/// a restart, asks for one, or refuses it.
@Suite struct ReconfigureTests {
    final class Greeter: JameyPlugin, Reconfigurable, ConfigurationChecking {
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
            Self.made.withLock { $0.append(configuration.prefix) }
        }
        /// The prefix of every instance made, in order.
        static let made = Mutex<[String]>([])
        /// A prefix starting "bad" is two problems.
        static func problems(in configuration: Configuration) -> [String] {
            guard configuration.prefix.hasPrefix("bad") else { return [] }
            return ["prefix: '\(configuration.prefix)' is not a greeting", "port: \(configuration.port) cannot go with it"]
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

    /// `ConfigurationChecking`: its problems refuse a reload before `reconfigure` or any stop, and
    /// fail the plugin at load before its init.
    @Test func whatTheCheckFindsIsAConfigProblemBeforeAnythingRuns() async throws {
        let k = try TestKernel.boot(inProcess: [.init("greeter", entryPoint: try inProcessEntryPoint(for: Greeter.self))])
        defer { k.shutdown() }
        let path = k.directory + "/in-process/greeter"
        #expect {
            try k.reload(plugins: [.init("greeter", path: path, required: true, config: "prefix: \"bad \"")])
        } throws: { error in
            let text = (error as? KernelError)?.problems.joined(separator: "\n") ?? ""
            return text.contains("plugins.greeter.config: prefix: 'bad ' is not a greeting")
                && text.contains("plugins.greeter.config: port: 1 cannot go with it")
        }
        #expect(try await greet(k) == "hello Ada", "the running instance kept its section")
        #expect(!Greeter.made.withLock { $0 }.contains("bad "), "no instance was made with it")

        let bad = TestKernel.InProcessPlugin(
            "greeter", entryPoint: try inProcessEntryPoint(for: Greeter.self), required: false, config: "prefix: \"bad again\"")
        let failed = try TestKernel.boot(inProcess: [bad], start: false)
        defer { failed.shutdown() }
        #expect((failed.kernel.plugin(named: "greeter")?.failure ?? "").contains("prefix: 'bad again' is not a greeting"))
        #expect(!Greeter.made.withLock { $0 }.contains("bad again"))
    }
}
