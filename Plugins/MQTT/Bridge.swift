import Foundation
import JameyPluginKit
import Logging
import MQTTCore
import Synchronization

/// The bridge between the bus and one MQTT broker.
///
/// Threading:
/// - One loop thread owns the libmosquitto client: it connects, runs the network loop (where
///   every libmosquitto callback runs), drains the spool, keeps presence and waits out the
///   backoff. State only it touches lives in ``loop``.
/// - Bus handlers (outbound and remote rules) run on bus threads and publish through the client
///   under the ``link`` lock, which also holds what health reports.
/// - Replies to requests from other nodes complete on Swift concurrency threads.
final class Bridge: Sendable {
    /// Phases of the connection, as reported in health.
    enum Phase: String, Sendable {
        case idle, connecting, connected, waiting, stopped
    }

    /// What bus threads and the loop thread share, under ``link``.
    struct Link {
        /// The client, while connected (CONNACK received); publish only through it.
        var client: MosquittoClient?
        /// QoS 1/2 messages go to the spool (disconnected, or older messages are still there).
        var spooling = true
        /// QoS 1/2 messages published directly and not yet acknowledged, by message id.
        var unacked: [Int32: (sequence: UInt64, message: OutboundMessage, sentAt: ContinuousClock.Instant)] = [:]
        /// Payload bytes of ``unacked``.
        var unackedBytes = 0
        /// Whether direct publishing has room: new QoS 1/2 messages go to the spool from
        /// ``Bridge/maxUnacked`` messages or ``Bridge/maxUnackedBytes`` bytes, and back to direct
        /// publishing below half of both.
        var unackedFull: Bool { unacked.count >= Bridge.maxUnacked || unackedBytes >= Bridge.maxUnackedBytes }
        var unackedBelowHalf: Bool { unacked.count < Bridge.maxUnacked / 2 && unackedBytes < Bridge.maxUnackedBytes / 2 }
        /// Order of direct publications.
        var sequence: UInt64 = 0
        /// Messages tracked nowhere (QoS 0, requests and responses, the online status) published
        /// while QoS 1/2 ones may be in flight, counted by message id until libmosquitto reports
        /// them. It numbers every publish with one 16-bit counter and reports a QoS 0 message
        /// written through the same callback as an acknowledgement, so past 65 535 publishes
        /// such a report could carry the id of a QoS 1/2 message still unacknowledged, which was
        /// then forgotten (its spool row deleted) as if the broker had taken it.
        var untracked: [Int32: Int] = [:]
        /// Connection phase.
        var phase: Phase = .idle
        /// Why the last attempt or connection ended.
        var lastError: String?
        /// When the next attempt is due (while waiting).
        var nextAttempt: Date?
        /// Since when connected.
        var connectedSince: Date?
        /// Successful connections so far.
        var connections = 0
        /// The connection attempt in progress: its number since the last connection, when it
        /// started and when it is given up.
        var attempt: (number: Int, started: Date, deadline: Date)?
        /// The broker resumed a session (CONNACK's session-present flag) on this connection.
        var sessionPresent = false
        /// Spooled messages in flight and the send time of the oldest unacknowledged message,
        /// as the loop thread last saw them (a few times a second).
        var inFlightSpooled = 0
        var oldestInFlight: ContinuousClock.Instant?
        /// Times the drain found spooled messages behind its read position (expected never).
        var drainRewinds = 0
        /// Subscriptions sent on this connection and not yet acknowledged (SUBACK).
        var subscriptionsPending = 0
        /// Spool overflows not yet logged, and when the last log line was written.
        var overflow: (unlogged: Int, lastLog: ContinuousClock.Instant?) = (0, nil)
    }

    /// Most QoS 1/2 messages handed to libmosquitto and not yet acknowledged before new ones go to
    /// the spool instead (message ids are 16-bit; this keeps memory bounded too).
    static let maxUnacked = 20_000
    /// Most payload bytes of those (libmosquitto holds a copy of each besides ours): 20 000
    /// messages of 1 MiB held 40 GB behind a slow broker.
    static let maxUnackedBytes = 32 << 20
    /// Spooled messages in flight at once while draining.
    static let drainWindow = 500

