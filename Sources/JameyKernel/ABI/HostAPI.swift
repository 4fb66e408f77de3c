import CJameyABI
import Dispatch
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The host function table every plugin receives, built once for the process.
///
/// Each entry is a `@convention(c)` function that turns the caller's `jamey_host *` back into its
/// ``PluginHost`` and forwards to the kernel. Nothing here throws across the boundary: every
/// failure becomes one of the `JAMEY_E_*` codes documented in `jamey/plugin.h`.
enum HostAPI {
    /// The registration passed to every plugin's entry point.
    nonisolated(unsafe) static let registration: UnsafePointer<jamey_registration> = {
        let reg = UnsafeMutablePointer<jamey_registration>.allocate(capacity: 1)
        reg.initialize(to: jamey_registration())
        reg.pointee.struct_size = UInt32(MemoryLayout<jamey_registration>.size)
        reg.pointee.host_abi_major = UInt16(JAMEY_ABI_MAJOR)
        reg.pointee.host_abi_minor = UInt16(JAMEY_ABI_MINOR)
        reg.pointee.api = UnsafePointer(table)
        return UnsafePointer(reg)
    }()

    /// The host function table.
    nonisolated(unsafe) static let table: UnsafeMutablePointer<jamey_host_api> = {
        let api = UnsafeMutablePointer<jamey_host_api>.allocate(capacity: 1)
        api.initialize(to: jamey_host_api())
        api.pointee.struct_size = UInt32(MemoryLayout<jamey_host_api>.size)
        api.pointee.abi_major = UInt16(JAMEY_ABI_MAJOR)
        api.pointee.abi_minor = UInt16(JAMEY_ABI_MINOR)
        api.pointee.log = hostLog
        api.pointee.log_level = hostLogLevel
        api.pointee.publish = hostPublish
        api.pointee.subscribe = hostSubscribe
        api.pointee.unsubscribe = hostUnsubscribe
        api.pointee.request = hostRequest
        api.pointee.request_sync = hostRequestSync
        api.pointee.reply = hostReply
        api.pointee.metric_register = hostMetricRegister
        api.pointee.metric_record = hostMetricRecord
        api.pointee.metrics_exposition = hostMetricsExposition
        api.pointee.service_register = hostServiceRegister
        api.pointee.service_unregister = hostServiceUnregister
        api.pointee.service_lookup = hostServiceLookup
        api.pointee.data_dir = hostDataDir
        api.pointee.node_name = hostNodeName
        api.pointee.node_id = hostNodeID
        api.pointee.config_string = hostConfigString
        api.pointee.config_int = hostConfigInt
        api.pointee.config_double = hostConfigDouble
        api.pointee.config_bool = hostConfigBool
        api.pointee.plugins_json = hostPluginsJSON
        api.pointee.request_v2 = hostRequestV2
        api.pointee.plugin_list = hostPluginList
        api.pointee.plugins_generation = hostPluginsGeneration
        api.pointee.plugin_snapshot = hostPluginSnapshot
        api.pointee.plugin_restore = hostPluginRestore
        api.pointee.log_fields = hostLogFields
        api.pointee.hook_time_left = hostHookTimeLeft
        return api
    }()
}

/// Resolves the caller's context; nil for NULL or a context whose plugin was deinitialised.
@inline(__always)
func resolveHost(_ host: OpaquePointer?, _ function: StaticString) -> PluginHost? {
    if EntryPointGuard.isActive, EntryPointGuard.refuse(function) { return nil }
    guard let host else { return nil }
    let object = Unmanaged<PluginHost>.fromOpaque(UnsafeRawPointer(host)).takeUnretainedValue()
    guard object.isValid, !object.refusesInCheck(function) else { return nil }
    return object
}

// MARK: - Deadlines

private let hostHookTimeLeft: @convention(c) (OpaquePointer?) -> Int64 = { host in
    guard let left = resolveHost(host, "hook_time_left")?.hookTimeLeft else { return -1 }
    return left.wholeNanoseconds
}

// MARK: - Logging

