import Conscience
import Consciousness
import JameyPluginKit
import JameyTestKit
import Soul

/// The plugins these tests boot in-process.
enum Plugins {
    static func consciousness(_ config: String? = nil) throws -> TestKernel.InProcessPlugin {
        .init("consciousness", entryPoint: try inProcessEntryPoint(for: ConsciousnessPlugin.self), config: config)
    }

    static func soul() throws -> TestKernel.InProcessPlugin {
        .init("soul", entryPoint: try inProcessEntryPoint(for: SoulPlugin.self))
    }

    static func conscience() throws -> TestKernel.InProcessPlugin {
        .init("conscience", entryPoint: try inProcessEntryPoint(for: ConsciencePlugin.self), config: "memory:\n  record: false")
    }

    /// Jamey 3.0's 104-character test sentence: priority 0.673, above the 0.5 threshold.
    static let sentence =
        "This is a test input with sufficient length to process and generate metrics for the consciousness system"
}
