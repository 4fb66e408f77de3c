import CMosquitto
import Foundation
import JameyTestKit

/// A plain MQTT 5 client for tests (libmosquitto, with a network thread of its own): what an IoT
/// device or another MQTT application on the broker sees and sends.
///
/// Its thread waits with `poll`, not with libmosquitto's `mosquitto_loop_start`, whose `select`
/// cannot watch a descriptor numbered 1024 or above: with the whole suite running, this process
/// has more open, and such a client never read its CONNACK.
final class TestClient: @unchecked Sendable {
    /// A received message with the properties tests look at.
    struct Received: Sendable {
        var topic: String
        var payload: [UInt8]
        var qos: Int32
        var retain: Bool
        var contentType: String?
        var userProperties: [String: String]
        var correlationData: [UInt8]?
        var text: String { String(decoding: payload, as: UTF8.self) }
    }

    private let handle: OpaquePointer
    private let lock = NSLock()
    private var inbox: [Received] = []
    private var connected = false
    private var subscribed = 0
    private var acknowledged = 0
    private var running = true
    private var loopThread: Thread?
    private var loopThreadID: pthread_t?

    /// Connects to the broker on `port` and starts the network thread.
    init(port: Int, id: String = "test-\(UUID().uuidString.prefix(8))", username: String? = nil, password: String? = nil) throws {
        _ = mosquitto_lib_init()
        guard let handle = mosquitto_new(id, true, nil) else { throw BrokerError("mosquitto_new failed") }
        self.handle = handle
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        _ = mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5)
        _ = mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, 1000)
        _ = mosquitto_threaded_set(handle, true)
        if let username { _ = mosquitto_username_pw_set(handle, username, password) }
        mosquitto_connect_v5_callback_set(handle) { _, obj, rc, _, _ in
            guard rc == 0, let obj else { return }
            let client = Unmanaged<TestClient>.fromOpaque(obj).takeUnretainedValue()
            client.lock.withLock { client.connected = true }
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, obj, _, _, _, _ in
            guard let obj else { return }
            let client = Unmanaged<TestClient>.fromOpaque(obj).takeUnretainedValue()
            client.lock.withLock { client.subscribed += 1 }
        }
        mosquitto_publish_v5_callback_set(handle) { _, obj, _, _, _ in
            guard let obj else { return }
            let client = Unmanaged<TestClient>.fromOpaque(obj).takeUnretainedValue()
            client.lock.withLock { client.acknowledged += 1 }
        }
        mosquitto_message_v5_callback_set(handle) { _, obj, message, properties in
            guard let obj, let m = message?.pointee else { return }
            let client = Unmanaged<TestClient>.fromOpaque(obj).takeUnretainedValue()
            var received = Received(
                topic: String(cString: m.topic),
                payload: m.payloadlen > 0 ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen))) : [],
                qos: m.qos, retain: m.retain, contentType: nil, userProperties: [:], correlationData: nil)
            var cursor: OpaquePointer? = properties
            while let property = cursor {
                let id = mosquitto_property_identifier(property)
                if id == Int32(MQTT_PROP_CONTENT_TYPE.rawValue) {
                    var value: UnsafeMutablePointer<CChar>? = nil
                    _ = mosquitto_property_read_string(property, id, &value, false)
                    received.contentType = value.map { String(cString: $0) }
                    free(value)
                } else if id == Int32(MQTT_PROP_USER_PROPERTY.rawValue) {
                    var name: UnsafeMutablePointer<CChar>? = nil
                    var value: UnsafeMutablePointer<CChar>? = nil
                    _ = mosquitto_property_read_string_pair(property, id, &name, &value, false)
                    if let name, let value { received.userProperties[String(cString: name)] = String(cString: value) }
                    free(name)
                    free(value)
                } else if id == Int32(MQTT_PROP_CORRELATION_DATA.rawValue) {
                    var data: UnsafeMutableRawPointer? = nil
                    var length: UInt16 = 0
                    _ = mosquitto_property_read_binary(property, id, &data, &length, false)
                    received.correlationData = data.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) }
                    free(data)
                }
                cursor = mosquitto_property_next(property)
            }
            client.lock.withLock { client.inbox.append(received) }
        }
        guard mosquitto_connect_bind_v5(handle, "127.0.0.1", Int32(port), 30, nil, nil) == MOSQ_ERR_SUCCESS.rawValue
        else { throw BrokerError("test client could not connect to 127.0.0.1:\(port)") }
        // The thread holds the client only for one round at a time, so dropping the test's last
        // reference ends both.
        let thread = Thread { [weak self] in
            self?.lock.withLock { self?.loopThreadID = pthread_self() }
            while let client = self, client.round() {}
        }
        loopThread = thread
        thread.start()
        guard TestKernel.eventually(timeout: .seconds(10), { self.lock.withLock { self.connected } }) else {
            throw BrokerError("no CONNACK for the test client on 127.0.0.1:\(port)")
        }
    }

    /// One round of the network thread: poll, read, write, keepalive; after a lost connection,
    /// reconnect a tenth of a second later (as `mosquitto_loop_forever` does).
    /// - Returns: whether to go on.
    private func round() -> Bool {
        guard lock.withLock({ running }) else { return false }
        let socket = mosquitto_socket(handle)
        guard socket >= 0 else {
            usleep(100_000)
            _ = mosquitto_reconnect(handle)
            return true
        }
        var descriptor = pollfd(
            fd: socket, events: Int16(POLLIN) | (mosquitto_want_write(handle) ? Int16(POLLOUT) : 0), revents: 0)
        // A short timeout stands in for a wake-up: packets other threads queue go out within 5 ms.
        _ = poll(&descriptor, 1, 5)
        var rc = MOSQ_ERR_SUCCESS.rawValue
        if descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { rc = mosquitto_loop_read(handle, 1) }
        if rc == MOSQ_ERR_SUCCESS.rawValue && mosquitto_want_write(handle) { rc = mosquitto_loop_write(handle, 1) }
        if rc == MOSQ_ERR_SUCCESS.rawValue { rc = mosquitto_loop_misc(handle) }
        if rc != MOSQ_ERR_SUCCESS.rawValue && lock.withLock({ running }) {
            usleep(100_000)
            _ = mosquitto_reconnect(handle)
        }
        return true
    }

    /// Connects off the Swift concurrency pool (the CONNACK wait blocks).
    static func make(port: Int, username: String? = nil, password: String? = nil) async throws -> TestClient {
        try await onThread { try TestClient(port: port, username: username, password: password) }
    }

    /// Subscribes and waits for SUBACK, off the Swift concurrency pool.
    func subscribe(_ filter: String, qos: Int32 = 1) async throws {
        try await onThread { [self] in try subscribeBlocking(filter, qos: qos) }
    }

    deinit {
        let loopThreadID = lock.withLock {
            running = false
            return self.loopThreadID
        }
        // Released by the network thread itself between rounds: nothing of it runs. Otherwise
        // wait for its round to end before the handle goes.
        if let loopThread, loopThreadID.map({ pthread_equal($0, pthread_self()) == 0 }) ?? true {
            while !loopThread.isFinished { usleep(1000) }
        }
        _ = mosquitto_disconnect(handle)
        mosquitto_destroy(handle)
    }

    /// Subscribes and waits for SUBACK (blocking).
    func subscribeBlocking(_ filter: String, qos: Int32 = 1) throws {
        let before = lock.withLock { subscribed }
        guard mosquitto_subscribe_v5(handle, nil, filter, qos, 0, nil) == MOSQ_ERR_SUCCESS.rawValue else {
            throw BrokerError("subscribe \(filter) failed")
        }
        guard TestKernel.eventually(timeout: .seconds(10), { self.lock.withLock { self.subscribed > before } }) else {
            throw BrokerError("no SUBACK for \(filter)")
        }
    }

    /// Publishes with optional MQTT 5 properties.
    func publish(
        _ topic: String, _ text: String, qos: Int32 = 1, retain: Bool = false, contentType: String? = nil,
        userProperties: [(String, String)] = [], responseTopic: String? = nil, correlation: [UInt8]? = nil
    ) throws {
        var properties: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&properties) }
        if let contentType { _ = mosquitto_property_add_string(&properties, Int32(MQTT_PROP_CONTENT_TYPE.rawValue), contentType) }
        for (k, v) in userProperties {
            _ = mosquitto_property_add_string_pair(&properties, Int32(MQTT_PROP_USER_PROPERTY.rawValue), k, v)
        }
        if let responseTopic {
            _ = mosquitto_property_add_string(&properties, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), responseTopic)
        }
        if let correlation {
            correlation.withUnsafeBytes { b in
                _ = mosquitto_property_add_binary(
                    &properties, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), b.baseAddress, UInt16(b.count))
            }
        }
        let bytes = Array(text.utf8)
        let rc = bytes.withUnsafeBytes { b in
            mosquitto_publish_v5(handle, nil, topic, Int32(b.count), b.baseAddress, qos, retain, properties)
        }
        guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw BrokerError("publish \(topic) failed: \(rc)") }
    }

    /// Everything received so far.
    var messages: [Received] { lock.withLock { inbox } }

    /// Messages received on topics starting with `prefix`.
    func messages(on prefix: String) -> [Received] { messages.filter { $0.topic.hasPrefix(prefix) } }

    /// QoS 1/2 publications the broker acknowledged.
    var acknowledgedCount: Int { lock.withLock { acknowledged } }
}
