import JameyPluginKit
import MQTTCore

extension Bridge {
    /// The user property naming why a node could not answer a forwarded request
    /// (`timeout`, `no_responders`, `full`, `shutdown`, `error`, `forbidden`: the topic needs an
    /// admin key there).
    static let errorProperty = "jamey-error"

    /// Loop thread: a message from the broker. Responses go to their waiting requester, status
    /// messages to presence, the rest through the inbound rules that match onto the bus (an MQTT
    /// 5 request becomes a bus request whose reply goes back to its response topic).
    func received(_ message: IncomingMessage) {
        metrics.received(bytes: message.payload.count)
        let ids = message.subscriptionIDs
        if ids.count == 1, case let index = ids[0] - Self.inboundSubscriptionBase, inbound.indices.contains(index) {
            return importMessage(message, rule: index)
        }
        var rules: [Int] = []
        if ids.isEmpty {
            if settings.isV5 && message.topic == replyTopic { return handleResponse(message) }
            if let base = presenceBase, message.topic.hasPrefix(base + "/"),
                !message.topic.dropFirst(base.count + 1).contains("/")
            {
                return handlePresence(message)
            }
            if let index = inbound.firstIndex(where: { $0.filter.match(message.topic) != nil }) { rules = [index] }
        } else {
            for id in Set(ids).sorted() {
                switch id {
                case Self.replySubscriptionID: handleResponse(message)
                case Self.presenceSubscriptionID: handlePresence(message)
                case let id where inbound.indices.contains(id - Self.inboundSubscriptionBase):
                    rules.append(id - Self.inboundSubscriptionBase)
                default: break
                }
            }
            if ids.allSatisfy({ $0 < Self.inboundSubscriptionBase }) { return }
        }
        guard !rules.isEmpty else {
            metrics.dropped(.unroutable)
            return
        }
        for index in rules { importMessage(message, rule: index) }
    }

    private func importMessage(_ message: IncomingMessage, rule index: Int) {
        let rule = inbound[index]
        let node = self.node
        guard let topic = inboundCaches[index].translate(message.topic, { rule.busTopic(for: $0, node: node) }) else {
            metrics.dropped(.unroutable)
            logger.debug("MQTT topic \(message.topic) maps to no bus topic under \(rule.template)")
            return
        }
        guard !needsAdmin(topic) else {
            metrics.dropped(.admin)
            if let suppressed = throttle.allow("admin") {
                logger.warning(
                    "refused MQTT message on \(message.topic): it maps to \(topic), which needs an admin key (the kernel's topics, or an admin route's)\(suppressed > 0 ? "; \(suppressed) more refused" : "")"
                )
            }
            // A request hears why at once (a remote rule's requester would wait out its timeout).
            if let responseTopic = message.responseTopic {
                _ = sendLive(
                    OutboundMessage(
                        topic: responseTopic,
                        payload: Array("\(topic) needs an admin key: requests from MQTT may not reach it".utf8), qos: 1,
                        retain: false, contentType: "text/plain; charset=utf-8",
                        userProperties: [.init(key: Self.errorProperty, value: "forbidden")],
                        correlationData: message.correlationData))
            }
            return
        }
        var headers = message.headers.filter { !OutboundMessage.isIdentityHeader($0.key) }
        headers["mqtt.topic"] = message.topic
        if message.retain { headers["mqtt.retain"] = "true" }
        let outgoing = Outgoing(message.payload, contentType: message.contentType, headers: headers)
        if let responseTopic = message.responseTopic {
            serve(outgoing, on: topic, responseTopic: responseTopic, correlation: message.correlationData)
            return
        }
        do {
            try context.bus.publish(topic, outgoing)
        } catch {
            metrics.dropped(.unroutable)
            logger.debug("could not publish \(topic): \(error)")
        }
    }

    /// Whether an imported message on bus `topic` would act with an admin key's power: the
    /// kernel's topics (a deploy loads any library), and the topic of any route a plugin declares
    /// with scope admin (or one that is not `public`, `read` or `write`), as the gateway's bus
    /// routes guard them. Anyone who can publish to the broker is no admin. The route topics are
    /// read again when the kernel's plugins generation moves.
    func needsAdmin(_ topic: String) -> Bool {
        if InboundRule.isKernelTopic(topic) { return true }
        let generation = context.pluginsGeneration
        if let known = adminTopics.withLock({ $0.generation == generation && generation != 0 ? $0.topics : nil }) {
            return known.contains(topic)
        }
        let topics: Set<String>
        do {
            topics = Set(
                try context.plugins().flatMap { plugin in
                    plugin.routes.filter { !["public", "read", "write"].contains($0.scope) }.map(\.topic)
                })
        } catch {
            // An isolated bridge cannot list plugins: the kernel's topics are still refused.
            if throttle.allow("plugins") != nil { logger.warning("cannot read the admin routes' topics: \(error)") }
            return false
        }
        adminTopics.withLock { $0 = (generation, topics) }
        return topics.contains(topic)
    }

