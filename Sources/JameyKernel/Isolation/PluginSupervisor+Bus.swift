import CJameyABI
import JameyIsolationWire

#if canImport(Glibc)
    import Glibc
#endif

extension PluginSupervisor {
    /// Sends a message of one of the plugin's subscriptions to the child (any thread; never
    /// waits for the plugin). While the child is down, a request is answered with a 503 reply.
    func deliver(_ message: UnsafePointer<jamey_message>, to subscription: ProxySubscription) -> Int32 {
        let replyTo = message.pointee.reply_to.map { String(cString: $0) }
        let (runnerID, generation) = subscription.bound
        let started = MonotonicClock.now()
        let target = state.withLock { s -> (IsolatedChild, UInt64)? in
            guard let child = s.child, child.generation == generation, s.quarantine == nil else { return nil }
            let id = s.nextDelivery
            s.nextDelivery += 1
            let topic = message.pointee.topic.map { String(cString: $0) } ?? ""
            s.deliveries[id] = Delivery(
                started: started, replyTo: replyTo, correlation: message.pointee.correlation_id, topic: topic)
            return (child, id)
        }
        guard let (child, delivery) = target else {
            if let replyTo { answerUnavailable(replyTo: replyTo, correlation: message.pointee.correlation_id, downSentence()) }
            return JAMEY_OK
        }
        var frame = WireWriter(.deliver, capacity: message.pointee.payload_len + 256)
        frame.u64(runnerID)
        frame.u64(delivery)
        frame.message(message, correlation: delivery)
        let bytes = frame.finish()
        let correlation = message.pointee.correlation_id
        if Self.readingUp && !child.down.trySend(bytes) {
            // This thread reads the ring up (a publish of the plugin's came back to one of its
            // own subscriptions): it must not wait for room down, or with both rings full each
            // side would wait for the other. The frame waits on the child's spill queue instead.
            child.spill.async { [self] in
                if !child.down.send(bytes) { lost(delivery, replyTo: replyTo, correlation: correlation) }
            }
            return JAMEY_OK
        }
        if !Self.readingUp && !child.down.send(bytes) {
            lost(delivery, replyTo: replyTo, correlation: correlation)
        } else if replyTo != nil && subscription.waitsForReplies && !Self.readingUp
            && subscription.worthWaiting(within: Self.replyWaitNanoseconds)
        {
            subscription.recordReply(after: awaitReply(delivery, from: child), limit: Self.replyWaitNanoseconds)
        }
        return JAMEY_OK
    }

    /// A delivery that could not be written (the child is gone): a request gets its 503.
    private func lost(_ delivery: UInt64, replyTo: String?, correlation: UInt64) {
        let lost = state.withLock { $0.deliveries.removeValue(forKey: delivery) }
        if lost != nil, let replyTo { answerUnavailable(replyTo: replyTo, correlation: correlation, downSentence()) }
    }

    /// How long a requester's thread reads the ring for its own reply before leaving it to the
    /// ring's reader thread.
    static let replyWaitNanoseconds: UInt64 = 50_000

    /// On the requester's thread (a responder's proxy is direct): reads the ring up for the reply
    /// to `delivery` for at most ``replyWaitNanoseconds``, handling whatever frames come, so a
    /// quick reply goes back to the requester without waking another thread. (A responder whose
    /// replies take longer is not waited for: ``ProxySubscription/worthWaiting(within:)``.)
    /// - Returns: how long the reply took; nil when it did not come within the wait.
    func awaitReply(_ delivery: UInt64, from child: IsolatedChild) -> UInt64? {
        let start = MonotonicClock.now()
        var rounds = 0
        return child.up.whileReading { () -> UInt64? in
            while true {
                let now = MonotonicClock.now()
                guard now &- start < Self.replyWaitNanoseconds else { return nil }
                if child.up.hasData, drainUp(child) == .ended { return nil }
                if state.withLock({ $0.deliveries[delivery] == nil }) { return now &- start }
                rounds += 1
                if rounds % 16 == 0 { sched_yield() }
            }
        }
    }

    /// Why requests are refused right now.
    func downSentence() -> String {
        let (quarantine, lastExit) = state.withLock { ($0.quarantine, $0.lastExit) }
        if let quarantine { return "plugin '\(host.name)' is \(quarantine)" }
        return unavailableSentence(lastExit ?? "is not running")
    }

