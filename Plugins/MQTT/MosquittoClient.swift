import CMosquitto
import Foundation
import MQTTCore

/// One libmosquitto client object (`struct mosquitto *`), used for one connection attempt and
/// destroyed with it, so nothing libmosquitto queued for an old connection survives into the
/// next one (the bridge re-sends unacknowledged messages itself, from the spool, in order).
///
/// Threading: created, connected, looped and destroyed on the bridge's loop thread. ``publish(_:)``
/// may be called from any thread while the object is alive (libmosquitto is in threaded mode and
/// wakes the loop thread to write); callers serialise that with the bridge's link lock.
/// `@unchecked Sendable` because the handle is a C pointer: these rules, not the compiler, make
/// sharing it safe.
final class MosquittoClient: @unchecked Sendable {
    /// The libmosquitto handle.
    let handle: OpaquePointer
    /// MQTT 5 (true) or 3.1.1.
    let isV5: Bool

    /// Makes libmosquitto usable in this process (once; later calls are free).
    static let libraryReady: Void = { _ = mosquitto_lib_init() }()

    /// Creates and configures a client: protocol, threading, in-flight window, credentials,
    /// TLS and the last will.
    /// - Parameters:
    ///   - settings: the connection settings.
    ///   - will: topic and payload of the retained last will, or nil.
    ///   - maxInflight: QoS 1/2 messages in flight per direction.
    ///   - userData: passed to every callback as `obj`.
    /// - Throws: ``MQTTError`` when libmosquitto refuses an option.
    init(
        settings: ClientSettings, will: (topic: String, payload: [UInt8])?, maxInflight: Int32,
        userData: UnsafeMutableRawPointer
    ) throws(MQTTError) {
        Self.libraryReady
        guard let handle = mosquitto_new(settings.clientID, settings.cleanSession, userData) else {
            throw MQTTError.client("libmosquitto could not create a client (out of memory or invalid client id)")
        }
        self.handle = handle
        self.isV5 = settings.isV5
        try check(
            mosquitto_int_option(
                handle, MOSQ_OPT_PROTOCOL_VERSION, settings.isV5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311),
            "protocol version")
        try check(mosquitto_threaded_set(handle, true), "threaded mode")
        if settings.isV5 {
            try check(mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, maxInflight), "receive maximum")
            try check(mosquitto_int_option(handle, MOSQ_OPT_SEND_MAXIMUM, maxInflight), "send maximum")
        } else {
            try check(mosquitto_max_inflight_messages_set(handle, UInt32(maxInflight)), "max in-flight messages")
        }
        if let username = settings.username {
            try check(mosquitto_username_pw_set(handle, username, settings.password), "username and password")
        }
        if let tls = settings.tls {
            try check(mosquitto_tls_set(handle, tls.caFile, tls.caPath, tls.certFile, tls.keyFile, nil), "TLS files")
            try check(mosquitto_tls_opts_set(handle, 1, nil, nil), "TLS peer verification")
            try check(mosquitto_tls_insecure_set(handle, !tls.verifyHostname), "TLS hostname verification")
        }
        if let will {
            let rc = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set(handle, will.topic, Int32(bytes.count), bytes.baseAddress, 1, true)
            }
            try check(rc, "last will")
        }
    }

    deinit { mosquitto_destroy(handle) }

    private func check(_ rc: Int32, _ what: String) throws(MQTTError) {
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            throw MQTTError.client("libmosquitto refused the \(what) setting: \(Self.describe(rc))")
        }
    }

    /// Starts connecting, without blocking beyond the name lookup, in every session mode: the TCP
    /// connection, the TLS handshake and CONNECT/CONNACK all complete in
    /// ``loop(timeoutMilliseconds:)``, so the bridge's connect timeout bounds the whole attempt.
    ///
    /// A persistent MQTT 5 session needs its session expiry in the CONNECT properties, which
    /// libmosquitto 2.0 takes only through its blocking `mosquitto_connect_bind_v5` (whose TCP
    /// phase follows the operating system's timeout, minutes for an unanswered SYN, and whose
    /// attempt the bridge could not abandon). That function stores the properties on the client
    /// before it checks its arguments; called with an invalid port it stores them and returns
    /// `MOSQ_ERR_INVAL` without connecting, and `mosquitto_connect_bind_async`, which sends
    /// whatever properties the client holds, then connects without blocking. (libmosquitto 2.0.x;
    /// ``connectsWithoutBlocking`` says whether this library is one.)
    /// - Returns: a `MOSQ_ERR_*` code, and the reason on failure (with `errno` when that is it).
    func connect(_ settings: ClientSettings) -> (rc: Int32, error: String?) {
        errno = 0
        if settings.isV5 && !settings.cleanSession && settings.sessionExpiry > 0 {
            var properties: OpaquePointer? = nil
            defer { mosquitto_property_free_all(&properties) }
            _ = mosquitto_property_add_int32(
                &properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), settings.sessionExpiry)
            guard Self.connectsWithoutBlocking else {
                let rc = mosquitto_connect_bind_v5(handle, settings.host, settings.port, settings.keepalive, nil, properties)
                let savedErrno = errno
                return (rc, rc == MOSQ_ERR_SUCCESS.rawValue ? nil : Self.describe(rc, errno: savedErrno))
            }
            let stored = mosquitto_connect_bind_v5(handle, settings.host, -1, settings.keepalive, nil, properties)
            guard stored == MOSQ_ERR_INVAL.rawValue else {
                return (stored, "libmosquitto did not take the session properties: \(Self.describe(stored))")
            }
        }
        errno = 0
        let rc = mosquitto_connect_bind_async(handle, settings.host, settings.port, settings.keepalive, nil)
        let savedErrno = errno
        guard rc != MOSQ_ERR_SUCCESS.rawValue else { return (rc, nil) }
        return (rc, Self.describe(rc, errno: savedErrno))
    }

    /// Whether this libmosquitto keeps the CONNECT properties of a refused
    /// `mosquitto_connect_bind_v5` for the next `mosquitto_connect_bind_async` (2.0.x does).
    static let connectsWithoutBlocking: Bool = {
        var major: Int32 = 0
        var minor: Int32 = 0
        var revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return major == 2 && minor == 0
    }()

    /// Runs one round of network I/O: waits up to `timeoutMilliseconds` for the socket or a wake-up,
    /// reads, writes, handles keepalive; callbacks run inside.
    /// - Returns: `MOSQ_ERR_SUCCESS`, or the code that ended the connection.
    func loop(timeoutMilliseconds: Int32) -> Int32 {
        mosquitto_loop(handle, timeoutMilliseconds, 1)
    }

    /// Reads at most one packet if one is waiting (no `select`); callbacks run inside.
    /// - Returns: `MOSQ_ERR_SUCCESS` (also when nothing was waiting), or the code that ended the
    ///   connection.
    func read() -> Int32 { mosquitto_loop_read(handle, 1) }

    /// Stops libmosquitto's logging to the bridge: once connected, formatting its per-packet
    /// debug lines would only cost time.
    func stopLogging() { mosquitto_log_callback_set(handle, nil) }

    /// Sends DISCONNECT; the connection ends during the next ``loop(timeoutMilliseconds:)``.
    func disconnect() { _ = mosquitto_disconnect(handle) }

    /// Queues a publication.
    /// - Returns: the libmosquitto code and the message id (QoS 1/2 acknowledgements name it).
    func publish(_ message: OutboundMessage) -> (rc: Int32, mid: Int32) {
        var mid: Int32 = 0
        var properties: OpaquePointer? = isV5 ? MQTTProperties.make(message) : nil
        defer { mosquitto_property_free_all(&properties) }
        let rc = message.payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(
                handle, &mid, message.topic, Int32(bytes.count), bytes.baseAddress, message.qos, message.retain, properties)
        }
        return (rc, mid)
    }

    /// Subscribes. On MQTT 5 the subscription carries `identifier` (so incoming messages name the
    /// rule they matched) and the no-local option when asked.
    /// - Returns: the libmosquitto code and the message id (SUBACK names it).
    func subscribe(_ filter: String, qos: Int32, noLocal: Bool, identifier: Int) -> (rc: Int32, mid: Int32) {
        var mid: Int32 = 0
        guard isV5 else { return (mosquitto_subscribe(handle, &mid, filter, qos), mid) }
        var properties: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&properties) }
        _ = mosquitto_property_add_varint(
            &properties, Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue), UInt32(identifier))
        let options = noLocal ? Int32(MQTT_SUB_OPT_NO_LOCAL.rawValue) : 0
        return (mosquitto_subscribe_v5(handle, &mid, filter, qos, options, properties), mid)
    }

    /// libmosquitto's text for a `MOSQ_ERR_*` code, in lower case; for `MOSQ_ERR_ERRNO`, the
    /// system's text for `errno`.
    static func describe(_ rc: Int32, errno code: Int32) -> String {
        guard rc == MOSQ_ERR_ERRNO.rawValue, code != 0 else { return describe(rc) }
        return String(cString: strerror(code)).lowercased()
    }

    /// libmosquitto's text for a `MOSQ_ERR_*` code, in lower case.
    static func describe(_ rc: Int32) -> String {
        let text = mosquitto_strerror(rc).map { String(cString: $0) } ?? "error \(rc)"
        return text.hasSuffix(".") ? String(text.dropLast()).lowercased() : text.lowercased()
    }

    /// The text of a CONNACK or DISCONNECT reason.
    static func describeReason(_ code: Int32, isV5: Bool) -> String {
        let text =
            isV5
            ? mosquitto_reason_string(code).map { String(cString: $0) }
            : mosquitto_connack_string(code).map { String(cString: $0) }
        return (text ?? "reason \(code)").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }
}
