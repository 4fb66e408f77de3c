import Benchmark
import CBenchThreads
import CJameyBench
import JameyBenchSupport

#if canImport(Glibc)
    import Glibc
#endif

// Bus publish→deliver across the ABI: the Swift plugin bench_driver publishes 64-byte events
// through JameyPluginKit's bus on the benchmark thread; the C plugin bench_sink's handler copies
// and counts each one on a bus worker. A burst of `burst` events ends when the sink has counted
// all of them. In-run baseline: the sink's copy_n, i.e. `burst` direct C calls of the very
// function the handler runs per message.
// Each iteration times `bursts` bursts of each, interleaved, and keeps the fastest of each kind:
// the machine is shared, a burst that lost its CPU to another process says nothing about the bus,
// and a long bus run would lose time slices that the short baseline dodges.
// The publishing thread is pinned to the last CPU and the bus's threads kept off it (see
// jamey_bench_threads.h): on a machine with few cores this fixes which placement is measured.

/// Events per burst.
private let burst: UInt64 = 10_000
/// Bursts of each kind per iteration.
private let bursts = 10

private enum Figures {
    static let bus = Figure("bus throughput (msgs)", .perSecond, prefersLarger: true, target: .atLeast(10_000_000))
    static let publish = Figure("publish calls, publisher side", .perSecond, prefersLarger: true)
    static let direct = Figure("direct handler-work calls (baseline)", .perSecond, prefersLarger: true)
    /// A coarse gate (catches a doubling): the bus needs two CPUs and the baseline one, so with
    /// other processes competing for the shared 2-core machine's CPUs this ratio moved between
    /// ×69 and ×180 from one run to the next (×265 once under a load average of 8).
    static let ratio = Figure("ratio bus/direct time", .percent, tolerance: 75)
    /// The machine's limit: a bare SPSC ring between two threads moving the same 64 bytes.
    static let spsc = Figure("bare SPSC ring, two threads (limit)", .perSecond, prefersLarger: true)
    /// Reported, not gated: both sides need two CPUs, so it follows the load like the bus does.
    static let limitRatio = Figure("ratio bus/SPSC ring time", .percent)
    static let all = [bus, publish, direct, ratio, spsc, limitRatio]
}

private enum FanoutFigures {
    static let perSubscriber = Figure(
        "fan-out, per subscriber (msgs)", .perSecond, prefersLarger: true, target: .atLeast(2_000_000))
    static let deliveries = Figure("fan-out, deliveries to all 8", .perSecond, prefersLarger: true)
    static let direct = Figure("direct handler-work calls, 8 per message (baseline)", .perSecond, prefersLarger: true)
    /// Coarse like the single subscriber's ratio, for the same reason.
    static let ratio = Figure("ratio fan-out/direct time", .percent, tolerance: 75)
    /// Time per delivery against the bare ring's time per message (reported, not gated).
    static let limitRatio = Figure("ratio per delivery/SPSC ring time", .percent)
    static let all = [perSubscriber, deliveries, direct, ratio, limitRatio]
}

/// State shared by setup, the measured closure and teardown.
private final class Suite: @unchecked Sendable {
    var kernel: BenchKernel?
    var ring: OpaquePointer?

    /// Boots the kernel and starts the bare ring's consumer (the benchmark's setup).
    func start() throws {
        jamey_bench_unpin_current_thread()  // threads inherit their creator's CPU mask
        kernel = try BenchKernel()
        ring = jamey_spsc_start()
    }

    /// Stops both and writes `recorder`'s summary (the benchmark's teardown).
    func stop(_ recorder: Recorder) {
        if let ring { jamey_spsc_stop(ring) }
        ring = nil
        kernel?.shutdown()
        kernel = nil
        recorder.writeSummary()
    }

    /// Nanoseconds to move `burst` 64-byte messages through the bare SPSC ring to its consumer
    /// thread (the machine's limit); `.max` when the ring did not start.
    func timeBareRing() -> UInt64 {
        guard let ring else { return .max }
        let message = [UInt8](repeating: 7, count: Int(JAMEY_SPSC_SLOT))
        let start = Clock.nanoseconds()
        message.withUnsafeBytes { jamey_spsc_burst(ring, $0.baseAddress, burst) }
        return Clock.nanoseconds() - start
    }
}