private let hostLog: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, Int) -> Void = {
    host, level, message, len in
    guard let plugin = resolveHost(host, "log"), let message, len >= 0 else { return }
    let level = Logger.Level(abi: level)
    if let text = plugin.textLog, KernelLogHandler.writesText {
        text.log(level: level, message: UnsafeRawBufferPointer(start: message, count: len))
        return
    }
    guard level >= plugin.logger.logLevel else { return }
    let text = String(decoding: UnsafeRawBufferPointer(start: message, count: len), as: UTF8.self)
    plugin.logger.log(level: level, Logger.Message(stringLiteral: text))
}

private let hostLogFields:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, Int, UnsafePointer<jamey_log_field>?, Int) -> Void = {
        host, level, message, len, fields, count in
        guard let plugin = resolveHost(host, "log_fields"), len >= 0, count >= 0 else { return }
        let level = Logger.Level(abi: level)
        let text = message.map { UnsafeRawBufferPointer(start: $0, count: len) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let n = fields == nil ? 0 : min(count, LogFields.limit)
        if let handler = plugin.textLog, KernelLogHandler.writesText {
            guard level >= handler.logLevel else { return }
            var line: [UInt8] = []
            line.reserveCapacity(text.count + n * 32)
            line += text
            for i in 0..<n {
                LogFields.appendText(key: LogFields.key(fields![i].key), value: LogFields.value(fields![i]), to: &line)
            }
            line.withUnsafeBytes { handler.log(level: level, message: $0) }
            return
        }
        guard level >= plugin.logger.logLevel else { return }
        var metadata: Logger.Metadata = [:]
        for i in 0..<n {
            metadata[LogFields.key(fields![i].key)] = .string(String(decoding: LogFields.value(fields![i]), as: UTF8.self))
        }
        plugin.logger.log(level: level, Logger.Message(stringLiteral: String(decoding: text, as: UTF8.self)), metadata: metadata)
    }

private let hostLogLevel: @convention(c) (OpaquePointer?) -> Int32 = { host in
    guard let plugin = resolveHost(host, "log_level") else { return Int32(JAMEY_LOG_INFO.rawValue) }
    return plugin.logger.logLevel.abiValue
}

extension Logger.Level {
    init(abi: Int32) {
        switch abi {
        case ..<1: self = .trace
        case 1: self = .debug
        case 2: self = .info
        case 3: self = .notice
        case 4: self = .warning
        case 5: self = .error
        default: self = .critical
        }
    }

    var abiValue: Int32 {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }
}

// MARK: - Bus

private let hostPublish: @convention(c) (OpaquePointer?, UnsafePointer<jamey_message>?) -> Int32 = {
    host, message in
    // The host object is borrowed for the call, not retained (it outlives its plugin's calls).
    withHost(host, "publish") { plugin in
        guard let message else { return JAMEY_E_INVALID }
        return publish(plugin, message)
    } ?? JAMEY_E_INVALID
}

/// `body` with the plugin host `host` designates, borrowed without reference counting (the
/// hot paths' ``resolveHost(_:_:)``); nil when `host` is not a live host.
@inline(__always)
private func withHost<R>(_ host: OpaquePointer?, _ function: StaticString, _ body: (PluginHost) -> R) -> R? {
    if EntryPointGuard.isActive, EntryPointGuard.refuse(function) { return nil }
    guard let host else { return nil }
    return Unmanaged<PluginHost>.fromOpaque(UnsafeRawPointer(host))._withUnsafeGuaranteedRef { plugin in
        plugin.isValid && !plugin.refusesInCheck(function) ? body(plugin) : nil
    }
}

/// `publish`, for a resolved host.
@inline(__always)
private func publish(_ plugin: PluginHost, _ message: UnsafePointer<jamey_message>) -> Int32 {
    do throws(BusError) {
        // An event of plain bytes (the common case) goes to C handlers without a BusMessage.
        let m = message.pointee
        if m.struct_size >= UInt32(MemoryLayout<jamey_message>.size), let topic = m.topic, m.content_type == nil,
            m.header_count == 0, m.payload_len >= 0, m.payload_len <= compactPayloadLimit,
            m.payload != nil || m.payload_len == 0,
            try plugin.endpoint.publishCompact(
                topic: topic, payload: UnsafeRawBufferPointer(start: m.payload, count: m.payload_len))
        {
            return JAMEY_OK
        }
        guard let bus = BusMessage(abi: message) else { return JAMEY_E_INVALID }
        try plugin.endpoint.publish(taking: bus)
        return JAMEY_OK
    } catch {
        return error.abiCode
    }
}

/// The largest payload published without a ``BusMessage`` (see
/// ``BusEndpoint/publishCompact(topic:payload:)``); a larger one is queued as a message.
private let compactPayloadLimit = 64 * 1024

private let hostSubscribe:
    @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<jamey_subscribe_options>?, jamey_message_handler_fn?,
        UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt64>?
    ) -> Int32 = { host, pattern, options, handler, userData, idOut in
        guard let plugin = resolveHost(host, "subscribe"), let pattern, let handler else { return JAMEY_E_INVALID }
        var capacity: Int? = nil
        var overflow = OverflowPolicy.dropNewest
        var responder = false
        var direct = false
        var eventsOnly = false
        if let options {
            guard options.pointee.struct_size >= UInt32(MemoryLayout<jamey_subscribe_options>.size) else {
                return JAMEY_E_INVALID
            }
            if options.pointee.queue_capacity > 0 { capacity = Int(options.pointee.queue_capacity) }
            switch options.pointee.overflow_policy {
            case JAMEY_OVERFLOW_DROP_NEWEST: overflow = .dropNewest
            case JAMEY_OVERFLOW_DROP_OLDEST: overflow = .dropOldest
            default: return JAMEY_E_INVALID
            }
            let known = JAMEY_SUBSCRIBE_RESPONDER | JAMEY_SUBSCRIBE_DIRECT | JAMEY_SUBSCRIBE_EVENTS_ONLY
            guard options.pointee.flags & ~known == 0 else { return JAMEY_E_INVALID }
            responder = options.pointee.flags & JAMEY_SUBSCRIBE_RESPONDER != 0
            direct = options.pointee.flags & JAMEY_SUBSCRIBE_DIRECT != 0
            eventsOnly = options.pointee.flags & JAMEY_SUBSCRIBE_EVENTS_ONLY != 0
            guard !(responder && eventsOnly) else { return JAMEY_E_INVALID }
        }
        do throws(BusError) {
            // The id is written before the subscription is routed: plugin.h lets a handler run
            // on another thread before subscribe returns, and it may read the id.
            try plugin.endpoint.subscribe(
                String(cString: pattern), capacity: capacity, overflow: overflow, responder: responder, direct: direct,
                eventsOnly: eventsOnly,
                handler: .plugin(.init(function: handler, context: userData, crashLabel: plugin.crashLabel)),
                announce: { idOut?.pointee = $0 })
            return JAMEY_OK
        } catch {
            return error.abiCode
        }
    }

