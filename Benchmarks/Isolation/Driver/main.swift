// isolation-bench: the driver of scripts/bench-isolation.sh.
//
//   isolation-bench latency FAULTLIB REQUESTS SIZE ROUNDS
//       Two kernels in this process: fault_c in process in one, isolated (`isolation: process`)
//       in the other. ROUNDS times, REQUESTS bus requests of SIZE bytes to fault_c.echo on each,
//       alternating, one at a time. Prints per mode: p50_us p90_us p99_us, and the added cost.
//
//   isolation-bench throughput FAULTLIB THREADS SIZE SECONDS
//       THREADS requesters back to back on fault_c.echo for SECONDS, in process then isolated:
//       requests per second of each (not part of scripts/bench-isolation.sh).
//
//   isolation-bench recovery FAULTLIB CRASHES
//       One kernel with fault_c isolated and no restart backoff (delay 0): CRASHES times, crash it
//       (fault_c.crash), time from sending the crash to its 503 (crash → detected), then from the
//       503 to the first answer from the new process (detected → serving again), polling
//       fault_c.pid with POLL_PAUSE_US (default 100) between polls; then waits for the new
//       process's start to finish before the next crash. Prints p50/p99/max of both.

import Foundation
import JameyKernel
import JameyTestKit

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

func kernel(_ library: String, isolation: String, restart: String = "") throws -> TestKernel {
    let dir = try TemporaryDirectory.make(prefix: "jamey-isolation-bench")
    let yaml = """
        node:
          name: bench
        data_dir: \(dir)/data
        log:
          level: error
        plugins:
          fault_c:
            path: "\(library)"
            isolation: \(isolation)
            limits:
              handler_timeout_ms: 30000
        \(restart)

        """
    return try TestKernel.boot(yaml: yaml)
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func nanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func request(_ k: TestKernel, _ topic: String, _ payload: [UInt8]) -> BusMessage {
    do {
        return try k.bus.requestSync(BusMessage(topic: topic, payload: payload), timeout: .seconds(30))
    } catch {
        fail("request \(topic) failed: \(error)")
    }
}

func latency(_ library: String, requests: Int, size: Int, rounds: Int) throws {
    let inProcess = try kernel(library, isolation: "in_process")
    let isolated = try kernel(library, isolation: "process")
    let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
    var samples: [String: [Double]] = ["in_process": [], "process": []]
    for k in [inProcess, isolated] {
        for _ in 0..<2000 where request(k, "fault_c.echo", payload).payload != payload { fail("wrong echo") }
    }
    for _ in 0..<rounds {
        for (mode, k) in [("in_process", inProcess), ("process", isolated)] {
            for _ in 0..<requests {
                let start = nanos()
                let reply = request(k, "fault_c.echo", payload)
                let took = Double(nanos() - start) / 1000
                guard reply.payload.count == size else { fail("wrong echo from \(mode)") }
                samples[mode]!.append(took)
            }
        }
    }
    var p: [String: (Double, Double, Double)] = [:]
    for (mode, values) in samples {
        let sorted = values.sorted()
        p[mode] = (percentile(sorted, 0.5), percentile(sorted, 0.9), percentile(sorted, 0.99))
        print(
            String(
                format: "latency mode=%@ size=%d requests=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f", mode, size, values.count,
                p[mode]!.0, p[mode]!.1, p[mode]!.2))
    }
    let a = p["in_process"]!
    let b = p["process"]!
    print(
        String(
            format: "latency added p50_us=%.1f p99_us=%.1f ratio_p50=%.2f ratio_p99=%.2f", b.0 - a.0, b.2 - a.2, b.0 / a.0,
            b.2 / a.2))
    isolated.shutdown()
    inProcess.shutdown()
}

/// Microseconds between two polls while the plugin is down (`POLL_PAUSE_US`, default 100; 0: back
/// to back). A 503 is answered on the poller's own thread, so polls back to back keep a processor
/// of the two busy and the lock of the plugin's supervisor hot while the restart needs both.
let pollPause = UInt32(ProcessInfo.processInfo.environment["POLL_PAUSE_US"] ?? "") ?? 100

/// THREADS requesters sending fault_c.echo (SIZE bytes) back to back for SECONDS, in process and
/// isolated: requests per second of each and their ratio.
func throughput(_ library: String, threads: Int, size: Int, seconds: Double) throws {
    let inProcess = try kernel(library, isolation: "in_process")
    let isolated = try kernel(library, isolation: "process")
    let payload = [UInt8](repeating: 7, count: size)
    var rates: [String: Double] = [:]
    for (mode, k) in [("in_process", inProcess), ("process", isolated)] {
        for _ in 0..<1000 where request(k, "fault_c.echo", payload).payload.count != size { fail("wrong echo") }
        let counts = (0..<threads).map { _ in Counter() }
        let stop = Counter()
        let start = nanos()
        let workers = counts.map { counter in
            Thread {
                while stop.value == 0 {
                    guard request(k, "fault_c.echo", payload).payload.count == size else { fail("wrong echo from \(mode)") }
                    counter.add()
                }
            }
        }
        workers.forEach { $0.start() }
        usleep(UInt32(seconds * 1e6))
        stop.add()
        let took = Double(nanos() - start) / 1e9
        usleep(100_000)
        rates[mode] = Double(counts.reduce(0) { $0 + $1.value }) / took
        print(String(format: "throughput mode=%@ threads=%d size=%d requests_per_s=%.0f", mode, threads, size, rates[mode]!))
    }
    print(String(format: "throughput ratio_process_to_in_process=%.2f", rates["process"]! / rates["in_process"]!))
    isolated.shutdown()
    inProcess.shutdown()
}

/// A counter shared with threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}

func recovery(_ library: String, crashes: Int) throws {
    let restart = "    restart:\n      delay_ms: 0\n      max_delay_ms: 0\n      window_s: 1\n      max_restarts: 100000"
    let k = try kernel(library, isolation: "process", restart: restart)
    var detect: [Double] = []
    var serving: [Double] = []
    var polls = 0
    for round in 0..<crashes {
        let before = String(decoding: request(k, "fault_c.pid", []).payload, as: UTF8.self)
        let sent = nanos()
        let crash = request(k, "fault_c.crash", [])
        let detected = nanos()
        guard crash.headers.contains(where: { $0.key == "status" && $0.value == "503" }) else { fail("the crash got no 503") }
        while true {
            polls += 1
            if pollPause > 0 { usleep(pollPause) }
            let reply = request(k, "fault_c.pid", [])
            if !reply.headers.contains(where: { $0.key == "status" }) {
                guard String(decoding: reply.payload, as: UTF8.self) != before else { fail("the old process answered") }
                break
            }
        }
        let back = nanos()
        detect.append(Double(detected - sent) / 1e6)
        serving.append(Double(back - detected) / 1e6)
        // The new process answers as soon as it has subscribed fault_c.pid; wait for its start
        // to finish (every subscription taken over) before crashing it again.
        while (k.kernel.isolation(of: "fault_c")?.restarts ?? 0) < round + 1 { usleep(200) }
    }
    for (name, values) in [("crash_to_detected", detect), ("detected_to_serving", serving)] {
        let sorted = values.sorted()
        print(
            String(
                format: "recovery %@ crashes=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f", name, values.count, percentile(sorted, 0.5),
                percentile(sorted, 0.99), sorted.last!))
    }
    print("recovery polls_while_down=\(polls - crashes) restarts=\(k.kernel.isolation(of: "fault_c")?.restarts ?? -1)")
    k.shutdown()
}

let args = CommandLine.arguments
do {
    switch args.count > 1 ? args[1] : "" {
    case "latency" where args.count == 6:
        try latency(args[2], requests: Int(args[3])!, size: Int(args[4])!, rounds: Int(args[5])!)
    case "throughput" where args.count == 6:
        try throughput(args[2], threads: Int(args[3])!, size: Int(args[4])!, seconds: Double(args[5])!)
    case "recovery" where args.count == 4:
        try recovery(args[2], crashes: Int(args[3])!)
    default:
        fail(
            "usage: isolation-bench latency FAULTLIB REQUESTS SIZE ROUNDS | throughput FAULTLIB THREADS SIZE SECONDS | recovery FAULTLIB CRASHES"
        )
    }
} catch {
    fail("\(error)")
}
exit(0)
