import CBenchThreads
import CJameyBench
import Dispatch
import JameyPluginKit
import Synchronization

/// bench_driver — the Swift end of the in-process benchmarks, written like any plugin author
/// would with JameyPluginKit.
///
/// It requires the `bench.sink` service of the C sink (so the kernel starts the sink first),
/// looks it up through the kit, and registers the `bench.driver` service table whose functions
/// the benchmarks call: publish N events through the kit's bus, read the sink's count, run the
/// sink's copy baseline, and call `jamey_bench_mix` N times through the looked-up table or
/// directly. It also answers requests inline on `bench.echo.swift`, and on
/// `bench.driver.table` with the bytes of its table (the benchmark process is the host and has
/// no service lookup of its own).
public final class BenchDriver: JameyPlugin {
    public static let manifest = PluginManifest(
        name: "bench_driver",
        version: "1.0.0",
        description: "Benchmark driver in Swift: publishes through the kit, calls bench.sink, echoes bench.echo.swift",
        requires: [.init(JAMEY_BENCH_SINK_SERVICE, "^1.0")],
        provides: [.init(JAMEY_BENCH_DRIVER_SERVICE, JAMEY_BENCH_DRIVER_VERSION)]
    )

    private let context: PluginContext
    private let engine: Engine

    public init(context: PluginContext, configuration: NoConfiguration) async throws {
        self.context = context
        let sink = try context.services.lookup(JAMEY_BENCH_SINK_SERVICE, versions: "^1.0", as: jamey_bench_sink_v1.self)
        engine = Engine(bus: context.bus, sink: sink)
        try context.services.register(
            JAMEY_BENCH_DRIVER_SERVICE, version: JAMEY_BENCH_DRIVER_VERSION, table: engine.table)
    }

    public func start() async throws {
        try context.bus.respondInline(JAMEY_BENCH_ECHO_SWIFT_TOPIC) { request in Outgoing(request.payload) }
        let tableBytes = withUnsafeBytes(of: engine.table) { Array($0) }
        try context.bus.respondInline(JAMEY_BENCH_DRIVER_TABLE_TOPIC) { _ in Outgoing(tableBytes) }
    }
}

/// What the C functions of the driver's table reach through their `context` pointer. Lives as
/// long as the plugin instance (the kit keeps that until the plugin's deinit, after which the
/// kernel has withdrawn the table).
///
/// `@unchecked Sendable`: `storage` is written only in `init`, read-only afterwards.
final class Engine: @unchecked Sendable {
    let bus: PluginBus
    let sink: ServiceHandle<jamey_bench_sink_v1>
    let payload: [UInt8]
    private let storage: UnsafeMutablePointer<jamey_bench_driver_v1>

    /// The `bench.driver` table, its `context` pointing at this engine.
    var table: jamey_bench_driver_v1 { storage.pointee }

    init(bus: PluginBus, sink: ServiceHandle<jamey_bench_sink_v1>) {
        self.bus = bus
        self.sink = sink
        self.payload = (0..<Int(JAMEY_BENCH_PAYLOAD_SIZE)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        storage = .allocate(capacity: 1)
        storage.initialize(to: jamey_bench_driver_v1())
        storage.pointee.struct_size = UInt32(MemoryLayout<jamey_bench_driver_v1>.size)
        storage.pointee.publish_n = { context, n in Engine.from(context).publish(n) }
        storage.pointee.delivered = { context in Engine.from(context).sink.delivered() }
        storage.pointee.copy_n = { context, n in Engine.from(context).copy(n) }
        storage.pointee.mix_via_table = { context, n, seed in Engine.from(context).mixViaTable(n, seed) }
        storage.pointee.mix_direct = { context, n, seed in Engine.from(context).mixDirect(n, seed) }
        storage.pointee.flood_subscription = { context in Engine.from(context).sink.floodSubscription() }
        storage.pointee.request_n = { context, n, samples in Engine.from(context).requests(n, into: samples!) }
        storage.pointee.publish_fanout_n = { context, n in Engine.from(context).publish(n, to: JAMEY_BENCH_FANOUT_TOPIC) }
        storage.pointee.fanout_delivered = { context in Engine.from(context).sink.fanoutDelivered() }
        storage.pointee.context = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { storage.deallocate() }

    static func from(_ context: UnsafeMutableRawPointer?) -> Engine {
        Unmanaged<Engine>.fromOpaque(context!).takeUnretainedValue()
    }

    /// Publishes `n` events to `topic` through the kit, as a plugin would.
    func publish(_ n: UInt64, to topic: String = JAMEY_BENCH_FLOOD_TOPIC) -> Int32 {
        let message = Outgoing(payload)
        for _ in 0..<n {
            do throws(JameyError) {
                try bus.publish(topic, message)
            } catch {
                return error.code.abiValue
            }
        }
        return 0
    }

    /// `n` async requests to the C echo responder in one task on the concurrency pool, as a
    /// plugin's handler would make them, each timed; blocks the calling thread until done.
    func requests(_ n: UInt64, into samples: UnsafeMutablePointer<UInt64>) -> Int32 {
        let outcome = Mutex<Int32>(0)
        let done = DispatchSemaphore(value: 0)
        let bus = self.bus
        let message = Outgoing(payload)
        let samples = UnsafeSendable(samples)
        Task.detached {
            // On the measuring CPU, as the suite's own blocks (jamey_bench_threads.h).
            var pinned = jamey_bench_pin_task_thread(0)
            defer {
                jamey_bench_unpin_thread(pinned)
                done.signal()
            }
            for i in 0..<Int(n) {
                let start = DispatchTime.now().uptimeNanoseconds
                do throws(JameyError) {
                    _ = try await bus.request(JAMEY_BENCH_ECHO_C_TOPIC, message)
                } catch {
                    outcome.withLock { $0 = error.code.abiValue }
                    return
                }
                samples.value[i] = DispatchTime.now().uptimeNanoseconds &- start
                pinned = jamey_bench_pin_task_thread(pinned)
            }
        }
        done.wait()
        return outcome.withLock { $0 }
    }

    func copy(_ n: UInt64) -> UInt64 {
        payload.withUnsafeBytes { sink.table.copy_n!(sink.table.context, $0.baseAddress, $0.count, n) }
    }

    /// `n` chained calls through the looked-up service table, written as plugin code would.
    func mixViaTable(_ n: UInt64, _ seed: UInt64) -> UInt64 {
        var x = seed
        for _ in 0..<n { x = sink.table.mix!(sink.table.context, x) }
        return x
    }

    /// The same chain, calling the same C function directly.
    func mixDirect(_ n: UInt64, _ seed: UInt64) -> UInt64 {
        let context = sink.table.context
        var x = seed
        for _ in 0..<n { x = jamey_bench_mix(context, x) }
        return x
    }
}

/// A pointer handed to a task whose caller waits for it (the caller owns the memory meanwhile).
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension ServiceHandle where Table == jamey_bench_sink_v1 {
    func delivered() -> UInt64 { table.delivered!(table.context) }
    func floodSubscription() -> UInt64 { table.flood_subscription!(table.context) }
    func fanoutDelivered() -> UInt64 { table.fanout_delivered!(table.context) }
}

@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? {
    export(BenchDriver.self, r)
}
