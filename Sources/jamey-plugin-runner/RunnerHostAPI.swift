import CJameyABI
import Dispatch
import JameyIsolationWire

#if canImport(Glibc)
    import Glibc
#endif

/// The host function table the plugin gets inside the runner: each function forwards to the kernel
/// (publish, reply and metric records up the shared-memory ring, the rest over the socket), which
/// calls its own table on the plugin's behalf. What cannot cross a
/// process boundary (service tables, introspection and backups of other plugins) answers
/// `JAMEY_E_UNSUPPORTED`.
enum RunnerHostAPI {
    nonisolated(unsafe) static let registration: UnsafePointer<jamey_registration> = {
        let reg = UnsafeMutablePointer<jamey_registration>.allocate(capacity: 1)
        reg.initialize(to: jamey_registration())
        reg.pointee.struct_size = UInt32(MemoryLayout<jamey_registration>.size)
        reg.pointee.host_abi_major = UInt16(JAMEY_ABI_MAJOR)
        reg.pointee.host_abi_minor = UInt16(JAMEY_ABI_MINOR)
        reg.pointee.api = UnsafePointer(table)
        return UnsafePointer(reg)
    }()

    /// Whether `function` is refused because a `check` hook is running. The calls that go up
    /// the ring unanswered (publish, reply, metric_record) are refused here, with the warning the
    /// kernel gives in process; the kernel refuses those it answers (a check's context is
    /// read-only there).
    static func refusedInCheck(_ function: String) -> Bool {
        guard Runner.checking.load(ordering: .acquiring) else { return false }
        let text = Array(
            "called \(function) from its check hook, which jamey/plugin.h forbids (only config_*, log*, node_* and hook_time_left); refused"
                .utf8)
        var frame = WireWriter(.log, capacity: text.count + 8)
        frame.i32(Int32(JAMEY_LOG_WARNING.rawValue))
        text.withUnsafeBytes { frame.raw($0) }
        runner.socket.send(frame.finish())
        return true
    }