private let hostUnsubscribe: @convention(c) (OpaquePointer?, UInt64) -> Int32 = { host, id in
    guard let plugin = resolveHost(host, "unsubscribe") else { return JAMEY_E_INVALID }
    return plugin.endpoint.unsubscribe(id) ? JAMEY_OK : JAMEY_E_NOT_FOUND
}

private let hostRequest:
    @convention(c) (OpaquePointer?, UnsafePointer<jamey_message>?, UInt32, jamey_reply_fn?, UnsafeMutableRawPointer?) ->
        Int32 = { host, message, timeoutMS, done, userData in
            startRequest(host, message, timeoutMS, anyThread: false, done, userData)
        }

private let hostRequestV2:
    @convention(c) (
        OpaquePointer?, UnsafePointer<jamey_message>?, UInt32, UInt32, jamey_reply_fn?, UnsafeMutableRawPointer?
    ) -> Int32 = { host, message, timeoutMS, flags, done, userData in
        guard flags & ~JAMEY_REQUEST_DONE_ANY_THREAD == 0 else { return JAMEY_E_INVALID }
        return startRequest(host, message, timeoutMS, anyThread: flags & JAMEY_REQUEST_DONE_ANY_THREAD != 0, done, userData)
    }

/// `request` and `request_v2`.
private func startRequest(
    _ host: OpaquePointer?, _ message: UnsafePointer<jamey_message>?, _ timeoutMS: UInt32, anyThread: Bool,
    _ done: jamey_reply_fn?, _ userData: UnsafeMutableRawPointer?
) -> Int32 {
    guard let plugin = resolveHost(host, "request"), let message, let done, BusMessage.isWellFormed(abi: message),
        let topic = message.pointee.topic, topic.pointee != 0
    else {
        return JAMEY_E_INVALID
    }
    let context = UnsafeSendable(userData)
    let label = UnsafeSendable(plugin.crashLabel)
    do throws(BusError) {
        // A reply through the C ABI goes to `done` as it lies; failures (and replies from Swift
        // endpoints) through the completion.
        let target = ABIReplyTarget(done: done, context: userData, label: plugin.crashLabel)
        let send = { () throws(BusError) in
            try plugin.endpoint.request(
                abi: message, timeout: timeoutMS == 0 ? nil : .milliseconds(Int(timeoutMS)), anyThread: anyThread,
                abiTarget: target
            ) { result in
                CrashContext.running(plugin: label.value, what: CrashContext.requestCompletion) {
                    switch result {
                    case .success(let reply): reply.withABIMessage { done(context.value, JAMEY_OK, $0) }
                    case .failure(let error): done(context.value, error.abiCode, nil)
                    }
                }
            }
        }
        // Without DONE_ANY_THREAD `done` never runs inside this call (plugin.h), also when the
        // caller is a bus handler and a direct responder replies at once on its thread.
        if anyThread { try send() } else { try KernelThread.insideRequestCall(send) }
        return JAMEY_OK
    } catch {
        return error.abiCode
    }
}

