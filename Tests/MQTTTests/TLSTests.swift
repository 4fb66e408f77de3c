import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// TLS with a throwaway CA: mutual TLS works, an unknown CA and a wrong host name are refused,
/// and hostname verification can be turned off.
@Suite struct TLSTests {
    static func tlsConfig(_ certs: Certificates, ca: String? = nil, verify: Bool = true) -> String {
        """
        tls:
          enabled: true
          ca_file: \(ca ?? certs.ca)
          cert_file: \(certs.clientCert)
          key_file: \(certs.clientKey)
          verify_hostname: \(verify)
        outbound:
          - bus: "secure.>"
        inbound:
          - mqtt: "secure/#"
            bus: "back.{1}"
            no_local: false
        """
    }

    @Test func mutualTLSConnectsAndCarriesMessages() async throws {
        let certs = try await Certificates.make()
        let broker = try await Broker.make(.init(tls: (certs.ca, certs.serverCert, certs.serverKey, true)))
        let node = try await Node.boot("tls-ok", port: broker.port, config: Self.tlsConfig(certs), host: "localhost")
        #expect(await node.waitReady(), "\(node.healthDetail)")
        #expect(node.healthDetail.contains("connected to localhost:\(broker.port)"))
        let back = try node.collect("back.>")
        try node.publish("secure.ping", "over TLS")
        #expect(await eventually { back.count == 1 })
        #expect(back.messages.first?.topic == "back.ping")
        #expect(back.texts == ["over TLS"])
    }

    @Test func unknownCAIsRefused() async throws {
        let certs = try await Certificates.make()
        let other = try await Certificates.make(name: "Someone Else CA")
        let broker = try await Broker.make(.init(tls: (certs.ca, certs.serverCert, certs.serverKey, true)))
        let node = try await Node.boot(
            "tls-ca", port: broker.port, config: Self.tlsConfig(certs, ca: other.ca), host: "localhost")
        #expect(await eventually { node.healthDetail.contains("next attempt") }, "\(node.healthDetail)")
        #expect(node.healthDetail.lowercased().contains("certificate verify failed"), "\(node.healthDetail)")
        #expect(!node.isConnected)
    }

    @Test func hostnameMismatchIsRefusedUnlessVerificationIsOff() async throws {
        let certs = try await Certificates.make()
        let broker = try await Broker.make(.init(tls: (certs.ca, certs.serverCert, certs.serverKey, true)))
        // The certificate names localhost only; the node dials 127.0.0.1.
        let strict = try await Node.boot("tls-strict", port: broker.port, config: Self.tlsConfig(certs))
        #expect(await eventually { strict.healthDetail.contains("next attempt") }, "\(strict.healthDetail)")
        #expect(!strict.isConnected)
        let lax = try await Node.boot("tls-lax", port: broker.port, config: Self.tlsConfig(certs, verify: false))
        #expect(await lax.waitReady(), "\(lax.healthDetail)")
    }

    /// Found by the plugin's check (ABI 1.6) at load, before any init, naming the key.
    @Test func missingFilesFailThePluginWithTheKey() async throws {
        let broker = try await Broker.make()
        let node = try await Node.boot(
            "tls-missing", port: broker.port, config: "tls:\n  enabled: true\n  ca_file: /nonexistent/ca.pem")
        #expect(
            node.plugin?.failure?.contains("plugins.mqtt.config: tls.ca_file: /nonexistent/ca.pem does not exist") == true,
            "\(node.plugin?.failure ?? "")")
    }
}
