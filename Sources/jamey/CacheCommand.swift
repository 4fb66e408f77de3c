import ArgumentParser
import CacheCore
import Foundation

/// `jamey cache`: tools for the cache plugin's policies.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Cache tools (the L1 policies offline).", subcommands: [Simulate.self])

    /// `jamey cache sim TRACE --policy P --size N`: replays a trace and prints the miss ratio.
    struct Simulate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sim", abstract: "Replay a trace through a cache policy and print the miss ratio.",
            discussion: """
                Formats: oracle (libCacheSim oracleGeneral: 24-byte little-endian records u32 timestamp, \
                u64 id, u32 size, i64 next access) and csv (lines timestamp,id,size). The size is in the \
                trace's size units (bytes; objects when every size is 1). Policies: \
                \(Simulator.policyNames.joined(separator: ", ")).
                """)

        @Argument(help: "The trace file.")
        var trace: String

        @Option(help: "The policy: \(Simulator.policyNames.joined(separator: ", ")).")
        var policy = "w-tinylfu"

        @Option(help: "The cache size (sum of object sizes).")
        var size: Int

        @Option(help: "The trace format: oracle or csv.")
        var format = "oracle"

        @Flag(help: "Print one JSON object instead of a line of text.")
        var json = false

        func run() throws {
            guard let traceFormat = TraceFormat(name: format) else {
                printError("--format '\(format)' is not known (known: oracle, csv)")
                throw ExitCode(2)
            }
            guard let data = FileManager.default.contents(atPath: trace) else {
                printError("cannot read trace file '\(trace)'")
                throw ExitCode(1)
            }
            do {
                let requests = try traceFormat.parse([UInt8](data))
                let started = ContinuousClock.now
                let result = try Simulator.run(requests, policy: policy, size: size)
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                let ratio = String(format: "%.6f", result.missRatio)
                if json {
                    print(
                        #"{"policy":"\#(policy)","size":\#(size),"requests":\#(result.requests),"misses":\#(result.misses),"#
                            + #""missRatio":\#(ratio),"byteMissRatio":\#(String(format: "%.6f", result.byteMissRatio)),"seconds":\#(String(format: "%.3f", seconds))}"#
                    )
                } else {
                    print(
                        "\(policy) size \(size): \(result.requests) requests, \(result.misses) misses, "
                            + "miss ratio \(ratio) (byte miss ratio \(String(format: "%.6f", result.byteMissRatio)))")
                }
            } catch {
                printError("\(trace): \(error)")
                throw ExitCode(1)
            }
        }
    }
}
