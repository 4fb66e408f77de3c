import Foundation
import NIOSSL

extension APIConfiguration.TLS {
    /// TLS 1.2's cipher suites: forward secret (ECDHE) and authenticated encryption (GCM,
    /// ChaCha20-Poly1305) only. BoringSSL's default also took RSA key exchange and CBC with SHA-1
    /// (`AES128-SHA`, `ECDHE-RSA-AES128-SHA`). TLS 1.3's suites all qualify and are not set here.
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// The server's TLS configuration from the two PEM files (TLS 1.2 at least, the suites above).
    /// - Throws: a sentence naming the key and the file that cannot serve.
    func serverConfiguration() throws(TLSFileError) -> TLSConfiguration {
        guard !certFile.isEmpty, !keyFile.isEmpty else {
            throw TLSFileError("tls: cert_file and key_file go together: set both (HTTPS) or neither (HTTP)")
        }
        for (key, path) in [("cert_file", certFile), ("key_file", keyFile)] where access(path, R_OK) != 0 {
            throw TLSFileError("tls.\(key): cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certFile)
        } catch {
            throw TLSFileError("tls.cert_file: \(certFile) holds no PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw TLSFileError("tls.cert_file: \(certFile) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw TLSFileError("tls.key_file: \(keyFile) holds no PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = Self.tls12Ciphers
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFileError("tls: the key in \(keyFile) and the certificate in \(certFile) do not make a server (\(error))")
        }
        return configuration
    }

    /// What keeps the files from serving, or nil (also nil without TLS).
    var problem: String? {
        guard enabled else { return nil }
        do {
            _ = try serverConfiguration()
            return nil
        } catch {
            return error.message
        }
    }
}

/// Why the TLS files cannot serve: one sentence naming the key.
struct TLSFileError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
