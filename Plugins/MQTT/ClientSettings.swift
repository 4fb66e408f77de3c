import Foundation
import MQTTCore

/// The connection settings, checked once at init: everything a ``MosquittoClient`` needs.
struct ClientSettings: Sendable {
    /// Broker host.
    var host: String
    /// Broker port.
    var port: Int32
    /// MQTT client id.
    var clientID: String
    /// User name, or nil.
    var username: String?
    /// Password, or nil (never logged).
    var password: String?
    /// MQTT 5 (true) or 3.1.1.
    var isV5: Bool
    /// Keepalive in seconds.
    var keepalive: Int32
    /// Start a clean session.
    var cleanSession: Bool
    /// MQTT 5 session expiry for persistent sessions, seconds.
    var sessionExpiry: UInt32
    /// Abandon an attempt without CONNACK after this long.
    var connectTimeout: Duration
    /// TLS, or nil for plain TCP.
    var tls: TLS?

    /// TLS files and checks.
    struct TLS: Sendable {
        var caFile: String?
        var caPath: String?
        var certFile: String?
        var keyFile: String?
        var verifyHostname: Bool
    }

    /// `host:port`, for logs and health.
    var broker: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `MQTT 5` or `MQTT 3.1.1`.
    var protocolName: String { isV5 ? "MQTT 5" : "MQTT 3.1.1" }

    /// Checks the configuration and derives the settings.
    /// - Parameters:
    ///   - configuration: the plugin's section.
    ///   - nodeName: this node's name (the default client id is `jamey-<node name>`).
    /// - Throws: ``MQTTError`` when a TLS file is missing or unreadable, or a key and a
    ///   certificate are not given together.
    init(_ configuration: MQTTConfiguration, nodeName: String) throws(MQTTError) {
        host = configuration.host
        port = Int32(configuration.port)
        let node = nodeName.isEmpty ? "node" : nodeName
        clientID = configuration.clientId.isEmpty ? "jamey-\(node)" : configuration.clientId
        username = configuration.username.isEmpty ? nil : configuration.username
        password = configuration.password.isEmpty ? nil : configuration.password
        if password != nil && username == nil {
            throw MQTTError.invalidSetting("plugins.mqtt.config.password is set without a username")
        }
        isV5 = configuration.protocol != "mqttv311"
        keepalive = Int32(configuration.keepaliveS)
        cleanSession = configuration.cleanSession
        sessionExpiry = UInt32(clamping: configuration.sessionExpiryS)
        connectTimeout = .milliseconds(configuration.connectTimeoutMs)
        let t = configuration.tls
        guard t.enabled else {
            tls = nil
            return
        }
        let caFile = t.caFile.isEmpty ? nil : t.caFile
        let caPath = caFile == nil && !t.caPath.isEmpty ? t.caPath : nil
        let certFile = t.certFile.isEmpty ? nil : t.certFile
        let keyFile = t.keyFile.isEmpty ? nil : t.keyFile
        guard caFile != nil || caPath != nil else {
            throw MQTTError.invalidSetting("plugins.mqtt.config.tls is enabled but neither ca_file nor ca_path is set")
        }
        guard (certFile == nil) == (keyFile == nil) else {
            throw MQTTError.invalidSetting("plugins.mqtt.config.tls: cert_file and key_file must be given together")
        }
        for (key, path) in [("ca_file", caFile), ("cert_file", certFile), ("key_file", keyFile)] {
            guard let path else { continue }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw MQTTError.invalidSetting("plugins.mqtt.config.tls.\(key): \(path) does not exist or is not readable")
            }
        }
        if let caPath {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: caPath, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw MQTTError.invalidSetting("plugins.mqtt.config.tls.ca_path: \(caPath) is not a directory")
            }
        }
        tls = TLS(caFile: caFile, caPath: caPath, certFile: certFile, keyFile: keyFile, verifyHostname: t.verifyHostname)
    }
}
