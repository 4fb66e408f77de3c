import CoreMetrics
import Synchronization

/// A canary's share of one plugin's traffic while two instances of it run: of the messages on
/// topics both instances subscribe to, requests and events alike, `weight` percent go to the
/// canary instance and the rest to the stable one. Each message goes to one of the two, never
/// to both.
///
/// The choice is sticky: a message carrying header `sticky.key` (the api gateway sets it from
/// the caller's `X-Canary-Key` header or API key id) or `auth.key_id` goes by a stable hash of
/// that value, so one caller sees one version for as long as the weight stays. Other messages
/// take turns that give the canary exactly `weight` of every hundred.
///
/// Requests routed through the split are counted per side (``figures(window:)``) with their
/// outcome and latency: a bus failure (timeout, no responder, full queue) or a reply with a
/// `status` header of 500 or more is an error.
public final class TrafficSplit: Sendable {
    /// Which instance a message went to.
    public enum Side: String, Sendable, CaseIterable {
        case stable, canary
    }

    /// One side's requests in a window.
    public struct Figures: Sendable, Equatable {
        /// Requests completed in the window.
        public var requests: Int
        /// Of those, the ones that failed.
        public var errors: Int
        /// The 50th and 99th percentile latency, nil without requests.
        public var p50: Duration?
        public var p99: Duration?
        /// `errors / requests` (0 without requests).
        public var errorRate: Double { requests == 0 ? 0 : Double(errors) / Double(requests) }
    }

    /// The plugin's config name.
    public let plugin: String
    /// The instance keys of the two sides.
    public let stable: String
    public let canary: String
    private let weightValue: Atomic<Int>
    private let turn = Atomic<Int>(0)
    private let samples = Mutex<[Side: SampleRing]>([.stable: SampleRing(), .canary: SampleRing()])
    private let totals = Mutex<[Side: (requests: Int, errors: Int)]>([.stable: (0, 0), .canary: (0, 0)])
    private let counters: [String: CoreMetrics.Counter]
    private let timers: [Side: CoreMetrics.Timer]

    /// - Parameters:
    ///   - plugin: the plugin's config name.
    ///   - stable: the running instance's key.
    ///   - canary: the new instance's key.
    ///   - weight: the canary's share in percent, 0–100.
    ///   - factory: where `jamey_canary_requests_total` and `jamey_canary_request_duration_seconds` go.
    public init(plugin: String, stable: String, canary: String, weight: Int, factory: any MetricsFactory) {
        self.plugin = plugin
        self.stable = stable
        self.canary = canary
        self.weightValue = Atomic(min(100, max(0, weight)))
        var counters: [String: CoreMetrics.Counter] = [:]
        var timers: [Side: CoreMetrics.Timer] = [:]
        for side in Side.allCases {
            for outcome in ["ok", "error"] {
                counters[side.rawValue + outcome] = CoreMetrics.Counter(
                    label: "jamey_canary_requests_total",
                    dimensions: [("plugin", plugin), ("side", side.rawValue), ("outcome", outcome)], factory: factory)
            }
            timers[side] = CoreMetrics.Timer(
                label: "jamey_canary_request_duration_seconds", dimensions: [("plugin", plugin), ("side", side.rawValue)],
                factory: factory)
        }
        self.counters = counters
        self.timers = timers
    }

    /// The canary's share in percent.
    public var weight: Int {
        get { weightValue.load(ordering: .relaxed) }
        set { weightValue.store(min(100, max(0, newValue)), ordering: .relaxed) }
    }

    /// The side of the instance `key`, or nil when it is neither.
    func side(of key: String) -> Side? {
        key == canary ? .canary : key == stable ? .stable : nil
    }

    /// The side `message` goes to.
    func side(for message: BusMessage) -> Side {
        let weight = self.weight
        if weight <= 0 { return .stable }
        if weight >= 100 { return .canary }
        let bucket: UInt64
        if let key = message.headers.last(where: { $0.key == "sticky.key" })?.value
            ?? message.headers.last(where: { $0.key == "auth.key_id" })?.value
        {
            bucket = Self.stableHash(key) % 100
        } else {
            // 37 is prime to 100: a hundred turns visit every bucket once.
            let turn = UInt64(UInt(bitPattern: turn.wrappingAdd(1, ordering: .relaxed).oldValue))
            bucket = (turn % 100) &* 37 % 100
        }
        return bucket < UInt64(weight) ? .canary : .stable
    }

    /// FNV-1a, 64 bits: the same in every process (Swift's `Hasher` is seeded per process).
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    /// Records a request's outcome on `side`.
    func record(_ side: Side, duration: Duration, failed: Bool) {
        counters[side.rawValue + (failed ? "error" : "ok")]?.increment()
        timers[side]?.recordNanoseconds(duration.wholeNanoseconds)
        let now = ContinuousClock.now
        samples.withLock { $0[side]?.append(Sample(at: now, duration: duration, failed: failed)) }
        totals.withLock { totals in
            totals[side]?.requests += 1
            if failed { totals[side]?.errors += 1 }
        }
    }

    /// Each side's requests completed in the last `window`.
    public func figures(window: Duration) -> [Side: Figures] {
        let since = ContinuousClock.now - window
        let recent = samples.withLock { rings in rings.mapValues { $0.since(since) } }
        return recent.mapValues { list in
            let sorted = list.map(\.duration).sorted()
            func percentile(_ p: Double) -> Duration? {
                sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
            }
            return Figures(
                requests: list.count, errors: list.filter(\.failed).count, p50: percentile(0.5), p99: percentile(0.99))
        }
    }

    /// Each side's requests since the split began.
    public var totalFigures: [Side: (requests: Int, errors: Int)] { totals.withLock { $0 } }

    struct Sample {
        let at: ContinuousClock.Instant
        let duration: Duration
        let failed: Bool
    }

    /// The latest samples of one side, at most `capacity` (oldest overwritten).
    struct SampleRing {
        static let capacity = 20_000
        private var items: [Sample] = []
        private var next = 0

        mutating func append(_ sample: Sample) {
            if items.count < Self.capacity {
                items.append(sample)
            } else {
                items[next] = sample
                next = (next + 1) % Self.capacity
            }
        }

        func since(_ instant: ContinuousClock.Instant) -> [Sample] { items.filter { $0.at >= instant } }
    }
}
