import Foundation
import JameyTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Config reload of a real `jamey serve`: SIGHUP, `jamey config reload` and an invalid file.
@Suite struct ReloadCLITests {
    func rewrite(_ server: LiveServer, helloC config: String?) throws {
        try TestKernel.yaml(plugins: try LiveServer.plugins(helloC: config), logLevel: "notice")
            .write(toFile: server.directory + "/jamey.yaml", atomically: true, encoding: .utf8)
    }

    func greet(_ server: LiveServer) throws -> String {
        let r = try server.call(["helloGreet", "-p", "name=Ada"])
        let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return object?["greeting"] as? String ?? r.output
    }

    @Test func sighupAndTheCommandApplyTheFileAndAnInvalidOneChangesNothing() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let server = try LiveServer()
            #expect(try greet(server) == "Hello, Ada!")

            // SIGHUP: hello_c has no reconfigure hook, so it and hello_swift (which requires its
            // service) restart with the new greeting.
            try rewrite(server, helloC: "greeting: Ahoy")
            kill(server.pid, SIGHUP)
            #expect(TestKernel.eventually(timeout: .seconds(30)) { (try? greet(server)) == "Ahoy, Ada!" })

            // The command prints what changed.
            try rewrite(server, helloC: "greeting: Hey")
            let applied = try server.jamey(["config", "reload"])
            #expect(applied.status == 0, "\(applied.output)")
            #expect(
                applied.stdout.contains("plugins.hello_c.config: restarted with the new settings (greeting)"), "\(applied.stdout)"
            )
            // hello_swift requires hello_c's service, so it restarted too, and the report says so.
            #expect(
                applied.stdout.contains("plugins.hello_swift: restarted with 'hello_c', which it requires"), "\(applied.stdout)")
            // The gateway takes the restarted plugins' routes back as it hears of their start.
            #expect(TestKernel.eventually(timeout: .seconds(30)) { (try? greet(server)) == "Hey, Ada!" })

            // An invalid file: exit 1, the key named, and the server goes on as it was.
            try rewrite(server, helloC: "greeting: \"\"\ngreting: typo")
            let refused = try server.jamey(["config", "reload"])
            #expect(refused.status != 0)
            #expect(refused.output.contains("plugins.hello_c.config.greting"), "\(refused.output)")
            #expect(refused.output.contains("nothing changed"), "\(refused.output)")
            // Named after the command run, not the `jamey call` it is built on.
            #expect(refused.stderr.hasPrefix("jamey config reload: POST /v1/config/reload answered 422"), "\(refused.stderr)")
            #expect(try greet(server) == "Hey, Ada!")
            let metrics = try server.call(["metrics"])
            #expect(metrics.stdout.contains(#"jamey_config_reloads_total{result="invalid"} 1"#), "\(metrics.stdout)")
            #expect(metrics.stdout.contains(#"jamey_config_reloads_total{result="applied"} 2"#))
        }
    }

    /// A reload of the api plugin's own section is answered 202 as the api stops; the command
    /// then waits for the server and ends as the reload did: 0 applied, 5 rolled back (it ended
    /// 0 either way).
    @Test func aReloadThatRestartsTheGatewayEndsAsTheReloadDid() async throws {
        try await onThread {
            let port = try ServedNode.freePort()
            let api = "port: \(port)\naccess_log: false"
            let server = try LiveServer(api: api)
            func write(_ section: String) throws {
                try TestKernel.yaml(plugins: try LiveServer.plugins(api: section), logLevel: "notice")
                    .write(toFile: server.directory + "/jamey.yaml", atomically: true, encoding: .utf8)
            }
            try write(api + "\nmetrics_public: true")
            let applied = try server.jamey(["config", "reload"])
            #expect(applied.status == 0, "\(applied.output)")
            #expect(applied.stdout.contains("continuing"), "\(applied.stdout)")
            #expect(
                applied.stderr.contains("jamey config reload: the reload was applied (the api plugin restarted)"),
                "\(applied.stderr)")

            // TLS files that do not exist pass the schema; the api plugin's check (ABI 1.6) refuses
            // them before anything stops (they failed the api's start, and the reload rolled back).
            try write(api + "\ntls:\n  cert_file: /nonexistent/cert.pem\n  key_file: /nonexistent/key.pem")
            let refused = try server.jamey(["config", "reload"])
            #expect(refused.status == 4, "\(refused.output)")
            #expect(
                refused.stderr.contains("plugins.api.config: tls.cert_file: cannot read /nonexistent/cert.pem"),
                "\(refused.stderr)")

            // A port another socket holds fails the api plugin's start: the reload is rolled back.
            let (holder, taken) = try ServedNode.listeningSocket()
            defer { close(holder) }
            try write("port: \(taken)\naccess_log: false")
            let rolledBack = try server.jamey(["config", "reload"])
            #expect(rolledBack.status == 5, "\(rolledBack.output)")
            #expect(rolledBack.stderr.contains("the reload failed and was rolled back"), "\(rolledBack.stderr)")
            let metrics = try server.call(["metrics"])
            #expect(metrics.stdout.contains(#"jamey_config_reloads_total{result="invalid"} 1"#), "\(metrics.stdout)")
            #expect(metrics.stdout.contains(#"jamey_config_reloads_total{result="rolled_back"} 1"#), "\(metrics.stdout)")
        }
    }

    @Test func deployReplacesARunningPluginFromTheCommandLine() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let server = try LiveServer()
            #expect(try greet(server) == "Hello, Ada!")
            // A second copy of the same build at another path: a new build as far as the server knows.
            let copy = server.directory + "/libHelloC-next.so"
            try FileManager.default.copyItem(atPath: try TestPlugins.helloC(), toPath: copy)
            let deployed = try server.jamey(["plugins", "deploy", "hello_c", copy])
            #expect(deployed.status == 0, "\(deployed.output)")
            let object = try JSONSerialization.jsonObject(with: Data(deployed.stdout.utf8)) as? [String: Any]
            #expect(object?["path"] as? String == copy)
            let steps = object?["steps"] as? [String] ?? []
            #expect(steps.contains("stopping hello_swift (depends on hello_c)"), "\(steps)")
            #expect(try greet(server) == "Hello, Ada!")
            #expect(steps.last == "hello_c 1.0.0 (\(copy)) is serving", "\(steps)")

            let refused = try server.jamey(["plugins", "deploy", "hello_c", server.directory + "/missing.so"])
            #expect(refused.status != 0)
            #expect(refused.output.contains("missing.so"), "\(refused.output)")
            #expect(try greet(server) == "Hello, Ada!")
        }
    }

    @Test func aCanaryFromTheCommandLineSplitsByCallerShowsItsFiguresAndRollsBack() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let server = try LiveServer()
            let copy = server.directory + "/libHelloC-canary.so"
            try FileManager.default.copyItem(atPath: try TestPlugins.helloC(), toPath: copy)
            let started = try server.jamey(["plugins", "deploy", "hello_c", copy, "--weight", "50", "--no-auto-rollback"])
            #expect(started.status == 0, "\(started.output)")
            let report = try JSONSerialization.jsonObject(with: Data(started.stdout.utf8)) as? [String: Any]
            #expect(report?["canary_weight"] as? Int == 50, "\(started.stdout)")

            // Twenty callers, two requests each, told apart by X-Canary-Key.
            for caller in 0..<20 {
                for _ in 0..<2 {
                    let r = try server.call([
                        "request", "-p", "topic=hello.c.greet", "-H", "X-Canary-Key: caller-\(caller)", "--content-type",
                        "text/plain", "--body", "Ada",
                    ])
                    #expect(r.status == 0 && r.stdout.contains("Hello, Ada!"), "\(r.output)")
                }
            }
            let shown = try server.jamey(["plugins", "canary", "hello_c"])
            #expect(shown.status == 0, "\(shown.output)")
            let status = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
            let sides = status?["sides"] as? [String: [String: Any]] ?? [:]
            let stable = sides["stable"]?["total_requests"] as? Int ?? -1
            let canary = sides["canary"]?["total_requests"] as? Int ?? -1
            #expect(stable + canary == 40, "\(shown.stdout)")
            // Sticky: each caller's two requests went to the same side.
            #expect(stable % 2 == 0 && canary % 2 == 0 && stable > 0 && canary > 0, "\(shown.stdout)")
            #expect(status?["weight"] as? Int == 50)

            #expect(try server.jamey(["plugins", "canary", "hello_c", "--weight", "10"]).status == 0)
            let rolledBack = try server.jamey(["plugins", "canary", "hello_c", "--rollback"])
            #expect(rolledBack.status == 0, "\(rolledBack.output)")
            let gone = try server.jamey(["plugins", "canary", "hello_c"])
            #expect(gone.status != 0)
            #expect(gone.output.contains("no canary running (the last one was rolled back 1.0.0"), "\(gone.output)")
            let metrics = try server.call(["metrics"])
            #expect(metrics.stdout.contains(#"jamey_canary_rollbacks_total{plugin="hello_c",trigger="operator"} 1"#))
            #expect(try greet(server) == "Hello, Ada!")
        }
    }

    @Test func aReloadSwitchesTheLogFormatOfEveryLogger() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let server = try LiveServer()
            let json = TestKernel.yaml(plugins: try LiveServer.plugins(), logLevel: "notice")
                .replacingOccurrences(of: "log:\n  level: notice\n", with: "log:\n  level: notice\n  format: json\n")
            try json.write(toFile: server.directory + "/jamey.yaml", atomically: true, encoding: .utf8)
            let applied = try server.jamey(["config", "reload"])
            #expect(applied.status == 0, "\(applied.output)")
            #expect(applied.stdout.contains("log.format: text → json"), "\(applied.stdout)")
            #expect(applied.stdout.contains(#""pending":[]"#), "\(applied.stdout)")
            // The reload's own line, written after the switch, is JSON.
            #expect(
                TestKernel.eventually {
                    server.log.split(separator: "\n").contains { $0.hasPrefix("{") && $0.contains("config reloaded") }
                }, "\(server.log)")
            #expect(try greet(server) == "Hello, Ada!")
        }
    }
}