    let context: PluginContext
    let logger: Logger
    let configuration: MQTTConfiguration
    let settings: ClientSettings
    let outbound: [OutboundRule]
    let inbound: [InboundRule]
    let remote: [RemoteRule]
    let spool: Spool
    let metrics: BridgeMetrics
    /// Translation caches, one per outbound and per inbound rule.
    let outboundCaches: [TopicCache]
    let inboundCaches: [TopicCache]
    let presence = PresenceTracker()
    /// Limits per-message warnings (rejections) to one line per kind every 10 s.
    let throttle = LogThrottle()
    /// The topics of admin routes as of a plugins generation (``needsAdmin(_:)``).
    let adminTopics = Mutex<(generation: UInt64, topics: Set<String>)>((0, []))
    let pending = PendingRequests()
    /// This node's name.
    let node: String
    /// Where other nodes send responses to this node's requests.
    let replyTopic: String
    /// `<presence topic>` when presence is on.
    let presenceBase: String?
    /// QoS 1/2 messages in flight per direction (libmosquitto's window).
    let maxInflight: Int32 = 100

    let link = Mutex(Link())
    /// QoS 1/2 messages about to be or already tracked in ``Link/unacked`` (lets the loop thread
    /// skip the lock for QoS 0 "written" notifications).
    let tracked = Atomic<Int>(0)
    /// How many reports ``Link/untracked`` waits for (lets the loop thread skip the lock).
    let untrackedCount = Atomic<Int>(0)
    /// A lock-free hint of ``Link/spooling`` for the loop thread (the lock decides).
    let spoolingHint = Atomic<Bool>(true)
    let loop = LoopState()
    /// Where the loop thread is in its life (see ``BridgeLifecycle``); every start, stop and end
    /// of the loop thread is a transition of this one value.
    let lifecycle = Mutex(BridgeLifecycle.initial)
    /// Wakes the loop thread from its backoff wait when stopping.
    let wake = NSCondition()
    /// How long a connection must have lasted for the reconnection backoff to start over.
    static let stableConnection = Duration.seconds(10)
    /// How long ``stop()`` waits for the loop thread.
    static let stopDeadline = Duration.seconds(5)
    let subscriptions = Mutex<[Subscription]>([])

    /// Checks the configuration, compiles the rules and opens the spool.
    /// - Throws: ``MQTTError`` with a sentence naming the bad key or file.
    init(context: PluginContext, configuration: MQTTConfiguration) throws {
        self.context = context
        self.logger = context.logger
        self.configuration = configuration
        self.node = context.nodeName.isEmpty ? "node" : context.nodeName
        self.settings = try ClientSettings(configuration, nodeName: node)
        outbound = try configuration.outbound.map { rule throws(MQTTError) in
            try OutboundRule(rule, defaultPrefix: configuration.prefix)
        }
        inbound = try configuration.inbound.map { rule throws(MQTTError) in
            try InboundRule(rule, defaultPrefix: configuration.prefix)
        }
        remote = try configuration.remote.map { rule throws(MQTTError) in
            try RemoteRule(rule, defaultPrefix: configuration.prefix)
        }
        outboundCaches = outbound.map { _ in TopicCache() }
        inboundCaches = inbound.map { _ in TopicCache() }
        try Self.checkCombinations(configuration, settings: settings, remote: remote)
        presenceBase = configuration.presence.enabled ? configuration.presence.topic : nil
        replyTopic = TopicTranslation.join(
            configuration.prefix, "_reply/" + TopicTranslation.mqttLevel(settings.clientID))
        metrics = BridgeMetrics(factory: context.metrics)
        spool = try Spool(
            directory: try context.dataDirectory(), maxMessages: configuration.spool.maxMessages,
            maxBytes: configuration.spool.maxBytes)
        metrics.spool(messages: spool.count, bytes: spool.bytes)
        if spool.count > 0 {
            logger.notice("spool holds \(spool.count) message(s) from before; they are sent first after connecting")
        }
    }

    /// Checks `configuration` as ``init(context:configuration:)`` does, with nothing opened (the
    /// plugin's `check` hook): the client settings and TLS files, the rules, and the keys that
    /// go together.
    static func check(_ configuration: MQTTConfiguration) throws(MQTTError) {
        let settings = try ClientSettings(configuration, nodeName: "node")
        _ = try configuration.outbound.map { rule throws(MQTTError) in try OutboundRule(rule, defaultPrefix: configuration.prefix)
        }
        _ = try configuration.inbound.map { rule throws(MQTTError) in try InboundRule(rule, defaultPrefix: configuration.prefix) }
        let remote = try configuration.remote.map { rule throws(MQTTError) in
            try RemoteRule(rule, defaultPrefix: configuration.prefix)
        }
        try checkCombinations(configuration, settings: settings, remote: remote)
    }

