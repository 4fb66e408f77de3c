import CJameyABI
import Foundation
import JameyTestKit
import Synchronization
import Testing

@testable import JameyKernel

/// Blue-green replacement of a running plugin by a new build, with plain C plugins loaded with
/// dlopen, under continuous bus requests.
@Suite struct DeployTests {
    let log: ProbeEvents

    init() throws { log = try ProbeEvents(prefix: "jamey-deploy-events") }

    func events() -> [String] { log.read() }

    /// A build of `echo` that answers `echo.ask` with "<version>:<payload>" after `delayMs`.
    func echo(
        version: String, delayMs: Int = 0, flags: [String] = [], configure: (inout CPluginSource) -> Void = { _ in }
    ) throws -> String {
        var s = CPluginSource(name: "echo")
        s.version = version
        s.eventLog = log.path
        s.extraCode = """
            static int32_t on_ask(void *user, const jamey_message *m) {
                jamey_host *host = user;
                probe_sleep(\(delayMs));
                char reply[256];
                int n = snprintf(reply, sizeof reply, "\(version):%.*s", (int)m->payload_len, (const char *)m->payload);
                jamey_message r = { sizeof(jamey_message), 0, m->topic, reply, (size_t)n, "text/plain", NULL, 0, NULL, 0, NULL };
                return api->reply(host, m, &r);
            }
            """
        s.startCode = """
            jamey_subscribe_options o = { sizeof o, 4096, 0, JAMEY_SUBSCRIBE_RESPONDER };
            if (api->subscribe(s->host, "echo.ask", &o, on_ask, s->host, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        configure(&s)
        return try TestPlugins.buildC(name: "echo", source: s.render(), flags: flags)
    }

    @Test func repeatedSwapsUnderContinuousRequestsLoseNothing() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0", delayMs: 1)
            let v2 = try echo(version: "2.0.0", delayMs: 1)
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)])
            defer { k.shutdown() }
            let load = ContinuousLoad(threads: 3) { worker, i in
                let text = "w\(worker)-\(i)"
                let reply = try k.bus.requestSync(
                    BusMessage(topic: "echo.ask", payload: Array(text.utf8)), timeout: .seconds(10))
                let body = String(decoding: reply.payload, as: UTF8.self)
                return body.hasSuffix(":" + text) ? nil : "wrong answer \(body) to \(text)"
            }
            _ = TestKernel.eventually { load.answered > 50 }
            for round in 0..<6 {
                let target = round % 2 == 0 ? v2 : v1
                let steps = try k.kernel.deploy(plugin: "echo", path: target)
                #expect(steps.last?.hasSuffix("is serving") == true, "\(steps)")
                #expect(k.kernel.plugin(named: "echo")?.path == target)
                #expect(k.kernel.plugin(named: "echo")?.state == .started)
                load.waitForProgress(20)
            }
            load.stop()
            #expect(load.failures.isEmpty, "\(load.failures.prefix(5))")
            #expect(load.answered > 200)
            #expect(k.kernel.plugin(named: "echo")?.version == "1.0.0")
            let reply = try k.bus.requestSync(BusMessage(topic: "echo.ask", payload: Array("x".utf8)), timeout: .seconds(10))
            #expect(String(decoding: reply.payload, as: UTF8.self) == "1.0.0:x")
            #expect(k.kernel.metrics.exposition().contains(#"jamey_plugin_state{plugin="echo",state="started"} 1"#))
        }
    }

    @Test func aBuildThatFailsToStartLeavesTheOldOneServingAndBadBuildsAreRefused() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0")
            let broken = try echo(version: "2.0.0") { $0.startError = "cannot bind its port" }
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            #expect {
                try k.kernel.deploy(plugin: "echo", path: broken)
            } throws: { "\($0)".contains("cannot bind its port") && "\($0)".contains("1.0.0 (\(v1)) goes on serving") }
            #expect(k.kernel.plugin(named: "echo")?.state == .started)
            #expect(k.kernel.plugin(named: "echo")?.version == "1.0.0")
            let reply = try k.bus.requestSync(BusMessage(topic: "echo.ask", payload: Array("x".utf8)), timeout: .seconds(10))
            #expect(String(decoding: reply.payload, as: UTF8.self) == "1.0.0:x")

            let other = CPluginSource(name: "other")
            let otherPath = try TestPlugins.buildC(name: "other", source: other.render())
            #expect { try k.kernel.deploy(plugin: "echo", path: otherPath) } throws: {
                "\($0)".contains("is the plugin 'other', not 'echo'")
            }
            #expect { try k.kernel.deploy(plugin: "echo", path: "libecho.so") } throws: { "\($0)".contains("must be absolute") }
            #expect { try k.kernel.deploy(plugin: "ghost", path: v1) } throws: { "\($0)".contains("no plugin named 'ghost'") }
            #expect(k.kernel.metrics.exposition().contains(#"jamey_plugin_state{plugin="echo",state="started"} 1"#))
        }
    }

    /// A build another user could have written is refused before `dlopen` runs any of it: a file
    /// writable by its group or others, or under a directory others may write (unless sticky, as
    /// `/tmp` is), reached directly or through a symbolic link, or through a link another user
    /// owns. An admin key naming such a file ran a local user's code inside the server.
    @Test func aBuildOthersCouldWriteIsRefusedBeforeItIsLoaded() async throws {
        try await onThread { [self] in
            let v1 = try echo(version: "1.0.0")
            // Its constructor records "loaded": dlopen ran its code.
            let v2 = try echo(version: "2.0.0") {
                $0.extraCode += "\n__attribute__((constructor)) static void on_load(void) { record(\"loaded\"); }\n"
            }
            let directory = URL(fileURLWithPath: v2).deletingLastPathComponent().path
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            #expect(chmod(v2, 0o666) == 0)
            #expect { try k.kernel.deploy(plugin: "echo", path: v2) } throws: {
                "\($0)".contains("is writable by its group or by others (mode 666)")
            }
            #expect(chmod(v2, 0o755) == 0)
            #expect(chmod(directory, 0o777) == 0)
            #expect { try k.kernel.deploy(plugin: "echo", path: v2) } throws: {
                "\($0)".contains("\(directory) (a directory on its path) is writable by its group or by others (mode 777)")
            }
            // A directory further up that others may write: they could rename the build's
            // directory away and put their own in its place.
            let outer = try TemporaryDirectory.make(prefix: "jamey-deploy-outer")
            #expect(mkdir(outer + "/inner", 0o755) == 0)
            try FileManager.default.copyItem(atPath: v2, toPath: outer + "/inner/libecho.so")
            #expect(chmod(outer, 0o777) == 0)
            #expect { try k.kernel.deploy(plugin: "echo", path: outer + "/inner/libecho.so") } throws: {
                "\($0)".contains("\(outer) (a directory on its path) is writable by its group or by others (mode 777)")
            }
            // A link in a safe directory to a build under that directory: the walk follows it.
            #expect(chmod(directory, 0o700) == 0)
            #expect(symlink(outer + "/inner/libecho.so", directory + "/link.so") == 0)
            #expect { try k.kernel.deploy(plugin: "echo", path: directory + "/link.so") } throws: {
                "\($0)".contains("\(outer) (a directory on its path) is writable by its group or by others (mode 777)")
            }
            // A link another user owns, in a sticky directory (they may replace it there).
            if geteuid() == 0 {
                #expect(chmod(outer, 0o1777) == 0)
                #expect(symlink(v2, outer + "/theirs.so") == 0)
                #expect(lchown(outer + "/theirs.so", 65534, 65534) == 0)
                #expect { try k.kernel.deploy(plugin: "echo", path: outer + "/theirs.so") } throws: {
                    "\($0)".contains("\(outer)/theirs.so (a symbolic link on its path) belongs to user 65534")
                }
            }
            #expect(k.kernel.plugin(named: "echo")?.version == "1.0.0")
            #expect(!events().contains("loaded echo"), "never loaded: \(events())")
            // A sticky directory (others cannot replace a file in it), as /tmp is: deployed.
            #expect(chmod(directory, 0o1777) == 0)
            try k.kernel.deploy(plugin: "echo", path: v2)
            #expect(k.kernel.plugin(named: "echo")?.version == "2.0.0")
            #expect(events().contains("loaded echo"))
        }
    }

    /// A build's run path is where `dlopen` looks first for the libraries it needs and the
    /// process lacks: a run path others could write let them supply the code, through a build
    /// that passed the walk of its own path.
    @Test func aBuildWhoseNeededLibrariesOthersCouldSupplyIsRefused() async throws {
        try await onThread { [self] in
            // A library of a name no process has loaded, with a constructor that records it.
            let name = "jameydep" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let libraries = try TemporaryDirectory.make(prefix: "jamey-deploy-runpath")
            let dependency = try TestPlugins.buildC(
                name: name,
                source: """
                    #include <stdio.h>
                    int dep_value(void) { return 42; }
                    __attribute__((constructor)) static void on_load(void) {
                        FILE *f = fopen("\(log.path)", "a");
                        if (f != NULL) { fputs("loaded dependency\\n", f); fclose(f); }
                    }
                    """, in: libraries)
            let v1 = try echo(version: "1.0.0")
            let v2 = try echo(
                version: "2.0.0", flags: ["-Wl,--no-as-needed", "-L" + libraries, "-l" + name, "-Wl,-rpath," + libraries]
            ) {
                $0.extraCode += "\nint dep_value(void);\nint (*volatile keep_dep)(void) = dep_value;\n"
            }
            let dynamic = try #require(ELFDynamic.read(path: v2))
            #expect(dynamic.needed.contains("lib\(name).so"), "\(dynamic.needed)")
            #expect(dynamic.searchPath == [libraries], "\(dynamic)")
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            let label = "(a directory on the new build's run path) is writable by its group or by others"
            #expect(chmod(libraries, 0o777) == 0)
            #expect { try k.kernel.deploy(plugin: "echo", path: v2) } throws: {
                "\($0)".contains("\(libraries) \(label) (mode 777)")
            }
            // Sticky is not enough there: anyone may create the name the loader looks for.
            #expect(chmod(libraries, 0o1777) == 0)
            #expect { try k.kernel.deploy(plugin: "echo", path: v2) } throws: {
                "\($0)".contains("\(libraries) \(label) (mode 1777)")
            }
            #expect(chmod(libraries, 0o755) == 0)
            #expect(chmod(dependency, 0o666) == 0)
            #expect { try k.kernel.deploy(plugin: "echo", path: v2) } throws: {
                "\($0)".contains("\(dependency) (a library the new build needs) is writable by its group or by others (mode 666)")
            }
            #expect(k.kernel.plugin(named: "echo")?.version == "1.0.0")
            #expect(!events().contains("loaded dependency"), "never loaded: \(events())")
            // Safe: deployed, and the loader took the library from the run path.
            #expect(chmod(dependency, 0o755) == 0)
            try k.kernel.deploy(plugin: "echo", path: v2)
            #expect(k.kernel.plugin(named: "echo")?.version == "2.0.0")
            #expect(events().contains("loaded dependency"))
        }
    }

    /// `dlopen` maps a file once per process. Deploying the running library again, under its path
    /// or another, started a second instance on the running one's code and globals (a C plugin's
    /// static host pointer went stale after a rollback); and a path loaded before answers with the
    /// build loaded then, even after a new build was copied over it.
    @Test func aDeployDlopenWouldAnswerWithAnImageItHasIsRefused() async throws {
        try await onThread { [self] in
            let dir = try TemporaryDirectory.make(prefix: "jamey-deploy-same")
            let v1 = dir + "/libecho-v1.so"
            try FileManager.default.copyItem(atPath: try echo(version: "1.0.0"), toPath: v1)
            let v2 = try echo(version: "2.0.0")
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            #expect { try k.kernel.deploy(plugin: "echo", path: v1) } throws: { "\($0)".contains("loaded once per process") }
            #expect(symlink(v1, dir + "/link.so") == 0)
            #expect { try k.kernel.startCanary(plugin: "echo", path: dir + "/link.so", weight: 10) } throws: {
                "\($0)".contains("is the library 'echo' runs now (\(v1))")
            }

            try k.kernel.deploy(plugin: "echo", path: v2)
            // A new build copied over the retired one's path (a new file, as cp to a temporary and mv make).
            try FileManager.default.copyItem(atPath: try echo(version: "3.0.0"), toPath: dir + "/next.so")
            #expect(rename(dir + "/next.so", v1) == 0)
            #expect { try k.kernel.deploy(plugin: "echo", path: v1) } throws: {
                "\($0)".contains("the file changed since this process loaded a library from this path")
            }
            #expect(k.kernel.plugin(named: "echo")?.version == "2.0.0")
            // A file changed in place (the inode kept, as `cp new.so old.so` does) is a change too.
            // Its modification time stands for the copy here: writing over a mapped library
            // would change the code of the image this process still maps, and its finaliser
            // crashed the test process at exit.
            let v4 = dir + "/libecho-v4.so"
            try FileManager.default.copyItem(atPath: try echo(version: "4.0.0"), toPath: v4)
            try k.kernel.deploy(plugin: "echo", path: v4)
            try k.kernel.deploy(plugin: "echo", path: v2)
            let inode = try FileManager.default.attributesOfItem(atPath: v4)[.systemFileNumber] as? Int
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 3600)], ofItemAtPath: v4)
            #expect(try FileManager.default.attributesOfItem(atPath: v4)[.systemFileNumber] as? Int == inode)
            #expect { try k.kernel.deploy(plugin: "echo", path: v4) } throws: {
                "\($0)".contains("the file changed since this process loaded a library from this path")
            }

            // The same build from a new path is a new image.
            let v3 = dir + "/libecho-v3.so"
            try FileManager.default.copyItem(atPath: v1, toPath: v3)
            try k.kernel.deploy(plugin: "echo", path: v3)
            let reply = try k.bus.requestSync(BusMessage(topic: "echo.ask", payload: Array("x".utf8)), timeout: .seconds(10))
            #expect(String(decoding: reply.payload, as: UTF8.self) == "3.0.0:x")
            // The old instance's stop took the plugin's health series to 0; the new one's put
            // them back (a plugin without a health hook is ok while started).
            #expect(k.kernel.metrics.exposition().contains(#"jamey_plugin_health{plugin="echo",status="ok"} 1"#))
        }
    }

    /// A build of `store` at `version` that provides `store.data` at `provides`, failing its
    /// start with `startError` when given.
    func store(_ version: String, provides: String, startError: String? = nil) throws -> String {
        var source = CPluginSource(name: "store")
        source.eventLog = log.path
        source.version = version
        source.provides = [("store.data", provides)]
        source.startError = startError
        return try TestPlugins.buildC(name: "store", source: source.render())
    }

    /// A new build registers its service over the one serving; when it fails to start, the
    /// serving instance's registration is found again (it was deleted with the new build's, so
    /// lookups failed while the old instance went on serving).
    @Test func aBuildThatFailsToStartLeavesTheServingInstancesService() async throws {
        try await onThread { [self] in
            let v1 = try store("1.0.0", provides: "1.0.0")
            let broken = try store("1.1.0", provides: "1.1.0", startError: "cannot open its files")
            let k = try TestKernel.boot(plugins: [.init("store", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            #expect(throws: KernelError.self) { try k.kernel.deploy(plugin: "store", path: broken) }
            #expect(k.kernel.plugin(named: "store")?.version == "1.0.0")
            let service = k.kernel.services.service(named: "store.data")
            #expect(service?.version.description == "1.0.0", "lookups find the serving instance's table")
            #expect(service?.owner == "store")
        }
    }

    @Test func dependentsOfAReplacedProviderRestartOnTheNewTables() async throws {
        // Blocking work (requestSync, waits, processes) runs on a thread of its own, not on
        // the two threads of the cooperative pool that async tests and Swift plugins need.
        try await onThread { [self] in
            let v1 = try store("1.0.0", provides: "1.0.0")
            let v2 = try store("1.1.0", provides: "1.0.0")
            let incompatible = try store("2.0.0", provides: "2.0.0")
            var reader = CPluginSource(name: "reader")
            reader.eventLog = log.path
            reader.requires = [("store.data", "^1.0")]
            let readerPath = try TestPlugins.buildC(name: "reader", source: reader.render())
            let k = try TestKernel.boot(plugins: [.init("store", path: v1), .init("reader", path: readerPath)])
            defer { k.shutdown() }

            #expect {
                try k.kernel.deploy(plugin: "store", path: incompatible)
            } throws: { "\($0)".contains("plugin 'reader' could not run: requires 'store.data ^1.0'") }

            let before = events().count
            let steps = try k.kernel.deploy(plugin: "store", path: v2)
            #expect(steps.contains("stopping reader (depends on store)"))
            #expect(
                Array(events()[before...]) == [
                    "init store", "start store", "stop reader", "deinit reader", "stop store", "deinit store", "init reader",
                    "start reader",
                ])
            #expect(k.kernel.services.service(named: "store.data")?.version.description == "1.0.0")
            #expect(k.kernel.plugin(named: "reader")?.state == .started)
            #expect(k.kernel.plugin(named: "store")?.version == "1.1.0")
        }
    }

    /// The old instance's `jamey_host *` outlives its record: the plugin's code is never unloaded,
    /// and tables it handed out (a service table another plugin bound, a task still running) may
    /// still pass it. A call with it is refused with JAMEY_E_INVALID; it never reads freed memory.
    @Test func aContextOfAReplacedInstanceIsRefusedNotFreed() async throws {
        try await onThread { [self] in
            let pointerFile = URL(fileURLWithPath: log.path).deletingLastPathComponent().path + "/host.txt"
            let v1 = try echo(version: "1.0.0") { s in
                s.startCode += """
                    FILE *f = fopen("\(pointerFile)", "w");
                    if (f) { fprintf(f, "%p", (void *)s->host); fclose(f); }
                    """
            }
            let v2 = try echo(version: "2.0.0") { s in
                s.extraCode += """
                    static int32_t on_stale(void *user, const jamey_message *m) {
                        void *old = NULL;
                        FILE *f = fopen("\(pointerFile)", "r");
                        if (f) { if (fscanf(f, "%p", &old) != 1) old = NULL; fclose(f); }
                        jamey_message e = { sizeof(jamey_message), 0, "echo.stale.event", "x", 1, "text/plain", NULL, 0, NULL, 0, NULL };
                        int32_t code = old ? api->publish((jamey_host *)old, &e) : 999;
                        char reply[32];
                        int n = snprintf(reply, sizeof reply, "%d", code);
                        jamey_message r = { sizeof(jamey_message), 0, m->topic, reply, (size_t)n, "text/plain", NULL, 0, NULL, 0, NULL };
                        return api->reply(user, m, &r);
                    }
                    """
                s.startCode += """
                    jamey_subscribe_options so = { sizeof so, 16, 0, JAMEY_SUBSCRIBE_RESPONDER };
                    if (api->subscribe(s->host, "echo.stale", &so, on_stale, s->host, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
                    """
            }
            let k = try TestKernel.boot(plugins: [.init("echo", path: v1)], logLevel: "critical")
            defer { k.shutdown() }
            weak var old = k.kernel.records.first { $0.name == "echo" }?.with { $0.host }
            #expect(old != nil)
            _ = try k.kernel.deploy(plugin: "echo", path: v2)
            #expect(k.kernel.plugin(named: "echo")?.version == "2.0.0")
            #expect(old != nil, "the replaced instance's context was freed")
            #expect(old?.isValid == false)
            let reply = try k.bus.requestSync(BusMessage(topic: "echo.stale", payload: []), timeout: .seconds(10))
            #expect(String(decoding: reply.payload, as: UTF8.self) == "\(JAMEY_E_INVALID)")
        }
    }
}