    nonisolated(unsafe) static let table: UnsafeMutablePointer<jamey_host_api> = {
        let api = UnsafeMutablePointer<jamey_host_api>.allocate(capacity: 1)
        api.initialize(to: jamey_host_api())
        api.pointee.struct_size = UInt32(MemoryLayout<jamey_host_api>.size)
        api.pointee.abi_major = UInt16(JAMEY_ABI_MAJOR)
        api.pointee.abi_minor = UInt16(JAMEY_ABI_MINOR)
        api.pointee.log = { _, level, message, len in
            guard let message else { return }
            var frame = WireWriter(.log, capacity: len + 8)
            frame.i32(level)
            frame.raw(UnsafeRawBufferPointer(start: message, count: len))
            runner.socket.send(frame.finish())
        }
        api.pointee.log_level = { _ in logLevel() }
        // The kernel sends each hook's deadline with it (Runner.hookDue).
        api.pointee.hook_time_left = { _ in
            let due = Runner.hookDue.load(ordering: .acquiring)
            guard due > 0 else { return -1 }
            let now = Dispatcher.now()
            return due > now ? Int64(clamping: due - now) : 0
        }
        api.pointee.log_fields = { _, level, message, len, fields, count in
            // A size_t past Int.max arrives negative: nothing (a range of it would trap).
            let n = fields == nil || count < 0 ? 0 : min(count, 64)
            guard len >= 0 else { return }
            var frame = WireWriter(.logFields, capacity: len + 64 * n + 16)
            frame.i32(level)
            frame.raw(UnsafeRawBufferPointer(start: message, count: message == nil ? 0 : len))
            frame.u32(UInt32(n))
            for i in 0..<n {
                let field = fields![i]
                frame.cString(field.key)
                frame.raw(UnsafeRawBufferPointer(start: field.value, count: field.value == nil ? 0 : max(0, field.value_len)))
            }
            runner.socket.send(frame.finish())
        }
        // Topics are checked here, as the kernel checks them in process, so the codes plugin.h
        // names come back from the call (a publish and a request go up without waiting for the
        // kernel: a bad topic was taken, then dropped or failed through done).
        api.pointee.publish = { _, message in
            if refusedInCheck("publish") { return JAMEY_E_INVALID }
            guard let message, lengthsValid(message), let topic = message.pointee.topic, TopicSyntax.isConcrete(topic) else {
                return JAMEY_E_INVALID
            }
            var frame = WireWriter(.publish, capacity: message.pointee.payload_len + 128)
            frame.message(message)
            return runner.up.send(frame.finish()) ? JAMEY_OK : JAMEY_E_SHUTDOWN
        }
        api.pointee.subscribe = { _, pattern, options, handler, userData, idOut in
            guard let pattern, let handler else { return JAMEY_E_INVALID }
            if let options, options.pointee.struct_size < UInt32(MemoryLayout<jamey_subscribe_options>.size) {
                return JAMEY_E_INVALID
            }
            let id = runner.nextSubscription.add(1, ordering: .relaxed).oldValue
            runner.subscriptions.withLock { $0[id] = RunnerSubscription(handler: handler, userData: userData) }
            let seq = runner.calls.sequence()
            var frame = WireWriter(.subscribe, capacity: 64)
            frame.u64(seq)
            frame.cString(pattern)
            frame.u32(options?.pointee.queue_capacity ?? 0)
            frame.u32(options?.pointee.overflow_policy ?? 0)
            frame.u32(options?.pointee.flags ?? 0)
            frame.u64(id)
            // Before the kernel routes it: a delivery can reach the handler first (plugin.h).
            idOut?.pointee = id
            let answer = runner.calls.call(seq, frame.finish(), over: runner.socket)
            guard answer.code == JAMEY_OK else {
                runner.subscriptions.withLock { _ = $0.removeValue(forKey: id) }
                return answer.code
            }
            return JAMEY_OK
        }
        api.pointee.unsubscribe = { _, id in
            guard let subscription = runner.subscriptions.withLock({ $0.removeValue(forKey: id) }) else {
                return JAMEY_E_NOT_FOUND
            }
            // The header's contract: after unsubscribe returns the handler does not run again, so
            // the plugin may free its user data. Deliveries already taken are skipped, and a
            // handler running on another thread is waited for (from its own handler: not, the
            // current invocation completes).
            subscription.closed.store(true, ordering: .sequentiallyConsistent)
            if Runner.running != Unmanaged.passUnretained(subscription).toOpaque() {
                // Only a call in progress: later deliveries see `closed` and are skipped.
                while subscription.calling.load(ordering: .sequentiallyConsistent) > 0 { usleep(50) }
            }
            let seq = runner.calls.sequence()
            var frame = WireWriter(.unsubscribe, capacity: 16)
            frame.u64(seq)
            frame.u64(id)
            return runner.calls.call(seq, frame.finish(), over: runner.socket).code
        }
        api.pointee.request = { _, message, timeout, done, userData in
            startRequest(message, timeout, done, userData)
        }
        api.pointee.request_v2 = { _, message, timeout, flags, done, userData in
            guard flags & ~JAMEY_REQUEST_DONE_ANY_THREAD == 0 else { return JAMEY_E_INVALID }
            return startRequest(message, timeout, done, userData)
        }
        api.pointee.request_sync = { _, message, timeout, handler, userData in
            if refusedInCheck("request_sync") { return JAMEY_E_INVALID }
            guard let message, lengthsValid(message), let topic = message.pointee.topic, TopicSyntax.isConcrete(topic) else {
                return JAMEY_E_INVALID
            }
            let seq = runner.calls.sequence()
            let answer = runner.calls.call(seq, requestFrame(seq, message, timeout), over: runner.socket)
            guard answer.code == JAMEY_OK else { return answer.code }
            guard let reply = answer.reply, let handler else { return JAMEY_OK }
            return reply.withUnsafeBytes { bytes in
                var reader = WireReader(bytes)
                return reader.withMessage { handler(userData, $0) }.map { _ in JAMEY_OK } ?? JAMEY_E_INVALID
            }
        }
        api.pointee.reply = { _, request, reply in
            if refusedInCheck("reply") { return JAMEY_E_INVALID }
            guard let request, let reply, lengthsValid(reply), request.pointee.reply_to != nil else { return JAMEY_E_INVALID }
            var frame = WireWriter(.reply, capacity: reply.pointee.payload_len + 128)
            frame.u64(request.pointee.correlation_id)
            frame.message(reply)
            Runner.noteReply(to: request.pointee.correlation_id)
            return runner.up.send(frame.finish()) ? JAMEY_OK : JAMEY_E_SHUTDOWN
        }
        api.pointee.metric_register = { _, desc, idOut in
            guard let desc, let name = desc.pointee.name else { return JAMEY_E_INVALID }
            let seq = runner.calls.sequence()
            var frame = WireWriter(.metricRegister, capacity: 128)
            frame.u64(seq)
            frame.u32(desc.pointee.kind)
            frame.cString(name)
            frame.optionalCString(desc.pointee.help)
            let labels = desc.pointee.labels == nil ? 0 : desc.pointee.label_count
            frame.u32(UInt32(labels))
            for index in 0..<labels {
                frame.cString(desc.pointee.labels[index].key)
                frame.cString(desc.pointee.labels[index].value)
            }
            let buckets = desc.pointee.buckets == nil ? 0 : desc.pointee.bucket_count
            frame.u32(UInt32(buckets))
            for index in 0..<buckets { frame.f64(desc.pointee.buckets[index]) }
            let answer = runner.calls.call(seq, frame.finish(), over: runner.socket)
            if answer.code == JAMEY_OK { idOut?.pointee = answer.value }
            return answer.code
        }
        api.pointee.metric_record = { _, id, op, value in
            if refusedInCheck("metric_record") { return JAMEY_E_INVALID }
            var frame = WireWriter(.metricRecord, capacity: 24)
            frame.u64(id)
            frame.i32(op)
            frame.f64(value)
            return runner.up.send(frame.finish()) ? JAMEY_OK : JAMEY_E_SHUTDOWN
        }
        api.pointee.metrics_exposition = { _, _, _ in JAMEY_E_UNSUPPORTED }
        api.pointee.service_register = { _, _, _, _, _ in JAMEY_E_UNSUPPORTED }
        api.pointee.service_unregister = { _, _ in JAMEY_E_UNSUPPORTED }
        api.pointee.service_lookup = { _, _, _, _, _ in JAMEY_E_UNSUPPORTED }
        api.pointee.data_dir = { _ in runner.dataDir }
        api.pointee.node_name = { _ in runner.nodeName }
        api.pointee.node_id = { _ in runner.nodeID }
        api.pointee.config_string = { _, key, out in
            let answer = config(0, key)
            guard answer.code == JAMEY_OK, let key, let out else { return answer.code }
            out.pointee = runner.configStrings.withLock { strings in
                let name = String(cString: key)
                if let kept = strings[name], String(cString: kept) == answer.text { return kept }
                let copy = UnsafePointer(strdup(answer.text)!)
                strings[name] = copy
                return copy
            }
            return JAMEY_OK
        }
        api.pointee.config_int = { _, key, out in
            let answer = config(1, key)
            if answer.code == JAMEY_OK { out?.pointee = Int64(bitPattern: answer.value) }
            return answer.code
        }
        api.pointee.config_double = { _, key, out in
            let answer = config(2, key)
            if answer.code == JAMEY_OK { out?.pointee = Double(bitPattern: answer.value) }
            return answer.code
        }
        api.pointee.config_bool = { _, key, out in
            let answer = config(3, key)
            if answer.code == JAMEY_OK { out?.pointee = Int32(answer.value) }
            return answer.code
        }
        api.pointee.plugins_json = { _, _, _ in JAMEY_E_UNSUPPORTED }
        api.pointee.plugin_list = { _, _, _ in JAMEY_E_UNSUPPORTED }
        api.pointee.plugins_generation = { _ in 0 }
        api.pointee.plugin_snapshot = { _, _, _, _, _ in JAMEY_E_UNSUPPORTED }
        api.pointee.plugin_restore = { _, _, _, _, _, _, _ in JAMEY_E_UNSUPPORTED }
        return api
    }()

