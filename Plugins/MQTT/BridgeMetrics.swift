import CoreMetrics
import JameyPluginKit
import MQTTCore
import Synchronization

/// The bridge's metrics, recorded into the kernel's registry (every series gets
/// `plugin="mqtt"`).
///
/// Per-message counts are kept in atomics and handed to the kernel by ``flush()``, which the
/// loop thread calls a few times a second, so the message path never crosses the ABI for
/// bookkeeping.
final class BridgeMetrics: Sendable {
    /// Why a message was dropped (the `reason` label of `mqtt_dropped_total`).
    enum DropReason: String, CaseIterable, Sendable {
        /// The spool was full (or disabled) while the broker was unreachable.
        case spoolFull = "spool_full"
        /// QoS 0 while the broker was unreachable (QoS 0 is never spooled).
        case offline
        /// The broker or libmosquitto refused the message (topic, size, authorisation).
        case rejected
        /// An incoming message matched no rule or mapped to no bus topic, or the bus refused it.
        case unroutable
        /// An incoming message mapped to a topic that needs an admin key: the kernel's, or the
        /// topic of a route a plugin declares admin (a vault restore).
        case admin
    }

    /// The `rule` label of acknowledgements of the bridge's own messages (presence, requests).
    static let bridgeRule = "(bridge)"

    /// Acknowledgements with a reason code other than success, by rule and code.
    struct AckReason: Hashable, Sendable {
        /// The outbound rule's bus pattern, or ``bridgeRule``.
        var rule: String
        /// The MQTT 5 reason code.
        var code: Int32
    }

