import Conscience
import ConsciousnessTestSupport
import JameyPluginKit
import JameyTestKit
import Soul

/// The plugins these tests boot in-process.
enum Plugins {
    static func soul() throws -> TestKernel.InProcessPlugin {
        .init("soul", entryPoint: try inProcessEntryPoint(for: SoulPlugin.self))
    }

    static func conscience() throws -> TestKernel.InProcessPlugin {
        .init("conscience", entryPoint: try inProcessEntryPoint(for: ConsciencePlugin.self), config: "memory:\n  record: false")
    }
}