    /// The runner, once the entry point returned. plugin.h allows no host call from the entry
    /// point; in process the kernel refuses one (JAMEY_E_STATE, logged), here nothing can answer
    /// it yet, so the runner ends saying which rule the plugin broke (it ended on a nil runner).
    static var runner: Runner {
        guard let runner = Runner.shared else {
            fail(
                "the plugin called a host function from its entry point (jamey_plugin_register), which plugin.h forbids: call it from init or later"
            )
        }
        return runner
    }

    /// Whether a message's lengths are lengths: `size_t` arrives as Int, and 2^63 or more (a
    /// failed read()'s (size_t)-1) is negative, which the frame writer took as a count (the
    /// kernel refuses it in process with JAMEY_E_INVALID; here it crashed the plugin's process).
    static func lengthsValid(_ message: UnsafePointer<jamey_message>) -> Bool {
        message.pointee.payload_len >= 0 && message.pointee.header_count >= 0
    }

    static func requestFrame(_ seq: UInt64, _ message: UnsafePointer<jamey_message>, _ timeout: UInt32) -> [UInt8] {
        var frame = WireWriter(.request, capacity: message.pointee.payload_len + 128)
        frame.u64(seq)
        frame.u32(timeout)
        frame.message(message)
        return frame.finish()
    }

