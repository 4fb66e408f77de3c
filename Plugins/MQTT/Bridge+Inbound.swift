import CJameyABI
import JameyPluginKit

extension Bridge {
    /// The user property naming why a node could not answer a forwarded request
    /// (`timeout`, `no_responders`, `full`, `shutdown`, `error`).
    static let errorProperty = "jamey-error"

    /// Loop thread: a message from the broker. Responses go to their waiting requester, status
    /// messages to presence, the rest through the inbound rules that match onto the bus (an MQTT
    /// 5 request becomes a bus request whose reply goes back to its response topic).
    func received(_ message: IncomingMessage) {
        metrics.received(bytes: message.payload.count)
        var rules: [InboundRule] = []
        if message.subscriptionIDs.isEmpty {
            if settings.isV5 && message.topic == replyTopic { return handleResponse(message) }
            if let base = presenceBase, message.topic.hasPrefix(base + "/"), !message.topic.dropFirst(base.count + 1).contains("/") {
                return handlePresence(message)
            }
            if let rule = inbound.first(where: { $0.filter.match(message.topic) != nil }) { rules = [rule] }
        } else {
            for id in Set(message.subscriptionIDs).sorted() {
                switch id {
                case Self.replySubscriptionID: handleResponse(message)
                case Self.presenceSubscriptionID: handlePresence(message)
                case let id where inbound.indices.contains(id - Self.inboundSubscriptionBase):
                    rules.append(inbound[id - Self.inboundSubscriptionBase])
                default: break
                }
            }
            if message.subscriptionIDs.allSatisfy({ $0 < Self.inboundSubscriptionBase }) { return }
        }
        guard !rules.isEmpty else {
            metrics.dropped(.unroutable)
            return
        }
        for rule in rules { importMessage(message, rule: rule) }
    }

    private func importMessage(_ message: IncomingMessage, rule: InboundRule) {
        guard let topic = rule.busTopic(for: message.topic, node: node) else {
            metrics.dropped(.unroutable)
            logger.debug("MQTT topic \(message.topic) maps to no bus topic under \(rule.template)")
            return
        }
        var headers = message.headers
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
            do throws(BusFailure) {
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

    /// The `jamey-error` value for a failed bus request.
    static func errorKind(_ failure: BusFailure) -> String {
        if failure.isTimeout { return "timeout" }
        if failure.isNoResponders { return "no_responders" }
        switch failure.code {
        case JAMEY_E_FULL: return "full"
        case JAMEY_E_SHUTDOWN: return "shutdown"
        default: return "error"
        }
    }

    /// Bus handler of a remote rule: forwards a request to the node that serves it as an MQTT 5
    /// request; the reply comes back through ``handleResponse(_:)``.
    func forward(_ request: Message, rule: RemoteRule) {
        guard request.isRequest else { return }
        let bus = context.bus
        if request.source == context.name {
            bus.reply(
                to: request,
                .text(
                    "request to '\(request.topic)' came from MQTT and matches a remote rule of this node; not forwarding it back",
                    headers: ["status": "508", "jamey.error": "loop"]))
            return
        }
        guard let topic = rule.mqttTopic(for: request.topic, node: node) else { return }
        let correlation = pending.add(request, timeout: rule.timeout)
        let message = OutboundMessage(
            topic: topic, payload: request.payload, qos: rule.qos, retain: false, contentType: request.contentType,
            userProperties: OutboundMessage.userProperties(request.headers), responseTopic: replyTopic,
            correlationData: correlation)
        guard sendLive(message) else {
            pending.remove(correlation)
            bus.reply(
                to: request,
                .text(
                    "the mqtt bridge is not connected to \(settings.broker); '\(request.topic)' is served by another node",
                    headers: ["status": "503", "jamey.error": "disconnected"]))
            return
        }
    }

    /// Loop thread: the response to a forwarded request. A remote timeout is not answered, so the
    /// requester gets the bus's own timeout; other remote failures answer with status 503.
    func handleResponse(_ message: IncomingMessage) {
        guard let correlation = message.correlationData, let request = pending.take(correlation) else { return }
        let headers = message.headers
        if let kind = headers[Self.errorProperty] {
            if kind == "timeout" { return }
            context.bus.reply(
                to: request,
                .text(String(decoding: message.payload, as: UTF8.self), headers: ["status": "503", "jamey.error": kind]))
            return
        }
        context.bus.reply(to: request, Outgoing(message.payload, contentType: message.contentType, headers: headers))
    }
}
