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

    /// TLS files that cannot serve are config problems (the plugin's check hook, ABI 1.6):
    /// `jamey config check` names them, and the plugin fails at load, before any init. They were
    /// found only by the api's start, after the other plugins had started.
    @Test func tlsFilesThatCannotServeAreConfigProblems() async throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-api-tls-check")
        func makePair(_ name: String) async throws {
            let r = try await onThread {
                try Run.command(
                    "/usr/bin/env",
                    [
                        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-keyout", "\(dir)/\(name)-key.pem", "-out", "\(dir)/\(name)-cert.pem",
                    ])
            }
            try #require(r.status == 0, "\(r.output)")
        }
        try await makePair("a")
        try await makePair("b")
        try "not a certificate\n".write(toFile: dir + "/junk.pem", atomically: true, encoding: .utf8)
        let cases: [(tls: String, problem: String)] = [
            (
                "cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem",
                "tls.cert_file: cannot read /nonexistent/cert.pem: No such file or directory"
            ),
            ("cert_file: \(dir)/a-cert.pem", "tls: cert_file and key_file go together"),
            (
                "cert_file: \(dir)/junk.pem\n  key_file: \(dir)/a-key.pem",
                "tls.cert_file: \(dir)/junk.pem holds no PEM certificate"
            ),
            (
                "cert_file: \(dir)/a-cert.pem\n  key_file: \(dir)/junk.pem",
                "tls.key_file: \(dir)/junk.pem holds no PEM private key"
            ),
            (
                "cert_file: \(dir)/a-cert.pem\n  key_file: \(dir)/b-key.pem",
                "tls: the key in \(dir)/b-key.pem and the certificate in \(dir)/a-cert.pem do not make a server"
            ),
        ]
        let library = try TestPlugins.library("API")
        for (tls, problem) in cases {
            let section = "port: 0\nadmin_key: \(APIKernel.adminKey)\ntls:\n  \(tls)\n"
            let yaml = TestKernel.yaml(plugins: [.init("api", path: library, config: section)])
            let path = dir + "/jamey.yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let check = try await onThread {
                try Run.command(TestPlugins.buildDirectory + "/jamey", ["config", "check", "--config", path])
            }
            #expect(check.status == 1, "\(tls): \(check.output)")
            #expect(check.stderr.contains("\(path): plugins.api.config: \(problem)"), "\(check.stderr)")
            let k = try await onThread { try TestKernel.boot(plugins: [.init("api", path: library, config: section)]) }
            let failure = k.kernel.plugin(named: "api")?.failure ?? ""
            let state = k.kernel.plugin(named: "api")?.state
            await onThread { k.shutdown() }
            #expect(state == .failed)
            #expect(failure.contains("plugins.api.config: \(problem)"), "\(failure)")
        }
        // The good pair passes the check.
        let good =
            "port: 0\nadmin_key: \(APIKernel.adminKey)\ntls:\n  cert_file: \(dir)/a-cert.pem\n  key_file: \(dir)/a-key.pem\n"
        try TestKernel.yaml(plugins: [.init("api", path: library, config: good)]).write(
            toFile: dir + "/good.yaml", atomically: true, encoding: .utf8)
        let ok = try await onThread {
            try Run.command(TestPlugins.buildDirectory + "/jamey", ["config", "check", "--config", dir + "/good.yaml"])
        }
        #expect(ok.status == 0, "\(ok.output)")
    }

    @Test func aTakenPortFailsTheStartWithASentence() async throws {
        // Hold a listening socket on a port, then ask the api plugin for that port.
        let (fd, port) = try ServedNode.listeningSocket()
        defer { close(fd) }
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
