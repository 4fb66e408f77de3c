import Foundation
import JameyTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Listening: TLS from PEM files (with HSTS), and a clear failure when the port is taken.
@Suite struct ServerTests {
    @Test func tlsServesHTTPSWithHSTS() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-api-tls")
        let openssl = try await onThread {
            try Run.command(
                "/usr/bin/env",
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
                ])
        }
        try #require(openssl.status == 0, "\(openssl.output)")
        let config = "tls:\n  cert_file: \(dir)/cert.pem\n  key_file: \(dir)/key.pem\n"
        try await APIKernel.with(.init(config: config, probe: false, hello: false)) { k in
            let detail = k.test.kernel.plugin(named: "api")?.health?.detail ?? ""
            #expect(detail.hasPrefix("listening on https://"))
            // 30 s, as the other HTTP exchanges of the tests: with the whole suite running on two
            // cores, 10 s once passed without an answer (curl status 28).
            let curl = try await onThread {
                try Run.command("/usr/bin/env", ["curl", "-sk", "-i", "--max-time", "30", "https://127.0.0.1:\(k.port)/healthz"])
            }
            #expect(curl.status == 0, "\(curl.output)")
            #expect(curl.stdout.hasPrefix("HTTP/1.1 200"), "\(curl.stdout)")
            #expect(curl.stdout.lowercased().contains("strict-transport-security: max-age=31536000; includesubdomains"))
            #expect(curl.stdout.hasSuffix(#"{"status":"ok"}"#))
            // TLS 1.2 without forward secrecy or with CBC and SHA-1 is refused; a strong suite is taken.
            func handshake(_ cipher: String) async throws -> Bool {
                let r = try await onThread {
                    try Run.command(
                        "/usr/bin/env",
                        [
                            "sh", "-c",
                            "echo | timeout 30 openssl s_client -connect 127.0.0.1:\(k.port) -tls1_2 -cipher \(cipher) 2>&1",
                        ])
                }
                return r.stdout.contains("Cipher is \(cipher)")
            }
            #expect(try await handshake("ECDHE-RSA-AES128-GCM-SHA256"))
            #expect(try await !handshake("AES128-SHA"))
            #expect(try await !handshake("ECDHE-RSA-AES128-SHA"))
            #expect(try await !handshake("AES128-GCM-SHA256"))
        }
    }

    @Test func missingTLSFilesFailTheStartWithASentence() async throws {
        let config = "tls:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem\n"
        let k = try await onThread {
            try TestKernel.boot(plugins: [
                .init("api", path: try TestPlugins.library("API"), config: "port: 0\nadmin_key: \(APIKernel.adminKey)\n" + config)
            ])
        }
        let failure = k.kernel.plugin(named: "api")?.failure ?? ""
        await onThread { k.shutdown() }
        #expect(failure.contains("cannot use TLS files /nonexistent/cert.pem and /nonexistent/key.pem"), "\(failure)")
    }

    @Test func aTakenPortFailsTheStartWithASentence() async throws {
        // Hold a listening socket on a port, then ask the api plugin for that port.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound && listen(fd, 1) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let k = try await onThread {
            try TestKernel.boot(plugins: [
                .init("api", path: try TestPlugins.library("API"), config: "port: \(port)\nadmin_key: \(APIKernel.adminKey)\n")
            ])
        }
        let failure = k.kernel.plugin(named: "api")?.failure ?? ""
        await onThread { k.shutdown() }
        #expect(failure.contains("cannot serve HTTP on 127.0.0.1:\(port)"), "\(failure)")
    }
}