    func unavailableSentence(_ reason: String) -> String {
        "plugin '\(host.name)' is restarting: its process \(reason); try again shortly"
    }

    /// Replies 503 (problem+json, `Retry-After: 1`) to a request the plugin cannot answer.
    func answerUnavailable(replyTo: String, correlation: UInt64, _ detail: String) {
        let escaped = detail.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let body = Array(
            #"{"type":"urn:jamey:problem:plugin-unavailable","title":"Service Unavailable","status":503,"detail":"\#(escaped)"}"#
                .utf8)
        "status".withCString { statusKey in
            "503".withCString { statusValue in
                "http.header.retry-after".withCString { retryKey in
                    "1".withCString { retryValue in
                        let headers = [jamey_kv(key: statusKey, value: statusValue), jamey_kv(key: retryKey, value: retryValue)]
                        "application/problem+json".withCString { type in
                            headers.withUnsafeBufferPointer { kvs in
                                body.withUnsafeBytes { payload in
                                    var reply = jamey_message()
                                    reply.struct_size = UInt32(MemoryLayout<jamey_message>.size)
                                    reply.payload = payload.baseAddress
                                    reply.payload_len = payload.count
                                    reply.content_type = type
                                    reply.headers = kvs.baseAddress
                                    reply.header_count = kvs.count
                                    sendReply(replyTo: replyTo, correlation: correlation, &reply)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Replies through the kernel's own host function, as the plugin would in process.
    func sendReply(replyTo: String, correlation: UInt64, _ reply: UnsafePointer<jamey_message>) {
        replyTo.withCString { address in
            var request = jamey_message()
            request.struct_size = UInt32(MemoryLayout<jamey_message>.size)
            request.topic = address
            request.reply_to = address
            request.correlation_id = correlation
            _ = HostAPI.table.pointee.reply!(host.opaque, &request, reply)
        }
    }

    // MARK: Frames from the child

    /// Handles one frame from the child, on its reader thread.
    func handle(_ kind: FrameKind?, _ body: UnsafeRawBufferPointer, from child: IsolatedChild) {
        var reader = WireReader(body)
        let api = HostAPI.table.pointee
        switch kind {
        case .hookResult:
            let seq = reader.u64()
            let code = reader.i32()
            child.finishHook(seq, code: code, text: reader.string())
        case .log:
            let level = reader.i32()
            let text = reader.raw()
            text.withMemoryRebound(to: CChar.self) { api.log!(host.opaque, level, $0.baseAddress, $0.count) }
        case .logFields:
            let level = reader.i32()
            let text = reader.raw()
            let count = Int(min(reader.u32(), 64))
            var keys: [[UInt8]] = []
            var values: [UnsafeRawBufferPointer] = []
            for _ in 0..<count {
                keys.append(Array(reader.raw()) + [0])  // NUL-terminated, as the ABI has them
                values.append(reader.raw())  // into the frame, valid during this call
            }
            logFields(level, text, keys: keys, values: values, api: api)
        case .publish:
            _ = reader.withMessage { api.publish!(host.opaque, $0) }
        case .reply:
            let delivery = reader.u64()
            guard let target = state.withLock({ $0.deliveries.removeValue(forKey: delivery) }), let replyTo = target.replyTo
            else {
                return
            }
            _ = reader.withMessage { sendReply(replyTo: replyTo, correlation: target.correlation, $0) }
        case .handled:
            let delivery = reader.u64()
            let code = reader.i32()
            let failedRequest = state.withLock { s -> Delivery? in
                guard var d = s.deliveries[delivery] else { return nil }
                if d.replyTo == nil || code != JAMEY_OK {
                    s.deliveries.removeValue(forKey: delivery)
                    return code != JAMEY_OK && d.replyTo != nil ? d : nil
                }
                d.running = false
                s.deliveries[delivery] = d
                return nil
            }
            // As in process: a request its handler failed without replying to is answered now.
            if let failedRequest, failedRequest.replyTo == RequestTimer.replyAddress, failedRequest.correlation != 0 {
                host.endpoint.bus.requests.failAsAReplyWould(id: failedRequest.correlation, with: .handlerFailed)
            }
        case .subscribe: subscribe(&reader, child)
        case .unsubscribe:
            let seq = reader.u64()
            let runnerID = reader.u64()
            let found = state.withLock { $0.subscriptions.removeValue(forKey: runnerID) }
            let code = found.map { api.unsubscribe!(host.opaque, $0.kernelID) } ?? JAMEY_E_NOT_FOUND
            // Once unsubscribe has returned the bus never calls its handler again: the proxy
            // need not be kept (an event stream per connection added one for good).
            if code == JAMEY_OK, let found { forget([found]) }
            answer(child, seq, code)
        case .request: request(&reader, child)
        case .metricRegister: registerMetric(&reader, child)
        case .metricRecord:
            let id = reader.u64()
            let op = reader.i32()
            _ = api.metric_record!(host.opaque, id, op, reader.f64())
        case .config: config(&reader, child)
        case .logLevel:
            let seq = reader.u64()
            answer(child, seq, JAMEY_OK, value: UInt64(bitPattern: Int64(api.log_level!(host.opaque))))
        default:
            break
        }
    }

    /// Writes an isolated plugin's `log_fields` line through the kernel's, as if it ran in process.
    private func logFields(
        _ level: Int32, _ text: UnsafeRawBufferPointer, keys: [[UInt8]], values: [UnsafeRawBufferPointer], api: jamey_host_api
    ) {
        // Every key in one buffer, each NUL-terminated, so one scope holds all their addresses.
        var offsets: [Int] = []
        var all: [UInt8] = []
        for key in keys {
            offsets.append(all.count)
            all += key
        }
        all.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { keyBytes in
                let fields = zip(offsets, values).map { offset, value in
                    jamey_log_field(
                        key: keyBytes.baseAddress! + offset, value: value.baseAddress?.assumingMemoryBound(to: CChar.self),
                        value_len: value.count)
                }
                text.withMemoryRebound(to: CChar.self) { message in
                    api.log_fields!(host.opaque, level, message.baseAddress, message.count, fields, fields.count)
                }
            }
        }
    }

    /// Sends the answer to a call of the child's.
    func answer(_ child: IsolatedChild, _ seq: UInt64, _ code: Int32, value: UInt64 = 0, text: String = "") {
        var frame = WireWriter(.result, capacity: 32 + text.utf8.count)
        frame.u64(seq)
        frame.i32(code)
        frame.u64(value)
        frame.string(text)
        child.socket.send(frame.finish())
    }

    private func subscribe(_ reader: inout WireReader, _ child: IsolatedChild) {
        let seq = reader.u64()
        let pattern = reader.string()
        var options = jamey_subscribe_options()
        options.struct_size = UInt32(MemoryLayout<jamey_subscribe_options>.size)
        options.queue_capacity = reader.u32()
        options.overflow_policy = reader.u32()
        options.flags = reader.u32()
        let runnerID = reader.u64()
        let reused = state.withLock { s -> ProxySubscription? in
            guard let index = s.dormant.firstIndex(where: { $0.pattern == pattern && $0.flags == options.flags }) else {
                return nil
            }
            let subscription = s.dormant.remove(at: index)
            subscription.rebind(runnerID: runnerID, generation: child.generation)
            s.subscriptions[runnerID] = subscription
            return subscription
        }
        if let reused { return answer(child, seq, JAMEY_OK, value: reused.kernelID) }
        let subscription = ProxySubscription(
            supervisor: self, pattern: pattern, flags: options.flags, runnerID: runnerID, generation: child.generation)
        state.withLock { $0.all.append(subscription) }
        // A responder's proxy is direct: the requester's thread writes the request into the ring
        // and reads the reply itself when it comes quickly (``awaitReply``), which saves two
        // thread hand-offs per request. Other subscriptions keep the plugin's flags (a bus worker
        // writes into the ring, behind the subscription's queue and overflow policy).
        if subscription.waitsForReplies { options.flags |= JAMEY_SUBSCRIBE_DIRECT }
        var kernelID: UInt64 = 0
        let code = pattern.withCString { text in
            HostAPI.table.pointee.subscribe!(
                host.opaque, text, &options, ProxySubscription.handler, Unmanaged.passUnretained(subscription).toOpaque(),
                &kernelID)
        }
        guard code == JAMEY_OK else { return answer(child, seq, code) }
        subscription.kernelIDStore.store(kernelID, ordering: .releasing)
        state.withLock { $0.subscriptions[runnerID] = subscription }
        answer(child, seq, JAMEY_OK, value: kernelID)
    }
}
