import CMosquitto
import Foundation
import MQTTCore
import Synchronization

/// One libmosquitto client object (`struct mosquitto *`), used for one connection attempt and
/// destroyed with it, so nothing libmosquitto queued for an old connection survives into the
/// next one (the bridge re-sends unacknowledged messages itself, from the spool, in order).
///
/// Threading: created, connected, looped and destroyed on the bridge's loop thread. ``publish(_:)``
/// may be called from any thread while the object is alive (libmosquitto is in threaded mode: it
/// queues the packet and this object wakes the loop thread to write it); callers serialise that
/// with the bridge's link lock.
///
/// The loop waits with `poll`, never with libmosquitto's `mosquitto_loop`: that one waits with
/// `select`, which cannot watch a descriptor numbered 1024 or above, so in a process with more
/// than about a thousand descriptors open (a gateway with many connections) it fails every call
/// with `MOSQ_ERR_INVAL` and the bridge never saw its CONNACK.
/// `@unchecked Sendable` because the handle is a C pointer: these rules, not the compiler, make
/// sharing it safe.
final class MosquittoClient: @unchecked Sendable {
    /// The libmosquitto handle.
    let handle: OpaquePointer
    /// MQTT 5 (true) or 3.1.1.
    let isV5: Bool
    /// Over TLS: the handshake also advances when the socket becomes writable.
    private let isTLS: Bool
    /// A pipe the loop waits on beside the socket (read end, write end): another thread's publish
    /// or subscribe writes a byte to it, so the queued packet goes out at once.
    private let wakePipe: (read: Int32, write: Int32)
    /// A wake-up is written and not yet read (so a burst of publishes writes once).
    private let wakePending = Atomic<Bool>(false)

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
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0,
            ends.allSatisfy({ fcntl($0, F_SETFL, O_NONBLOCK) == 0 && fcntl($0, F_SETFD, FD_CLOEXEC) == 0 })
        else {
            for end in ends where end >= 0 { close(end) }
            mosquitto_destroy(handle)
            throw MQTTError.client("cannot create the loop's wake-up descriptor: \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        self.isV5 = settings.isV5
        self.isTLS = settings.tls != nil
        self.wakePipe = (ends[0], ends[1])
        try check(
            mosquitto_int_option(
                handle, MOSQ_OPT_PROTOCOL_VERSION, settings.isV5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311),
            "protocol version")
        try check(mosquitto_threaded_set(handle, true), "threaded mode")
        // Without it Nagle's algorithm held a small publish until the previous one was
        // acknowledged: a request answered by another node took 43-53 ms on loopback, against
        // 2-4 ms answered locally (multi-node audit).
        try check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1), "TCP_NODELAY")
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

    deinit {
        mosquitto_destroy(handle)
        close(wakePipe.read)
        close(wakePipe.write)
    }

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
    /// reads, writes, handles keepalive; callbacks run inside. (What `mosquitto_loop` does, with
    /// `poll` in place of its `select`.)
    /// - Returns: `MOSQ_ERR_SUCCESS`, or the code that ended the connection.
    func loop(timeoutMilliseconds: Int32) -> Int32 {
        let socket = mosquitto_socket(handle)
        guard socket >= 0 else { return MOSQ_ERR_NO_CONN.rawValue }
        let writeWanted = mosquitto_want_write(handle)
        var descriptors = [
            pollfd(fd: socket, events: Int16(POLLIN) | (writeWanted ? Int16(POLLOUT) : 0), revents: 0),
            pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0),
        ]
        if poll(&descriptors, 2, timeoutMilliseconds) < 0 {
            return errno == EINTR ? MOSQ_ERR_SUCCESS.rawValue : MOSQ_ERR_ERRNO.rawValue
        }
        var writable = descriptors[0].revents & Int16(POLLOUT) != 0
        if descriptors[1].revents & Int16(POLLIN) != 0 {
            var bytes: (UInt64, UInt64) = (0, 0)
            _ = Glibc.read(wakePipe.read, &bytes, 16)
            wakePending.store(false, ordering: .releasing)
            // Packets queued by another thread: try writing even if poll was not asked about it.
            writable = true
        }
        let readable = descriptors[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
        if readable || (writable && isTLS) {
            // (A TLS handshake in progress advances inside mosquitto_loop_read.)
            let rc = mosquitto_loop_read(handle, 1)
            if rc != MOSQ_ERR_SUCCESS.rawValue || mosquitto_socket(handle) < 0 { return rc }
        }
        if writable {
            let rc = mosquitto_loop_write(handle, 1)
            if rc != MOSQ_ERR_SUCCESS.rawValue || mosquitto_socket(handle) < 0 { return rc }
        }
        return mosquitto_loop_misc(handle)
    }

    /// Wakes the loop (from another thread) so a packet just queued is written at once.
    private func wake() {
        guard !wakePending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = Glibc.write(wakePipe.write, &byte, 1)
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
        if rc == MOSQ_ERR_SUCCESS.rawValue { wake() }
        return (rc, mid)
    }

    /// Subscribes. On MQTT 5 the subscription carries `identifier` (so incoming messages name the
    /// rule they matched) and the no-local option when asked.
    /// - Returns: the libmosquitto code and the message id (SUBACK names it).
    func subscribe(_ filter: String, qos: Int32, noLocal: Bool, identifier: Int) -> (rc: Int32, mid: Int32) {
        var mid: Int32 = 0
        defer { wake() }
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