let benchmarks: @Sendable () -> Void = {
    let suite = Suite()
    let name = "Bus publish→deliver, Swift plugin → C plugin, 64 B, 1 subscriber"
    let recorder = Recorder(
        suite: "BusThroughput", benchmark: name, figures: Figures.all,
        note:
            "baseline: the sink's handler work (64 B memcpy + atomic count) as direct C calls, same run; fastest of 10 bursts of 10,000 each"
    )

    Benchmark(
        name, configuration: recorder.configuration(warmup: 2, maxIterations: 20, maxDuration: .seconds(8))
    ) { benchmark in
        guard let kernel = suite.kernel else { return }
        let driver = kernel.driver
        let context = driver.context
        // The publisher (this thread) on the last CPU; the bus workers stay off it.
        jamey_bench_pin_current_thread()
        defer { jamey_bench_unpin_current_thread() }

        var best = (bus: UInt64.max, publish: UInt64.max, direct: UInt64.max, spsc: UInt64.max)
        for _ in 0..<bursts {
            // The bus: publish a burst, wait until the sink has consumed all of it.
            let before = kernel.delivered
            let start = Clock.nanoseconds()
            let code = driver.publish_n!(context, burst)
            let published = Clock.nanoseconds()
            guard code == 0 else {
                benchmark.fail("publish failed with code \(code)")
                return
            }
            let deadline = published + 30_000_000_000
            while kernel.delivered < before + burst {
                if Clock.nanoseconds() > deadline {
                    let drops = kernel.kernel.bus.dropCount(subscription: driver.flood_subscription!(context)) ?? -1
                    benchmark.fail(
                        "the sink received \(kernel.delivered - before) of \(burst) events within 30 s (mailbox drops: \(drops))")
                    return
                }
                sched_yield()
            }
            let delivered = Clock.nanoseconds()
            // The baseline: the same per-message work as direct C calls.
            let copyStart = Clock.nanoseconds()
            blackHole(driver.copy_n!(context, burst))
            let copyEnd = Clock.nanoseconds()
            // The limit: the same burst through a bare SPSC ring to another thread.
            let spsc = suite.timeBareRing()
            best = (
                min(best.bus, delivered - start), min(best.publish, published - start),
                min(best.direct, copyEnd - copyStart), min(best.spsc, spsc)
            )
        }
        recorder.record(benchmark, Figures.bus, Int(burst * 1_000_000_000 / max(1, best.bus)))
        recorder.record(benchmark, Figures.publish, Int(burst * 1_000_000_000 / max(1, best.publish)))
        recorder.record(benchmark, Figures.direct, Int(burst * 1_000_000_000 / max(1, best.direct)))
        // Time per message on the bus ÷ time per direct call.
        recorder.record(benchmark, Figures.ratio, Int(best.bus * 100 / max(1, best.direct)))
        recorder.record(benchmark, Figures.spsc, Int(burst * 1_000_000_000 / max(1, best.spsc)))
        recorder.record(benchmark, Figures.limitRatio, Int(best.bus * 100 / max(1, best.spsc)))
    } setup: {
        try suite.start()
    } teardown: {
        suite.stop(recorder)
    }

    // Fan-out: the same events to JAMEY_BENCH_FANOUT_SUBSCRIBERS (8) subscriptions of the C sink,
    // each with its own mailbox and counter; a burst ends when every one has consumed all of it.
    // Baseline: the handler work done 8 times per message as direct C calls; the limit: the bare
    // ring's time per message against the bus's time per delivery.
    let fanoutSuite = Suite()
    let fanoutName = "Bus fan-out, Swift plugin → 8 C subscribers, 64 B"
    let fanoutRecorder = Recorder(
        suite: "BusThroughput", benchmark: fanoutName, figures: FanoutFigures.all,
        note:
            "baseline: the sink's handler work 8 times per message as direct C calls, same run; fastest of 10 bursts of 10,000 each"
    )
    Benchmark(
        fanoutName, configuration: fanoutRecorder.configuration(warmup: 2, maxIterations: 20, maxDuration: .seconds(8))
    ) { benchmark in
        guard let kernel = fanoutSuite.kernel else { return }
        let driver = kernel.driver
        let context = driver.context
        let subscribers = UInt64(JAMEY_BENCH_FANOUT_SUBSCRIBERS)
        jamey_bench_pin_current_thread()
        defer { jamey_bench_unpin_current_thread() }
        var best = (bus: UInt64.max, direct: UInt64.max, spsc: UInt64.max)
        for _ in 0..<bursts {
            let before = driver.fanout_delivered!(context)
            let start = Clock.nanoseconds()
            let code = driver.publish_fanout_n!(context, burst)
            guard code == 0 else {
                benchmark.fail("publish failed with code \(code)")
                return
            }
            let deadline = Clock.nanoseconds() + 30_000_000_000
            while driver.fanout_delivered!(context) < before + burst {
                if Clock.nanoseconds() > deadline {
                    benchmark.fail(
                        "the slowest fan-out subscriber received \(driver.fanout_delivered!(context) - before) of \(burst) events within 30 s"
                    )
                    return
                }
                sched_yield()
            }
            let delivered = Clock.nanoseconds()
            let copyStart = Clock.nanoseconds()
            blackHole(driver.copy_n!(context, burst * subscribers))
            let copyEnd = Clock.nanoseconds()
            let spsc = fanoutSuite.timeBareRing()
            best = (min(best.bus, delivered - start), min(best.direct, copyEnd - copyStart), min(best.spsc, spsc))
        }
        fanoutRecorder.record(benchmark, FanoutFigures.perSubscriber, Int(burst * 1_000_000_000 / max(1, best.bus)))
        fanoutRecorder.record(
            benchmark, FanoutFigures.deliveries, Int(burst * subscribers * 1_000_000_000 / max(1, best.bus)))
        fanoutRecorder.record(
            benchmark, FanoutFigures.direct, Int(burst * subscribers * 1_000_000_000 / max(1, best.direct)))
        fanoutRecorder.record(benchmark, FanoutFigures.ratio, Int(best.bus * 100 / max(1, best.direct)))
        // Per delivery (bus time / 8) against per message through the ring.
        fanoutRecorder.record(
            benchmark, FanoutFigures.limitRatio, Int(best.bus * 100 / max(1, best.spsc * subscribers)))
    } setup: {
        try fanoutSuite.start()
    } teardown: {
        fanoutSuite.stop(fanoutRecorder)
    }
}
