import Foundation
import JameyKernel
import Testing

/// TLS with a throwaway CA: mutual TLS works, an unknown CA and a wrong host name are refused,
/// and hostname verification can be turned off.
@Suite struct TLSTests {
    static func tlsConfig(_ certs: Certificates, ca: String? = nil, host: String? = nil, verify: Bool = true) -> String {
        """
        \(host.map { "host: \($0)" } ?? "")
        tls:
          enabled: true
          ca_file: \(ca ?? certs.ca)
          cert_file: \(certs.clientCert)
          key_file: \(certs.clientKey)
          verify_hostname: \(verify)
        outbound:
          - bus: "secure.>"
        """
    }

    @Test func mutualTLSConnectsAndCarriesMessages() throws {
        let certs = try Certificates()
        let broker = try Broker(.init(tls: (certs.ca, certs.serverCert, certs.serverKey, true)))
        let node = try Node("tls-ok", port: broker.port, config: Self.tlsConfig(certs, host: "localhost"))
        defer { node.shutdown() }
        #expect(node.waitReady(), "\(node.healthDetail)")
        #expect(node.healthDetail.contains("connected to localhost:\(broker.port)"))
        let status = try node.status()
        #expect(status["connected"] as? Bool == true)
    }

    @Test func unknownCAIsRefused() throws {
        let certs = try Certificates()
        let other = try Certificates(name: "Someone Else CA")
        let broker = try Broker(.init(tls: (certs.ca, certs.serverCert, certs.serverKey, true)))
        let node = try Node("tls-ca", port: broker.port, config: Self.tlsConfig(certs, ca: other.ca, host: "localhost"))
        defer { node.shutdown() }
        #expect(eventually { node.healthDetail.contains("next attempt") }, "\(node.healthDetail)")
        #expect(node.healthDetail.lowercased().contains("certificate verify failed"), "\(node.healthDetail)")
        #expect(!node.isConnected)
    }

    @Test func hostnameMismatchIsRefusedUnlessVerificationIsOff() throws {
        let certs = try Certificates()
        let broker = try Broker(.init(tls: (certs.ca, certs.serverCert, certs.serverKey, true)))
        // The certificate names localhost only; the node dials 127.0.0.1.
        let strict = try Node("tls-strict", port: broker.port, config: Self.tlsConfig(certs))
        defer { strict.shutdown() }
        #expect(eventually { strict.healthDetail.contains("next attempt") }, "\(strict.healthDetail)")
        #expect(!strict.isConnected)
        let lax = try Node("tls-lax", port: broker.port, config: Self.tlsConfig(certs, verify: false))
        defer { lax.shutdown() }
        #expect(lax.waitReady(), "\(lax.healthDetail)")
    }

    @Test func missingFilesFailInitWithTheKey() throws {
        let broker = try Broker()
        let node = try Node(
            "tls-missing", port: broker.port, config: "tls:\n  enabled: true\n  ca_file: /nonexistent/ca.pem")
        defer { node.shutdown() }
        #expect(node.plugin?.failure?.contains("plugins.mqtt.config.tls.ca_file: /nonexistent/ca.pem does not exist") == true,
                "\(node.plugin?.failure ?? "")")
    }
}