    private let messagesIn = Atomic<Int>(0)
    private let ackReasons = Mutex<[AckReason: Int]>([:])
    private let stalls = Atomic<Int>(0)
    private let factory: HostMetricsFactory
    private let inFlightGauge: any MeterHandler
    private let oldestGauge: any MeterHandler
    private let stallsCounter: any CounterHandler
    private let messagesOut = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)
    private let drops = Mutex<[Int]>(Array(repeating: 0, count: DropReason.allCases.count))

    private let connectedGauge: any MeterHandler
    private let reconnectsCounter: any CounterHandler
    private let messagesInCounter: any CounterHandler
    private let messagesOutCounter: any CounterHandler
    private let bytesInCounter: any CounterHandler
    private let bytesOutCounter: any CounterHandler
    private let spoolGauge: any MeterHandler
    private let spoolBytesGauge: any MeterHandler
    private let nodesGauge: any MeterHandler
    private let dropCounters: [any CounterHandler]

    /// Registers every series (so they show up at zero before anything happens).
    init(factory: HostMetricsFactory) {
        self.factory = factory
        inFlightGauge = factory.makeMeter(label: "mqtt_in_flight_messages", dimensions: [])
        oldestGauge = factory.makeMeter(label: "mqtt_oldest_unacked_seconds", dimensions: [])
        stallsCounter = factory.makeCounter(label: "mqtt_stalls_total", dimensions: [])
        stallsCounter.increment(by: 0)
        inFlightGauge.set(Int64(0))
        oldestGauge.set(0.0)
        connectedGauge = factory.makeMeter(label: "mqtt_connected", dimensions: [])
        reconnectsCounter = factory.makeCounter(label: "mqtt_reconnects_total", dimensions: [])
        messagesInCounter = factory.makeCounter(label: "mqtt_messages_in_total", dimensions: [])
        messagesOutCounter = factory.makeCounter(label: "mqtt_messages_out_total", dimensions: [])
        bytesInCounter = factory.makeCounter(label: "mqtt_bytes_in_total", dimensions: [])
        bytesOutCounter = factory.makeCounter(label: "mqtt_bytes_out_total", dimensions: [])
        spoolGauge = factory.makeMeter(label: "mqtt_spool_messages", dimensions: [])
        spoolBytesGauge = factory.makeMeter(label: "mqtt_spool_bytes", dimensions: [])
        nodesGauge = factory.makeMeter(label: "mqtt_nodes_online", dimensions: [])
        dropCounters = DropReason.allCases.map {
            factory.makeCounter(label: "mqtt_dropped_total", dimensions: [("reason", $0.rawValue)])
        }
        connectedGauge.set(Int64(0))
        for counter in dropCounters { counter.increment(by: 0) }
        for counter in [reconnectsCounter, messagesInCounter, messagesOutCounter, bytesInCounter, bytesOutCounter] {
            counter.increment(by: 0)
        }
    }

    /// Counts a message sent to the broker.
    func sent(bytes: Int) {
        messagesOut.add(1, ordering: .relaxed)
        bytesOut.add(bytes, ordering: .relaxed)
    }

    /// Counts a message received from the broker.
    func received(bytes: Int) {
        messagesIn.add(1, ordering: .relaxed)
        bytesIn.add(bytes, ordering: .relaxed)
    }

    /// Counts a dropped message.
    func dropped(_ reason: DropReason) {
        let index = DropReason.allCases.firstIndex(of: reason)!
        drops.withLock { $0[index] += 1 }
    }

    /// Messages dropped so far for `reason`.
    func droppedCount(_ reason: DropReason) -> Int {
        let index = DropReason.allCases.firstIndex(of: reason)!
        return drops.withLock { $0[index] }
    }

    /// Counts an acknowledgement whose reason code is not success (`mqtt_ack_reasons_total{rule,reason}`).
    func acknowledged(reason: Int32, rule: String) {
        ackReasons.withLock { $0[AckReason(rule: rule, code: reason), default: 0] += 1 }
    }

    /// Acknowledgements with a reason code other than success so far.
    var ackReasonCounts: [AckReason: Int] { ackReasons.withLock { $0 } }

    /// Counts a recycled connection whose send path had stopped making progress.
    func stalled() {
        stalls.add(1, ordering: .relaxed)
        stallsCounter.increment(by: 1)
    }

    /// Connections recycled because their send path stalled.
    var stallCount: Int { stalls.load(ordering: .relaxed) }

    /// Records the QoS 1/2 messages in flight and how long the oldest has waited.
    func inFlight(_ count: Int, oldest: Duration?) {
        inFlightGauge.set(Int64(count))
        oldestGauge.set(oldest?.seconds ?? 0)
    }

    /// The `reason` label of an acknowledgement's reason code: `no_matching_subscribers`,
    /// `not_authorized`, ... (libmosquitto's text in snake case).
    static func reasonLabel(_ code: Int32) -> String {
        MosquittoClient.describeReason(code, isV5: true).map { $0.isLetter || $0.isNumber ? $0 : "_" }
            .reduce(into: "") { $0.append($1) }
    }

    private let ackCounters = Mutex<[AckReason: (counter: any CounterHandler, flushed: Int)]>([:])

    /// Records the connection state.
    func connected(_ up: Bool) { connectedGauge.set(Int64(up ? 1 : 0)) }

    /// Counts a reconnection (a successful connection after the first).
    func reconnected() { reconnectsCounter.increment(by: 1) }

    /// Records the spool's size.
    func spool(messages: Int, bytes: Int) {
        spoolGauge.set(Int64(messages))
        spoolBytesGauge.set(Int64(bytes))
    }

    /// Records how many other nodes are online.
    func nodes(_ count: Int) { nodesGauge.set(Int64(count)) }

    private let flushed = Mutex<(inCount: Int, outCount: Int, inBytes: Int, outBytes: Int, drops: [Int])>(
        (0, 0, 0, 0, Array(repeating: 0, count: DropReason.allCases.count)))

    /// Hands the counts accumulated since the last flush to the kernel.
    func flush() {
        flushed.withLock { f in
            func advance(_ atomic: borrowing Atomic<Int>, _ last: inout Int, _ counter: any CounterHandler) {
                let now = atomic.load(ordering: .relaxed)
                if now > last { counter.increment(by: Int64(now - last)) }
                last = now
            }
            advance(messagesIn, &f.inCount, messagesInCounter)
            advance(messagesOut, &f.outCount, messagesOutCounter)
            advance(bytesIn, &f.inBytes, bytesInCounter)
            advance(bytesOut, &f.outBytes, bytesOutCounter)
            let counts = drops.withLock { $0 }
            for i in counts.indices where counts[i] > f.drops[i] {
                dropCounters[i].increment(by: Int64(counts[i] - f.drops[i]))
                f.drops[i] = counts[i]
            }
        }
        let reasons = ackReasonCounts
        guard !reasons.isEmpty else { return }
        ackCounters.withLock { counters in
            for (key, count) in reasons {
                var entry =
                    counters[key]
                    ?? (
                        factory.makeCounter(
                            label: "mqtt_ack_reasons_total",
                            dimensions: [("rule", key.rule), ("reason", Self.reasonLabel(key.code))]), 0
                    )
                if count > entry.flushed {
                    entry.counter.increment(by: Int64(count - entry.flushed))
                    entry.flushed = count
                }
                counters[key] = entry
            }
        }
    }
}

extension BridgeMetrics {
    /// `# HELP` text of each metric, for the manifest (`PluginManifest.metricHelp`).
    static let help: [String: String] = [
        "mqtt_messages_out_total": "Messages sent to the broker",
        "mqtt_messages_in_total": "Messages received from the broker",
        "mqtt_bytes_out_total": "Payload bytes sent to the broker",
        "mqtt_bytes_in_total": "Payload bytes received from the broker",
        "mqtt_dropped_total": "Messages dropped, by reason",
        "mqtt_ack_reasons_total": "Acknowledgements with a reason code other than success, by rule and reason",
        "mqtt_stalls_total": "Connections recycled because their send path stalled",
        "mqtt_in_flight_messages": "QoS 1 and 2 messages sent and not yet acknowledged",
        "mqtt_oldest_unacked_seconds": "Age of the oldest message not yet acknowledged",
        "mqtt_connected": "1 while connected to the broker",
        "mqtt_reconnects_total": "Successful connections after the first",
        "mqtt_spool_messages": "Messages spooled while the broker is unreachable",
        "mqtt_spool_bytes": "Bytes spooled while the broker is unreachable",
        "mqtt_nodes_online": "Other nodes seen online through presence",
    ]
}