    static func startRequest(
        _ message: UnsafePointer<jamey_message>?, _ timeout: UInt32, _ done: jamey_reply_fn?,
        _ userData: UnsafeMutableRawPointer?
    ) -> Int32 {
        if refusedInCheck("request") { return JAMEY_E_INVALID }
        guard let message, lengthsValid(message), let topic = message.pointee.topic, TopicSyntax.isConcrete(topic), let done
        else {
            return JAMEY_E_INVALID
        }
        let seq = runner.calls.sequence()
        runner.requests.withLock { $0[seq] = RunnerRequest(done: done, userData: userData) }
        guard runner.socket.send(requestFrame(seq, message, timeout)) else {
            runner.requests.withLock { _ = $0.removeValue(forKey: seq) }
            return JAMEY_E_SHUTDOWN
        }
        return JAMEY_OK
    }

    static func config(_ type: UInt8, _ key: UnsafePointer<CChar>?) -> CallAnswer {
        guard let key else { return CallAnswer(code: JAMEY_E_INVALID) }
        let seq = runner.calls.sequence()
        var frame = WireWriter(.config, capacity: 64)
        frame.u64(seq)
        frame.u8(type)
        frame.cString(key)
        return runner.calls.call(seq, frame.finish(), over: runner.socket)
    }

    /// The kernel's log level, asked at most once a second.
    static func logLevel() -> Int32 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let ms = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
        if let cached = runner.logLevelCache.withLock({ ms &- $0.at < 1000 && $0.at != 0 ? $0.level : nil }) {
            return cached
        }
        let seq = runner.calls.sequence()
        var frame = WireWriter(.logLevel, capacity: 8)
        frame.u64(seq)
        let level = Int32(truncatingIfNeeded: runner.calls.call(seq, frame.finish(), over: runner.socket).value)
        runner.logLevelCache.withLock { $0 = (level, ms) }
        return level
    }
}