    /// The settings that are wrong only together, and the presence topic.
    private static func checkCombinations(
        _ configuration: MQTTConfiguration, settings: ClientSettings, remote: [RemoteRule]
    ) throws(MQTTError) {
        let reconnect = configuration.reconnect
        if reconnect.maxDelayMs < reconnect.initialDelayMs {
            throw MQTTError.invalidSetting(
                "plugins.mqtt.config.reconnect.max_delay_ms (\(reconnect.maxDelayMs)) is below initial_delay_ms (\(reconnect.initialDelayMs)): the delay grows from the first up to the second"
            )
        }
        if !settings.isV5 && !remote.isEmpty {
            throw MQTTError.invalidSetting(
                "plugins.mqtt.config.remote needs protocol mqttv5 (MQTT 3.1.1 has no response topics)")
        }
        if configuration.presence.enabled {
            let base = configuration.presence.topic
            guard (try? MQTTFilter(base + "/+")) != nil, !base.contains("+"), !base.contains("#") else {
                throw MQTTError.invalidSetting("plugins.mqtt.config.presence.topic '\(base)' is not a valid MQTT topic")
            }
        }
    }

    /// The presence topic of `node`.
    func presenceTopic(of node: String) -> String? {
        presenceBase.map { $0 + "/" + TopicTranslation.mqttLevel(node) }
    }

    /// Subscribes the bus rules and starts the loop thread.
    func start() throws {
        let bus = context.bus
        var opened: [Subscription] = []
        do {
            for (index, rule) in outbound.enumerated() {
                let cache = outboundCaches[index]
                let capacity = configuration.queueCapacity > 0 ? configuration.queueCapacity : nil
                opened.append(
                    try bus.subscribe(rule.pattern.description, capacity: capacity) { [self] in
                        export($0, rule: rule, cache: cache)
                    })
            }
            for rule in remote {
                opened.append(try bus.respond(rule.pattern.description) { [self] in await forward($0, rule: rule) })
            }
            opened.append(try bus.respondInline("mqtt.status") { [self] _ in .json(statusJSON()) })
            opened.append(try bus.respondInline("mqtt.nodes") { [self] _ in .json(nodesJSON()) })
        } catch {
            for s in opened { s.cancel() }
            throw error
        }
        subscriptions.withLock { $0 = opened }
        for rule in outbound {
            logger.info(
                "outbound: bus \(rule.pattern) → MQTT \(TopicTranslation.join(rule.prefix, rule.template.description)) (qos \(rule.qos))"
            )
        }
        for rule in inbound {
            logger.info("inbound: MQTT \(rule.subscription) → bus \(rule.template) (qos \(rule.qos))")
        }
        guard lifecycle.withLock({ $0.start() }) else {
            // Stopped before it started: a stopped bridge stays stopped.
            cancelSubscriptions()
            return
        }
        let thread = Thread { [self] in run() }
        thread.name = "jamey-mqtt"
        thread.start()
    }

    /// Stops the loop thread: publishes the offline status, waits (bounded by ``stopDeadline``)
    /// for in-flight messages, disconnects, and puts whatever is still unacknowledged back in the
    /// spool. Suspends (never blocks) until the loop thread has ended or the deadline has passed.
    func stop() async {
        var deadline: Task<Void, Never>?
        let finishedInTime = await withCheckedContinuation { (waiter: CheckedContinuation<Bool, Never>) in
            let action = lifecycle.withLock { $0.stop(waiter: waiter) }
            if action == .resumeNow {
                waiter.resume(returning: true)
                return
            }
            if action == .wakeLoopAndWait { wakeLoop() }
            deadline = Task { [self] in
                try? await Task.sleep(for: Self.stopDeadline)
                for waiter in lifecycle.withLock({ $0.stopDeadlinePassed() }) { waiter.resume(returning: false) }
            }
        }
        deadline?.cancel()
        if !finishedInTime {
            logger.warning(
                "the MQTT loop did not finish within \(Self.format(Self.stopDeadline)) (still connecting to \(settings.broker)?); leaving it"
            )
        }
        cancelSubscriptions()
        pending.cancelAll("the mqtt bridge is stopping")
    }

    /// Ends the bus subscriptions ``start()`` opened.
    private func cancelSubscriptions() {
        subscriptions.withLock { s in
            for subscription in s { subscription.cancel() }
            s.removeAll()
        }
    }

    /// Wakes the loop thread from a backoff wait (it then sees ``isStopping``).
    private func wakeLoop() {
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    /// The loop thread should finish.
    var isStopping: Bool { lifecycle.withLock { $0.isStopping } }

    /// The loop thread ends: `finished`, and whoever waits in ``stop()`` learns it.
    func loopFinished() {
        for waiter in lifecycle.withLock({ $0.loopFinished() }) { waiter.resume(returning: true) }
    }
}
