import CBenchThreads
import CJameyBench
import Foundation
import JameyKernel
import Logging

/// A real ``Kernel`` booted in the benchmark process with the two benchmark plugins: the C
/// `bench_sink` (built with `cc -shared`) and the Swift `bench_driver` (a dynamic library
/// product of this package). Written like `JameyTestKit.TestKernel`: a config file in a fresh
/// directory, `KernelConfig.load`, `load()`, `start()`. The bus's threads are then kept off the
/// measuring CPU (`jamey_bench_threads_avoid_measuring_cpu`).
public final class BenchKernel: @unchecked Sendable {
    /// The running kernel.
    public let kernel: Kernel
    /// A bus endpoint owned by `bench` (the requester of the request/reply benchmarks).
    public let endpoint: BusEndpoint
    /// The driver's `bench.driver` table, obtained over the bus (see ``JAMEY_BENCH_DRIVER_TABLE_TOPIC``).
    public let driver: jamey_bench_driver_v1
    /// The directory holding the config and the data dir.
    public let directory: String

    /// Boots a kernel with `bench_sink` and `bench_driver`, both `required`.
    /// - Parameter busWorkers: `bus.workers` (0: one per core, at least 2 — the default).
    /// - Throws: ``BenchError``, `ConfigErrors` or `KernelError` when anything is missing or fails.
    public init(busWorkers: Int = 0) throws {
        let sink = try CPluginBuild.library("BenchSink")
        let driverPath = try BenchPaths.existing(
            BenchPaths.productsDirectory + "/libBenchDriver.so",
            buildWith: "cd Benchmarks && swift build -c release --product BenchDriver")
        directory = try Self.temporaryDirectory()
        let yaml = """
            node:
              name: bench-node
            data_dir: data
            log:
              level: error
            bus:
              workers: \(busWorkers)
            plugins:
              bench_sink:
                path: "\(sink)"
                required: true
              bench_driver:
                path: "\(driverPath)"
                required: true

            """
        let path = directory + "/jamey.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try KernelConfig.load(path: path, defaultYAML: "", environment: [:])
        var logger = Logger(label: "jamey.bench")
        logger.logLevel = .error
        kernel = try Kernel(config: config, logger: logger, environment: [:])
        try kernel.load()
        try kernel.start()
        // The bus's threads off the measuring CPU (see jamey_bench_threads.h).
        _ = jamey_bench_threads_avoid_measuring_cpu("jamey-bus-")
        endpoint = kernel.bus.endpoint(owner: "bench")
        let reply = try endpoint.requestSync(BusMessage(topic: JAMEY_BENCH_DRIVER_TABLE_TOPIC), timeout: .seconds(5))
        guard reply.payload.count >= MemoryLayout<jamey_bench_driver_v1>.size else {
            throw BenchError(
                "bench_driver answered \(JAMEY_BENCH_DRIVER_TABLE_TOPIC) with \(reply.payload.count) bytes, expected a jamey_bench_driver_v1"
            )
        }
        driver = reply.payload.withUnsafeBytes { $0.loadUnaligned(as: jamey_bench_driver_v1.self) }
    }

    /// Stops every plugin and the bus.
    public func shutdown() {
        kernel.stop(deadline: .seconds(5))
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Messages the sink has consumed so far.
    public var delivered: UInt64 { driver.delivered!(driver.context) }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/jamey-bench.XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw BenchError("mkdtemp failed") }
        return String(cString: p)
    }
}
