import CacheCore
import Foundation
import JameyPluginKit
import Metrics
import Synchronization

/// Invalidations between nodes over the bus: every put and invalidation on this node is published
/// as the event `cache.invalidated.<namespace>` (`{"node", "run", "seq", "namespace", "kind":
/// put|invalidate, "key" | "prefix"}`), and every such event from another node is applied here.
/// The bus alone reaches the plugins of this kernel; the mqtt plugin carries the events to the
/// other nodes when an outbound and an inbound rule name `cache.invalidated.>` (README "Caching").
///
/// `seq` counts this run's events per namespace from 1, so a receiver notices lost events and then
/// drops the whole namespace locally (it no longer knows what changed). A node ignores its own
/// events by `run`, a random id of this start, so two kernels sharing a node id still hear each
/// other.
final class BusInvalidations: Sendable {
    /// Topics are `<prefix><namespace>`.
    static let topicPrefix = "cache.invalidated."

    private let bus: PluginBus
    private let node: String
    let run: String
    private let sent = Mutex<[String: UInt64]>([:])
    private let received = Mutex(InvalidationSequence())
    private let sentCount: Counter
    private let appliedCount: Counter
    private let gapCounter: Counter
    private let gaps = Atomic<Int>(0)
    private let applied = Atomic<Int>(0)

    init(bus: PluginBus, node: String, metrics: any MetricsFactory) {
        self.bus = bus
        self.node = node
        run = UUID().uuidString
        sentCount = Counter(label: "cache_invalidations_total", dimensions: [("direction", "sent")], factory: metrics)
        appliedCount = Counter(label: "cache_invalidations_total", dimensions: [("direction", "applied")], factory: metrics)
        gapCounter = Counter(label: "cache_invalidation_gaps_total", factory: metrics)
    }

    /// What happened to a key or prefix.
    enum Kind: String, Sendable {
        /// A new value: the other nodes drop their L1 and L3 copies.
        case put
        /// Removed: the other nodes drop their L1 and L3 copies, and from L2 again (a load of
        /// theirs may have put the old value back there before hearing of it).
        case invalidate
    }

    /// Publishes one change of `namespace` (a bus that refuses is logged by the caller's health only).
    ///
    /// The number is taken and the event published under one lock, so events leave in their
    /// numbers' order: numbered first and published after, two concurrent puts' events went
    /// out swapped now and then (19 of 3 274 in a three-node stress run), and every receiver
    /// took the jump for lost events and emptied the namespace's L1 and L3.
    func announce(_ namespace: String, _ kind: Kind, key: String?, prefix: String?) {
        sent.withLock { s in
            let seq = s[namespace, default: 0] + 1
            var message: [String: Any] = [
                "node": node, "run": run, "seq": seq, "namespace": namespace, "kind": kind.rawValue,
            ]
            message["key"] = key
            message["prefix"] = prefix
            guard let body = try? JSONSerialization.data(withJSONObject: message, options: [.sortedKeys]) else { return }
            s[namespace] = seq
            do {
                try bus.publish(Self.topicPrefix + namespace, Outgoing(Array(body), contentType: "application/json"))
                sentCount.increment()
            } catch {}
        }
    }

    /// One decoded event from another node.
    struct Event: Sendable {
        let namespace: String
        let kind: Kind
        let key: String?
        let prefix: String?
        /// Events were lost before this one.
        let afterGap: Bool
    }

    /// Decodes `message`; nil for this node's own events, for malformed ones, and for namespaces
    /// this node does not have (`known`), before any of it is recorded: a client could publish
    /// made-up runs and namespaces on the bus, and each was followed for good.
    func event(_ message: Message, known: (String) -> Bool) -> Event? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any],
            let run = object["run"] as? String, run != self.run, run.utf8.count <= 64,
            let namespace = object["namespace"] as? String, known(namespace),
            let seq = (object["seq"] as? NSNumber)?.uint64Value,
            let kind = (object["kind"] as? String).flatMap(Kind.init(rawValue:))
        else { return nil }
        let key = object["key"] as? String
        let prefix = object["prefix"] as? String
        guard (key == nil) != (prefix == nil) else { return nil }
        let observation = received.withLock { $0.observe(sender: run + "/" + namespace, sequence: seq) }
        var afterGap = false
        switch observation {
        case .gap, .first:
            // `.first` is a number past 1 from a sender this node never heard: a peer that was
            // running while this node was down (or restarted), whose earlier invalidations never
            // reached it. L3 kept the values they removed, so they count as missed too.
            afterGap = true
            gaps.add(1, ordering: .relaxed)
            gapCounter.increment()
        case .inOrder, .repeated:
            break
        }
        applied.add(1, ordering: .relaxed)
        appliedCount.increment()
        return Event(namespace: namespace, kind: kind, key: key, prefix: prefix, afterGap: afterGap)
    }

    /// Gaps noticed since start.
    var gapCount: Int { gaps.load(ordering: .relaxed) }

    /// Counts for `cache.stats`.
    var stats: [String: Any] {
        [
            "topic": Self.topicPrefix + "<namespace>", "run": run,
            "sent": sent.withLock { $0.values.reduce(0, +) }, "applied": applied.load(ordering: .relaxed),
            "gaps": gaps.load(ordering: .relaxed), "senders": received.withLock { $0.senders },
        ]
    }
}