private let hostRequestSync:
    @convention(c) (
        OpaquePointer?, UnsafePointer<jamey_message>?, UInt32, jamey_message_handler_fn?, UnsafeMutableRawPointer?
    ) -> Int32 = { host, message, timeoutMS, replyHandler, userData in
        guard let plugin = resolveHost(host, "request_sync"), let message, let bus = BusMessage(abi: message) else {
            return JAMEY_E_INVALID
        }
        do throws(BusError) {
            let reply = try plugin.endpoint.requestSync(bus, timeout: timeoutMS == 0 ? nil : .milliseconds(Int(timeoutMS)))
            if let replyHandler { _ = reply.withABIMessage { replyHandler(userData, $0) } }
            return JAMEY_OK
        } catch {
            return error.abiCode
        }
    }

private let hostReply: @convention(c) (OpaquePointer?, UnsafePointer<jamey_message>?, UnsafePointer<jamey_message>?) -> Int32 = {
    host, request, reply in
    guard let plugin = resolveHost(host, "reply"), let request, let reply else { return JAMEY_E_INVALID }
    guard let replyTo = request.pointee.reply_to, BusMessage.isWellFormed(abi: reply) else { return JAMEY_E_INVALID }
    do throws(BusError) {
        try plugin.endpoint.reply(to: replyTo, correlationID: request.pointee.correlation_id, abi: reply)
        return JAMEY_OK
    } catch {
        return error.abiCode
    }
}

// MARK: - Metrics

private let hostMetricRegister:
    @convention(c) (OpaquePointer?, UnsafePointer<jamey_metric_desc>?, UnsafeMutablePointer<jamey_metric_id>?) -> Int32 = {
        host, desc, idOut in
        guard let plugin = resolveHost(host, "metric_register"), let desc, let idOut else { return JAMEY_E_INVALID }
        switch plugin.kernel.metrics.register(owner: plugin.name, desc: desc) {
        case .success(let id):
            idOut.pointee = id
            return JAMEY_OK
        case .failure(let error):
            plugin.logger.warning("metric_register refused: \(error.message)")
            return JAMEY_E_INVALID
        }
    }