    /// An MQTT 5 request from another node (or any MQTT 5 client): ask the bus, publish the reply
    /// (or the reason there is none) to its response topic with its correlation data.
    private func serve(_ request: Outgoing, on topic: String, responseTopic: String, correlation: [UInt8]?) {
        let bus = context.bus
        let timeout: Duration? = configuration.requestTimeoutMs > 0 ? .milliseconds(configuration.requestTimeoutMs) : nil
        let isV5 = settings.isV5
        Task {
            var response = OutboundMessage(
                topic: responseTopic, payload: [], qos: 1, retain: false, contentType: nil, userProperties: [],
                correlationData: correlation)
            do throws(JameyError) {
                let reply = try await bus.request(topic, request, timeout: timeout)
                response.payload = reply.payload
                response.contentType = isV5 ? reply.contentType : nil
                response.userProperties = OutboundMessage.userProperties(reply.headers)
            } catch {
                response.payload = Array(error.description.utf8)
                response.contentType = "text/plain; charset=utf-8"
                response.userProperties = [.init(key: Self.errorProperty, value: Self.errorKind(error))]
            }
            _ = self.sendLive(response)
        }
    }

    /// The status a requester on this node gets for a remote failure's `jamey-error` value.
    static func status(ofRemoteError kind: String) -> String {
        switch kind {
        case "forbidden": "403"
        case "handler_failed": "502"
        default: "503"
        }
    }

    /// The `jamey-error` value for a failed bus request.
    static func errorKind(_ failure: JameyError) -> String {
        switch failure.code {
        case .timeout: "timeout"
        case .noResponders: "no_responders"
        case .full: "full"
        case .shutdown: "shutdown"
        case .plugin: "handler_failed"
        default: "error"
        }
    }

    /// Responder of a remote rule: forwards a request to the node that serves it as an MQTT 5
    /// request and returns that node's reply (through ``handleResponse(_:)``).
    func forward(_ request: Message, rule: RemoteRule) async -> Outgoing {
        if request.source == context.name {
            return .text(
                "request to '\(request.topic)' came from MQTT and matches a remote rule of this node; not forwarding it back",
                headers: ["status": "508", "jamey.error": "loop"])
        }
        guard let topic = rule.mqttTopic(for: request.topic, node: node) else {
            return .text("no MQTT topic for '\(request.topic)'", headers: ["status": "404", "jamey.error": "unroutable"])
        }
        let broker = settings.broker
        return await withCheckedContinuation { continuation in
            let correlation = pending.add(continuation, topic: request.topic, timeout: rule.timeout)
            let message = OutboundMessage(
                topic: topic, payload: request.payload, qos: rule.qos, retain: false, contentType: request.contentType,
                userProperties: OutboundMessage.userProperties(request.headers), responseTopic: replyTopic,
                correlationData: correlation)
            if !sendLive(message) {
                pending.resume(
                    correlation,
                    with: .text(
                        "the mqtt bridge is not connected to \(broker); '\(request.topic)' is served by another node",
                        headers: ["status": "503", "jamey.error": "disconnected"]))
            }
        }
    }

    /// Loop thread: the response to a forwarded request. A remote timeout is not answered now, so
    /// the requester gets the bus's own timeout (or the rule's 504 if that comes first); other
    /// remote failures answer with status 503 (403 when refused, 502 when its handler failed).
    func handleResponse(_ message: IncomingMessage) {
        guard let correlation = message.correlationData else { return }
        let headers = message.headers.filter { !OutboundMessage.isIdentityHeader($0.key) }
        if let kind = headers[Self.errorProperty] {
            if kind == "timeout" { return }
            pending.resume(
                correlation,
                with: .text(
                    String(decoding: message.payload, as: UTF8.self),
                    headers: ["status": Self.status(ofRemoteError: kind), "jamey.error": kind]))
            return
        }
        pending.resume(correlation, with: Outgoing(message.payload, contentType: message.contentType, headers: headers))
    }
}
