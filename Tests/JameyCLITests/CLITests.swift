import Foundation
import JameyTestKit
import Testing

/// The `jamey` command, run as a real process: output and exit codes.
@Suite struct CLITests {
    var jamey: String { TestPlugins.buildDirectory + "/jamey" }

    /// A config whose plugins are the two examples, built where the kernel can find them.
    func exampleConfig(extra: String = "", cConfig: String = "greeting: Hi") throws -> (dir: String, path: String) {
        let dir = try TemporaryDirectory.make()
        let yaml = TestKernel.yaml(
            plugins: [
                .init("hello_c", path: try TestPlugins.helloC(), config: cConfig),
                .init("hello_swift", path: try TestPlugins.library("HelloSwift")),
            ], extra: extra, logLevel: "info")
        let path = dir + "/jamey.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
    }

    @Test func version() throws {
        let r = try Run.command(jamey, ["version"])
        #expect(r.status == 0)
        #expect(r.stdout == "jamey 0.1.0 (plugin ABI 1.7)\n")
    }

    @Test func embeddedDefaultMatchesConfigFile() throws {
        // `config show` with no --config prints the embedded default's effective values; the
        // embedded text itself is checked byte for byte against config/jamey.yaml.
        let file = try String(contentsOfFile: TestPlugins.packageRoot + "/config/jamey.yaml", encoding: .utf8)
        let source = try String(contentsOfFile: TestPlugins.packageRoot + "/Sources/jamey/DefaultConfig.swift", encoding: .utf8)
        #expect(
            source.contains("#\"\"\"\n" + file + "\"\"\"#"), "run scripts/embed-default-config.sh after editing config/jamey.yaml"
        )
    }

    @Test func configCheckAcceptsAValidFile() throws {
        let (_, path) = try exampleConfig()
        let r = try Run.command(jamey, ["config", "check", "--config", path])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout == "config OK: \(path); 2 plugin(s) enabled: hello_c, hello_swift\n")
    }

    @Test func configCheckReportsEveryProblemAndExitsNonZero() throws {
        let (_, path) = try exampleConfig(extra: "data_dri: /tmp/x", cConfig: "greeting: \"\"\nshout: true")
        let r = try Run.command(jamey, ["config", "check", "--config", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("data_dri: unknown key (did you mean 'data_dir'?)"), "\(r.stderr)")
        // Kernel errors stop before plugins are looked at; fix and re-check shows plugin errors.
        let (_, path2) = try exampleConfig(cConfig: "greeting: \"\"\nshout: true")
        let r2 = try Run.command(jamey, ["config", "check", "--config", path2])
        #expect(r2.status == 1)
        #expect(r2.stderr.contains("plugins.hello_c.config.shout: unknown key"), "\(r2.stderr)")
        #expect(r2.stderr.contains("plugins.hello_c.config.greeting"), "\(r2.stderr)")
        // A misspelt variable is still pointed out beside the errors (it was only without them).
        let r3 = try Run.command(
            jamey, ["config", "check", "--config", path2], environment: ["JAMEY_PLUGINS_HELLO_C_CONFIG_GRETING": "x"])
        #expect(r3.status == 1)
        #expect(r3.stderr.contains("warning: JAMEY_PLUGINS_HELLO_C_CONFIG_GRETING"), "\(r3.stderr)")
        #expect(r3.stderr.contains("plugins.hello_c.config.shout: unknown key"), "\(r3.stderr)")
    }

    /// A plugin's own check (ABI 1.6, hello_c's refuses a control character in the greeting)
    /// runs in `config check`, after the schema.
    @Test func configCheckRunsThePluginsOwnCheck() throws {
        let (_, path) = try exampleConfig(cConfig: "greeting: \"Hi\\tthere\"")
        let r = try Run.command(jamey, ["config", "check", "--config", path])
        #expect(r.status == 1, "\(r.output)")
        #expect(
            r.stderr.contains("\(path): plugins.hello_c.config: greeting: holds a control character (byte 0x09 at offset 2)"),
            "\(r.stderr)")
    }

    @Test func configCheckMalformedYAMLAndMissingFile() throws {
        let dir = try TemporaryDirectory.make()
        let path = dir + "/bad.yaml"
        try "plugins:\n  hello_c: [unclosed\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Run.command(jamey, ["config", "check", "--config", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(path):"), "\(r.stderr)")
        #expect(r.stderr.contains("invalid YAML"), "\(r.stderr)")
        let missing = try Run.command(jamey, ["config", "check", "--config", dir + "/nope.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("nope.yaml does not exist"), "\(missing.stderr)")
    }

    @Test func secretsAreRedactedInShowAndInErrors() throws {
        var probe = CPluginSource(name: "vaulty")
        probe.configFields = [
            #"{sizeof(jamey_config_field), JAMEY_CONFIG_STRING, "token", JAMEY_CONFIG_SECRET | JAMEY_CONFIG_REQUIRED | JAMEY_CONFIG_HAS_MIN, 0, NULL, 20, 0, NULL, NULL, NULL, 0}"#,
            #"{sizeof(jamey_config_field), JAMEY_CONFIG_STRING, "region", 0, 0, "eu", 0, 0, NULL, NULL, NULL, 0}"#,
        ]
        let lib = try TestPlugins.buildC(name: "vaulty", source: probe.render())
        let dir = try TemporaryDirectory.make()
        let path = dir + "/jamey.yaml"
        let secret = "tok-9f8e7d6c5b4a39281706"
        try TestKernel.yaml(plugins: [.init("vaulty", path: lib, config: "token: \(secret)")]).write(
            toFile: path, atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["JAMEY_LOG_LEVEL"] = "debug"
        let show = try Run.command(jamey, ["config", "show", "--config", path], environment: env)
        #expect(show.status == 0, "\(show.output)")
        #expect(!show.output.contains(secret))
        #expect(show.stdout.contains(#"token: "<redacted>""#), "\(show.stdout)")
        #expect(show.stdout.contains("region: eu"))
        #expect(show.stdout.contains("level: debug"), "environment override applied")
        // Too short: the error names the key and never shows the value.
        let short = "tok-short"
        try TestKernel.yaml(plugins: [.init("vaulty", path: lib, config: "token: \(short)")]).write(
            toFile: path, atomically: true, encoding: .utf8)
        let check = try Run.command(jamey, ["config", "check", "--config", path])
        #expect(check.status == 1)
        #expect(check.stderr.contains("plugins.vaulty.config.token"), "\(check.stderr)")
        #expect(!check.output.contains(short))
        // And through the environment.
        env["JAMEY_PLUGINS_VAULTY_CONFIG_TOKEN"] = "tok-env-short"
        let envCheck = try Run.command(jamey, ["config", "check", "--config", path], environment: env)
        #expect(envCheck.status == 1)
        #expect(envCheck.stderr.contains("JAMEY_PLUGINS_VAULTY_CONFIG_TOKEN"), "\(envCheck.stderr)")
        #expect(!envCheck.output.contains("tok-env-short"))
    }

    @Test func pluginsListShowsEveryPlugin() throws {
        let (_, path) = try exampleConfig()
        let r = try Run.command(jamey, ["plugins", "list", "--config", path])
        #expect(r.status == 0, "\(r.output)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("NAME") == true)
        #expect(
            lines.contains { $0.hasPrefix("hello_c ") && $0.contains("1.0.0") && $0.contains("1.0") && $0.contains("loaded") })
        #expect(lines.contains { $0.hasPrefix("hello_swift ") && $0.contains("libHelloSwift.so") })
        let json = try Run.command(jamey, ["plugins", "list", "--json", "--config", path])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.map { $0["name"] as? String } == ["hello_c", "hello_swift"])
        #expect(parsed?.first?["provides"] as? [[String: String]] == [["name": "hello.greeter", "version": "1.0.0"]])
    }

    @Test func pluginsListExitsNonZeroWhenAPluginFails() throws {
        let dir = try TemporaryDirectory.make()
        let path = dir + "/jamey.yaml"
        try TestKernel.yaml(plugins: [.init("ghost", path: "/nonexistent/libghost.so")]).write(
            toFile: path, atomically: true, encoding: .utf8)
        let r = try Run.command(jamey, ["plugins", "list", "--config", path])
        #expect(r.status == 1)
        #expect(r.stdout.contains("ghost: /nonexistent/libghost.so: plugin file does not exist"))
    }

    @Test func inspectTextAndJSON() throws {
        let lib = try TestPlugins.library("HelloSwift")
        let r = try Run.command(jamey, ["plugins", "inspect", lib])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stdout.contains("name:        hello_swift"))
        #expect(r.stdout.contains("requires:    hello.greeter ^1.0"))
        #expect(r.stdout.contains("  name: string, default \"Jamey\", min 1, max 64"))
        let j = try Run.command(jamey, ["plugins", "inspect", "--json", lib])
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        #expect(obj?["name"] as? String == "hello_swift")
        #expect(obj?["abi"] as? String == "1.7")
        #expect((obj?["config"] as? [[String: Any]])?.map { $0["key"] as? String } == ["name", "announce"])
        // Routes with their operation ids (what `jamey call` takes), and every hook the kernel
        // calls: the reconfigure hook and the 1.3 route fields were left out.
        #expect(r.stdout.contains("  GET /v1/hello/{name} -> hello.swift.greet [read] operation helloGreet"), "\(r.stdout)")
        let route = (obj?["routes"] as? [[String: Any]])?.first
        #expect(route?["operation_id"] as? String == "helloGreet")
        #expect((route?["details"] as? String)?.isEmpty == false)
        var source = CPluginSource(name: "tunable")
        source.reconfigureCode = "return JAMEY_OK;"
        let tunable = try TestPlugins.buildC(name: "tunable", source: source.render())
        let hooks = try Run.command(jamey, ["plugins", "inspect", tunable])
        #expect(
            hooks.stdout.split(separator: "\n").first { $0.hasPrefix("hooks:") }?.contains("reconfigure") == true,
            "\(hooks.stdout)")
    }

    @Test func inspectOfABrokenFileExplainsAndFails() throws {
        let r = try Run.command(jamey, ["plugins", "inspect", "/etc/hostname"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/etc/hostname: not a shared library: expected an ELF file"))
    }

    @Test func newCPluginBuildsAndLoads() throws {
        let dir = try TemporaryDirectory.make()
        let r = try Run.command(jamey, ["plugins", "new", "my_probe", "--lang", "c", "--dir", dir])
        #expect(r.status == 0, "\(r.output)")
        // The service headers come too, so a plugin built outside the tree can use those tables.
        let src = dir + "/my_probe/my_probe.c"
        try (String(contentsOfFile: src, encoding: .utf8) + "\n#include <jamey/cache.h>\n#include <jamey/memory.h>\n")
            .write(toFile: src, atomically: true, encoding: .utf8)
        let make = try Run.command("/usr/bin/env", ["make", "-C", dir + "/my_probe"])
        #expect(make.status == 0, "\(make.output)")
        let lib = dir + "/my_probe/build/libMyProbe.so"
        let inspect = try Run.command(jamey, ["plugins", "inspect", lib])
        #expect(inspect.stdout.contains("name:        my_probe"), "\(inspect.output)")
        // It starts and answers its ping in a real kernel.
        let k = try TestKernel.boot(plugins: [.init("my_probe", path: lib)])
        defer { k.shutdown() }
        #expect(k.kernel.plugin(named: "my_probe")?.state == .started)
        let again = try Run.command(jamey, ["plugins", "new", "my_probe", "--lang", "c", "--dir", dir])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
        let bad = try Run.command(jamey, ["plugins", "new", "Bad Name", "--lang", "c", "--dir", dir])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("is invalid"))
        // A Swift skeleton named like a module of its package graph would not build.
        let clash = try Run.command(jamey, ["plugins", "new", "metrics", "--lang", "swift", "--dir", dir])
        #expect(clash.status != 0)
        #expect(clash.stderr.contains("'Metrics'"), "\(clash.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/metrics"))
    }

    @Test func newSwiftPluginSkeletonIsComplete() throws {
        let dir = try TemporaryDirectory.make()
        let r = try Run.command(jamey, ["plugins", "new", "pinger", "--lang", "swift", "--dir", dir])
        #expect(r.status == 0, "\(r.output)")
        let package = try String(contentsOfFile: dir + "/pinger/Package.swift", encoding: .utf8)
        // The kit package alone, not the server package (scripts/e2e-plugin-new.sh checks what it resolves).
        #expect(package.contains(".package(path: \"\(TestPlugins.packageRoot)/Kit\")"), "\(package)")
        #expect(package.contains(".product(name: \"JameyPluginKit\", package: \"Kit\")"), "\(package)")
        #expect(!package.contains("path: \"\(TestPlugins.packageRoot)\""), "\(package)")
        #expect(FileManager.default.fileExists(atPath: dir + "/pinger/Sources/Pinger/Pinger.swift"))
        // scripts/test.sh builds this skeleton with `swift build` and loads it (too slow for here).
    }

    /// Starts `jamey serve --config path` with a notify socket; returns once it said READY=1.
    func startServe(_ dir: String, _ path: String, environment extra: [String: String] = [:]) throws -> (
        process: Process, stderr: Pipe, notify: DatagramSocket
    ) {
        let notify = try DatagramSocket(path: dir + "/notify.sock")
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = dir + "/notify.sock"
        env.merge(extra) { $1 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: jamey)
        process.arguments = ["serve", "--config", path]
        process.environment = env
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        #expect(notify.receive(timeout: 60) == "READY=1")
        return (process, errPipe, notify)
    }

    @Test func serveRunsUntilSIGTERMAndDrainsInReverseOrder() throws {
        let (dir, path) = try exampleConfig()
        let (process, errPipe, notify) = try startServe(dir, path, environment: ["JAMEY_LOG_LEVEL": "debug"])
        kill(process.processIdentifier, SIGTERM)
        #expect(notify.receive(timeout: 30) == "STOPPING=1")
        process.waitUntilExit()
        let log = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(log)")
        #expect(log.contains("jamey ready: node test-node, 2 plugin(s) started"), "\(log)")
        #expect(log.contains("HelloC is answering topic=hello.c.greet greeting=Hi"), "\(log)")
        #expect(log.contains("HelloC says: Hi, Jamey!"))
        #expect(log.contains("jamey stopped"))
        // hello_swift depends on hello_c: it started after it and must stop before it.
        let started = ["plugin hello_c is started", "plugin hello_swift is started"].map { log.range(of: $0)?.lowerBound }
        let stopped = ["plugin hello_swift is stopped", "plugin hello_c is stopped"].map { log.range(of: $0)?.lowerBound }
        #expect(started.allSatisfy { $0 != nil } && started[0]! < started[1]!, "\(log)")
        #expect(stopped.allSatisfy { $0 != nil } && stopped[0]! < stopped[1]!, "\(log)")
    }

    @Test func jsonLogFormatWritesOneObjectPerLine() throws {
        let (dir, path) = try exampleConfig()
        let (process, errPipe, _) = try startServe(dir, path, environment: ["JAMEY_LOG_FORMAT": "json"])
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n")
        #expect(lines.count >= 4)
        var messages: [String] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["ts"] is String && object?["level"] is String && object?["label"] is String, "\(line)")
            messages.append(object?["message"] as? String ?? "")
            if (object?["label"] as? String) == "jamey.plugin.hello_c" { #expect(object?["plugin"] as? String == "hello_c") }
        }
        #expect(messages.contains { $0.hasPrefix("jamey ready: node test-node, 2 plugin(s) started") })
        #expect(messages.contains("jamey stopped"))
    }

    /// Two servers on one `data_dir` would write the same databases: the second is refused,
    /// naming the first's PID, and once the first is killed (`kill -9`: the lock goes with the
    /// process) a server starts there again. The start line names what an operator looks for.
    @Test func aSecondServerOnOneDataDirIsRefused() throws {
        let (dir, path) = try exampleConfig()
        let (first, errPipe, _) = try startServe(dir, path)
        let second = Process()
        second.executableURL = URL(fileURLWithPath: jamey)
        second.arguments = ["serve", "--config", path]
        let secondErr = Pipe()
        second.standardError = secondErr
        second.standardOutput = FileHandle.nullDevice
        try second.run()
        let ended = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            second.waitUntilExit()
            ended.signal()
        }
        let refused = ended.wait(timeout: .now() + 30) == .success
        if !refused { kill(second.processIdentifier, SIGKILL) }
        let said = String(decoding: secondErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(refused && second.terminationStatus == 1, "\(said)")
        #expect(
            said.contains(
                "data_dir \(dir)/data is in use by another jamey serve (pid \(first.processIdentifier)) holding \(dir)/data/jamey.lock"
            ), "\(said)")

        // Nor may an offline restore rename the running server's data directory aside.
        let restore = try Run.command(
            jamey, ["vault", "restore", "--repository", dir + "/no-repo", "--target", dir + "/data", "--snapshot", "latest"])
        #expect(restore.status != 0)
        #expect(
            restore.stderr.contains(
                "--target \(dir)/data is the data directory of a running jamey serve (pid \(first.processIdentifier))"),
            "\(restore.output)")

        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let log = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(
            log.contains(
                "jamey 0.1.0 (plugin ABI 1.7) starting: pid \(first.processIdentifier), config \(path), data_dir \(dir)/data, plugins from "
            ), "\(log)")
        unlink(dir + "/notify.sock")
        let (again, _, _) = try startServe(dir, path)
        kill(again.processIdentifier, SIGTERM)
        again.waitUntilExit()
        #expect(again.terminationStatus == 0)
    }

    /// `config check`, `config show` and `plugins list` only read: they create neither
    /// `data_dir` nor its `node-id` (made as root, those kept the service's user from starting).
    @Test func inspectingCommandsCreateNothing() throws {
        let (dir, path) = try exampleConfig()
        let fresh = dir + "/fresh/data"
        for arguments in [["config", "check"], ["config", "show"], ["plugins", "list"]] {
            var environment = ProcessInfo.processInfo.environment
            environment["JAMEY_DATA_DIR"] = fresh
            let r = try Run.command(jamey, arguments + ["--config", path], environment: environment)
            #expect(r.status == 0, "\(arguments): \(r.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/fresh"))
        // Still checked: a data_dir that could not be used is an error, named.
        _ = FileManager.default.createFile(atPath: dir + "/plain", contents: Data("x".utf8))
        for (dataDir, problem) in [
            (dir + "/plain", "data_dir \(dir)/plain is not a directory"),
            (dir + "/plain/data", "data_dir \(dir)/plain/data cannot be created: \(dir)/plain is not a directory"),
        ] {
            var environment = ProcessInfo.processInfo.environment
            environment["JAMEY_DATA_DIR"] = dataDir
            let r = try Run.command(jamey, ["config", "check", "--config", path], environment: environment)
            #expect(r.status == 1 && r.stderr.contains(problem), "\(r.output)")
        }
    }

    /// A config with one C plugin whose stop takes `stopMs`, under a stop deadline of `deadlineMs`.
    func slowStopConfig(stopMs: Int, deadlineMs: Int) throws -> (dir: String, path: String) {
        let dir = try TemporaryDirectory.make()
        var source = CPluginSource(name: "slowstop")
        source.stopDelayMilliseconds = stopMs
        let plugin = TestKernel.Plugin("slowstop", path: try TestPlugins.buildC(name: "slowstop", source: source.render()))
        let hooks = "hooks:\n  stop_timeout_ms: \(deadlineMs)\n  start_timeout_ms: 60000\n  init_timeout_ms: 60000\n"
        let path = dir + "/jamey.yaml"
        try TestKernel.yaml(plugins: [plugin], extra: hooks + "shutdown:\n  timeout_ms: 30000\n", logLevel: "info")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
    }

    /// A plugin abandoned at its stop deadline may not have saved what it holds: the server says
    /// which and exits 1, so a supervisor sees the stop was not clean. The signal is named.
    @Test func aStopThatAbandonsAPluginExitsNonZero() throws {
        let (dir, path) = try slowStopConfig(stopMs: 3000, deadlineMs: 300)
        let (process, errPipe, _) = try startServe(dir, path)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let log = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 1, "\(log)")
        #expect(log.contains("received SIGTERM: stopping (another SIGTERM or SIGINT exits at once)"), "\(log)")
        #expect(log.contains("jamey stopped, abandoning at their stop deadline: slowstop (exit status 1)"), "\(log)")
    }

    /// A second SIGTERM or SIGINT ends the process at once, not after the plugins' stops.
    @Test func aSecondStopSignalExitsAtOnce() throws {
        let (dir, path) = try slowStopConfig(stopMs: 20000, deadlineMs: 25000)
        let (process, errPipe, notify) = try startServe(dir, path)
        let started = ContinuousClock.now
        kill(process.processIdentifier, SIGINT)
        // The first signal is taken (the server says it is stopping) before the second is sent.
        #expect(notify.receive(timeout: 60) == "STOPPING=1")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let log = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 1, "\(log)")
        #expect(ContinuousClock.now - started < .seconds(15), "it waited for the plugin's stop")
        #expect(log.contains("received SIGINT: stopping"), "\(log)")
        #expect(log.contains("received SIGTERM again: exiting now, without waiting for plugins still stopping"), "\(log)")
    }

    @Test func serveExitsNonZeroWhenARequiredPluginFails() throws {
        let dir = try TemporaryDirectory.make()
        let path = dir + "/jamey.yaml"
        try TestKernel.yaml(plugins: [.init("ghost", path: "/nonexistent/libghost.so", required: true)])
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Run.command(jamey, ["serve", "--config", path])
        #expect(r.status == 1)
        #expect(
            r.stderr.contains("required plugin failed to load: /nonexistent/libghost.so: plugin file does not exist"),
            "\(r.stderr)")
    }
}

/// A bound Unix datagram socket, standing in for systemd's notify socket.
final class DatagramSocket {
    let fd: Int32
    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw TestKitError("bind \(path) failed") }
    }

    deinit { close(fd) }

    func receive(timeout seconds: Int) -> String? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(seconds * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }
}
