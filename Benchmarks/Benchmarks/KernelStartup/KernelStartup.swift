import Benchmark
import Foundation
import JameyBenchSupport

#if canImport(Glibc)
    import Glibc
#endif

// Kernel start to ready, and idle resident memory, of the real `jamey serve --config FILE`
// (the root package's release build) with 8 plugins: HelloC, HelloSwift and six C probe plugins.
// Timed from posix_spawn to the READY=1 datagram on a NOTIFY_SOCKET the benchmark binds; VmRSS
// read from /proc/PID/status after `idleDelay` of idling past ready; then SIGTERM.
// In-run baseline, in the same iteration (alternating order): the same `jamey serve` with zero
// plugins — same binary, same config path, so the ratios isolate what the 8 plugins cost. Also
// reported for context: spawn-to-exit and peak RSS of `jamey version`.
// The children run without the benchmark runner's LD_PRELOAD (its malloc interposer).

private let idleDelay: useconds_t = 100_000

private enum Figures {
    static let ready8 = Figure("start→ready, 8 plugins", .microseconds, target: .below(30_000))
    static let ready0 = Figure("start→ready, 0 plugins (baseline)", .microseconds)
    static let rss8 = Figure("idle VmRSS, 8 plugins", .kibibytes, target: .below(29_297))  // 30 MB
    static let rss0 = Figure("idle VmRSS, 0 plugins (baseline)", .kibibytes)
    static let readyRatio = Figure("ratio ready 8/0 plugins", .percent, tolerance: 20)
    static let rssRatio = Figure("ratio VmRSS 8/0 plugins", .percent, tolerance: 5)
    static let version = Figure("jamey version spawn→exit", .microseconds)
    static let versionRSS = Figure("jamey version peak RSS", .kibibytes)
    static let all = [ready8, ready0, readyRatio, rss8, rss0, rssRatio, version, versionRSS]
}

/// Paths and the notify socket, prepared once.
private final class Suite: @unchecked Sendable {
    var jamey = ""
    var directory = ""
    var config8 = ""
    var config0 = ""
    var socket: NotifySocket?

    func setUp() throws {
        let bin = BenchPaths.jameyBinDirectory
        let build = "swift build -c release (in the repository root)"
        jamey = try BenchPaths.existing(bin + "/jamey", buildWith: build)
        let helloSwift = try BenchPaths.existing(bin + "/libHelloSwift.so", buildWith: build)
        let helloC = try CPluginBuild.library("HelloC")
        let probes = try (1...6).map { try CPluginBuild.library("Probe\($0)") }

        var template = Array((NSTemporaryDirectory() + "/jamey-startup.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw BenchError("mkdtemp failed") }
        directory = String(cString: made)
        var plugins = "plugins:\n"
        plugins += "  hello_c:\n    path: \"\(helloC)\"\n    required: true\n"
        plugins += "  hello_swift:\n    path: \"\(helloSwift)\"\n    required: true\n"
        for (index, probe) in probes.enumerated() {
            plugins += "  probe_\(index + 1):\n    path: \"\(probe)\"\n    required: true\n"
            plugins += "    config:\n      interval_ms: \(250 * (index + 1))\n"
        }
        config8 = directory + "/jamey-8.yaml"
        config0 = directory + "/jamey-0.yaml"
        try Self.yaml(dataDir: "data-8", plugins: plugins).write(toFile: config8, atomically: true, encoding: .utf8)
        try Self.yaml(dataDir: "data-0", plugins: "plugins: {}\n").write(toFile: config0, atomically: true, encoding: .utf8)
        socket = try NotifySocket(path: directory + "/notify.sock")
    }

    static func yaml(dataDir: String, plugins: String) -> String {
        "node:\n  name: bench-startup\ndata_dir: \(dataDir)\nlog:\n  level: warning\n" + plugins
    }

    func tearDown() {
        socket = nil
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// One `jamey serve`: spawn → READY=1 (µs), idle VmRSS (KiB), then a graceful stop.
    func serve(config: String) throws -> (readyMicros: Int, residentKiB: Int) {
        guard let socket else { throw BenchError("not set up") }
        socket.drain()
        let log = config + ".log"
        let environment = ChildProcess.cleanEnvironment(adding: ["NOTIFY_SOCKET": socket.path])
        let start = Clock.nanoseconds()
        let child = try ChildProcess.spawn(jamey, ["serve", "--config", config], environment: environment, outputPath: log)
        guard let ready = socket.wait(for: "READY=1", timeout: .seconds(20)) else {
            child.signal(SIGKILL)
            child.wait()
            throw BenchError("jamey serve --config \(config) sent no READY=1 within 20 s; its output:\n\(Self.tail(log))")
        }
        usleep(idleDelay)
        let resident = child.residentKiB()
        child.signal(SIGTERM)
        let (exit, killed) = child.wait(timeout: .seconds(20))
        guard let resident, !killed, exit.succeeded else {
            throw BenchError(
                "jamey serve --config \(config) did not stop cleanly (status \(exit.status), killed: \(killed)); its output:\n\(Self.tail(log))"
            )
        }
        return (Int((ready - start) / 1000), resident)
    }

    /// One `jamey version`: spawn → exit (µs) and its peak RSS (KiB).
    func version() throws -> (micros: Int, peakKiB: Int) {
        let log = directory + "/version.log"
        let start = Clock.nanoseconds()
        let child = try ChildProcess.spawn(jamey, ["version"], environment: ChildProcess.cleanEnvironment(), outputPath: log)
        let exit = child.waitBlocking()
        let end = Clock.nanoseconds()
        guard exit.succeeded else { throw BenchError("jamey version failed (status \(exit.status)):\n\(Self.tail(log))") }
        return (Int((end - start) / 1000), exit.maxResidentKiB)
    }

    static func tail(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no output)"
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(20).joined(separator: "\n")
    }
}

let benchmarks: @Sendable () -> Void = {
    let suite = Suite()
    let name = "Kernel start→ready with 8 plugins, idle RSS (jamey serve)"
    let recorder = Recorder(
        suite: "KernelStartup", benchmark: name, figures: Figures.all,
        note: "baseline: jamey serve with 0 plugins, same run; jamey version for context")

    Benchmark(
        name, configuration: recorder.configuration(warmup: 1, maxIterations: 12, maxDuration: .seconds(20))
    ) { benchmark in
        do {
            let eightFirst = benchmark.currentIteration.isMultiple(of: 2)
            let first = try suite.serve(config: eightFirst ? suite.config8 : suite.config0)
            let second = try suite.serve(config: eightFirst ? suite.config0 : suite.config8)
            let (eight, zero) = eightFirst ? (first, second) : (second, first)
            let version = try suite.version()
            recorder.record(benchmark, Figures.ready8, eight.readyMicros)
            recorder.record(benchmark, Figures.ready0, zero.readyMicros)
            recorder.record(benchmark, Figures.readyRatio, eight.readyMicros * 100 / max(1, zero.readyMicros))
            recorder.record(benchmark, Figures.rss8, eight.residentKiB)
            recorder.record(benchmark, Figures.rss0, zero.residentKiB)
            recorder.record(benchmark, Figures.rssRatio, eight.residentKiB * 100 / max(1, zero.residentKiB))
            recorder.record(benchmark, Figures.version, version.micros)
            recorder.record(benchmark, Figures.versionRSS, version.peakKiB)
        } catch {
            benchmark.fail("\(error)")
        }
    } setup: {
        try suite.setUp()
    } teardown: {
        suite.tearDown()
        recorder.writeSummary()
    }
}
