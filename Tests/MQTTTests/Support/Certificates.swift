import Foundation
import JameyTestKit

/// A throwaway CA and certificates made with the openssl command line, for TLS tests.
struct Certificates {
    /// Directory holding every file.
    let directory: String
    /// The CA certificate (PEM).
    var ca: String { directory + "/ca.crt" }
    /// The server certificate, for `DNS:localhost` only (so connecting to 127.0.0.1 fails
    /// hostname verification).
    var serverCert: String { directory + "/server.crt" }
    /// The server key.
    var serverKey: String { directory + "/server.key" }
    /// A client certificate signed by the CA.
    var clientCert: String { directory + "/client.crt" }
    /// Its key.
    var clientKey: String { directory + "/client.key" }

    /// Makes a CA, a server certificate and a client certificate.
    /// - Parameter name: the CA's common name (two CAs with different names do not trust each other).
    init(name: String = "Jamey Test CA") throws {
        directory = try TemporaryDirectory.make(prefix: "jamey-certs")
        try openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(name)",
            "-keyout", "ca.key", "-out", "ca.crt",
        ])
        try issue("server", subject: "/CN=localhost", extensions: "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try issue("client", subject: "/CN=jamey-client", extensions: "extendedKeyUsage=clientAuth\n")
    }

    /// Makes the files off the Swift concurrency pool (openssl runs take a moment).
    static func make(name: String = "Jamey Test CA") async throws -> Certificates {
        try await onThread { try Certificates(name: name) }
    }

    private func issue(_ name: String, subject: String, extensions: String) throws {
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", "\(name).key", "-out", "\(name).csr"])
        try extensions.write(toFile: directory + "/\(name).ext", atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", "\(name).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "\(name).ext", "-out", "\(name).crt",
        ])
        // mosquitto drops privileges before reading keys when not told `user root`; keep them readable.
        chmod(directory + "/\(name).key", 0o644)
    }

    private func openssl(_ arguments: [String]) throws {
        let r = try Run.command("/usr/bin/openssl", arguments, directory: directory)
        guard r.status == 0 else { throw BrokerError("openssl \(arguments.first ?? "") failed: \(r.output)") }
    }
}