private let hostMetricRecord: @convention(c) (OpaquePointer?, jamey_metric_id, Int32, Double) -> Int32 = {
    host, id, op, value in
    guard let plugin = resolveHost(host, "metric_record") else { return JAMEY_E_INVALID }
    return plugin.kernel.metrics.record(id: id, op: op, value: value)
}

private let hostMetricsExposition: @convention(c) (OpaquePointer?, jamey_text_sink_fn?, UnsafeMutableRawPointer?) -> Int32 = {
    host, sink, userData in
    guard let plugin = resolveHost(host, "metrics_exposition"), let sink else { return JAMEY_E_INVALID }
    let text = plugin.kernel.metrics.exposition()
    text.withCString { sink(userData, $0, strlen($0)) }
    return JAMEY_OK
}

// MARK: - Services

private let hostServiceRegister:
    @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeRawPointer?, Int) -> Int32 = {
        host, name, version, table, size in
        guard let plugin = resolveHost(host, "service_register"), let name, let version, let table, size > 0 else {
            return JAMEY_E_INVALID
        }
        return plugin.kernel.services.register(
            name: String(cString: name), version: String(cString: version), owner: plugin.name,
            instance: plugin.instance, takeOver: plugin.instance != plugin.name, table: table, size: size)
    }

private let hostServiceUnregister: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Int32 = { host, name in
    guard let plugin = resolveHost(host, "service_unregister"), let name else { return JAMEY_E_INVALID }
    return plugin.kernel.services.unregister(name: String(cString: name), instance: plugin.instance)
}

private let hostServiceLookup:
    @convention(c) (
        OpaquePointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeRawPointer?>?,
        UnsafeMutablePointer<Int>?
    ) -> Int32 = { host, name, range, tableOut, sizeOut in
        guard let plugin = resolveHost(host, "service_lookup"), let name, let tableOut else { return JAMEY_E_INVALID }
        switch plugin.kernel.services.lookup(name: String(cString: name), range: range.map { String(cString: $0) } ?? "*") {
        case .success(let service):
            tableOut.pointee = service.table
            sizeOut?.pointee = service.size
            return JAMEY_OK
        case .failure(let code):
            return code.rawValue
        }
    }

// MARK: - Environment

private let hostDataDir: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>? = { host in
    resolveHost(host, "data_dir")?.dataDirectory()
}

private let hostNodeName: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>? = { host in
    resolveHost(host, "node_name")?.nodeNameC
}

private let hostNodeID: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>? = { host in
    resolveHost(host, "node_id")?.nodeIDC
}

// MARK: - Config

private let hostConfigString:
    @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 = {
        host, key, out in
        guard let plugin = resolveHost(host, "config_string"), let key, let out else { return JAMEY_E_INVALID }
        return plugin.configString(String(cString: key), out: out)
    }

private let hostConfigInt: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<Int64>?) -> Int32 = {
    host, key, out in
    guard let plugin = resolveHost(host, "config_int"), let key, let out else { return JAMEY_E_INVALID }
    return plugin.configInt(String(cString: key), out: out)
}

private let hostConfigDouble: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<Double>?) -> Int32 = {
    host, key, out in
    guard let plugin = resolveHost(host, "config_double"), let key, let out else { return JAMEY_E_INVALID }
    return plugin.configDouble(String(cString: key), out: out)
}

private let hostConfigBool: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<Int32>?) -> Int32 = {
    host, key, out in
    guard let plugin = resolveHost(host, "config_bool"), let key, let out else { return JAMEY_E_INVALID }
    return plugin.configBool(String(cString: key), out: out)
}

// MARK: - Introspection

private let hostPluginsJSON: @convention(c) (OpaquePointer?, jamey_text_sink_fn?, UnsafeMutableRawPointer?) -> Int32 = {
    host, sink, userData in
    guard let plugin = resolveHost(host, "plugins_json"), let sink else { return JAMEY_E_INVALID }
    plugin.kernel.pluginsJSON().withCString { sink(userData, $0, strlen($0)) }
    return JAMEY_OK
}

/// Carries a C `void *` across a `@Sendable` closure. The plugin promised (by the ABI) that the
/// pointer may be used from bus threads.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
