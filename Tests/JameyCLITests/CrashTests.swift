import Foundation
import JameyTestKit
import Testing

/// `jamey serve` as a real process: a crashing plugin is named in one line and the process exits
/// with status 70; SIGTERM during a hung start-up still shuts down within the budget.
@Suite struct CrashTests {
    var jamey: String { TestPlugins.buildDirectory + "/jamey" }

    func config(_ plugins: [TestKernel.Plugin], extra: String = "") throws -> String {
        let dir = try TemporaryDirectory.make()
        let path = dir + "/jamey.yaml"
        try TestKernel.yaml(plugins: plugins, extra: extra, logLevel: "info").write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func crashing(_ name: String, _ configure: (inout CPluginSource) -> Void) throws -> TestKernel.Plugin {
        var source = CPluginSource(name: name)
        configure(&source)
        return .init(name, path: try TestPlugins.buildC(name: name, source: source.render()))
    }

    @Test func crashInAHookNamesThePluginAndTheHook() throws {
        let plugin = try crashing("segv_start") { $0.startCode = "*(volatile int *)(uintptr_t)16 = 1;" }
        let r = try Run.command(jamey, ["serve", "--config", try config([plugin])])
        #expect(r.status == 70, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "jamey: fatal: plugin 'segv_start' crashed with SIGSEGV at address 0x10 while running its start hook; exiting with status 70"
            ), "\(r.stderr)")
    }

    /// `jamey config check` runs plugins' check hooks (ABI 1.6): a crash in one is named too.
    @Test func crashInACheckHookNamesThePluginInConfigCheck() throws {
        let plugin = try crashing("segv_check") { $0.checkCode = "*(volatile int *)(uintptr_t)16 = 1; return JAMEY_OK;" }
        let r = try Run.command(jamey, ["config", "check", "--config", try config([plugin])])
        #expect(r.status == 70, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "jamey: fatal: plugin 'segv_check' crashed with SIGSEGV at address 0x10 while running its check hook; exiting with status 70"
            ), "\(r.stderr)")
    }

    @Test func crashInABusHandlerNamesThePlugin() throws {
        let plugin = try crashing("segv_handler") {
            $0.extraCode = """
                static int32_t crash_on_message(void *user, const jamey_message *m) {
                    (void)user; (void)m;
                    abort();
                }
                """
            $0.startCode = """
                uint64_t id;
                api->subscribe(s->host, "boom", NULL, crash_on_message, NULL, &id);
                jamey_message m = { sizeof(jamey_message), 0, "boom", NULL, 0, NULL, NULL, 0, NULL, 0, NULL };
                api->publish(s->host, &m);
                """
        }
        let r = try Run.command(jamey, ["serve", "--config", try config([plugin])])
        #expect(r.status == 70, "\(r.stderr)")
        #expect(
            r.stderr.contains("jamey: fatal: plugin 'segv_handler' crashed with SIGABRT while running a bus handler"),
            "\(r.stderr)")
    }

    @Test func crashOnAThreadOfThePluginsOwnIsFoundByAddress() throws {
        let plugin = try crashing("segv_thread") {
            $0.extraCode = """
                #include <pthread.h>
                static void *crash_later(void *arg) {
                    (void)arg;
                    struct timespec ts = { 0, 50000000L };
                    nanosleep(&ts, NULL);
                    *(volatile int *)(uintptr_t)32 = 1;
                    return NULL;
                }
                """
            $0.startCode = "pthread_t t; pthread_create(&t, NULL, crash_later, NULL); pthread_detach(t);"
        }
        let r = try Run.command(jamey, ["serve", "--config", try config([plugin])])
        #expect(r.status == 70, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "plugin 'segv_thread' crashed with SIGSEGV at address 0x20 while running code on a thread of its own"),
            "\(r.stderr)")
    }

    @Test func sigtermDuringAHungStartShutsDownWithinTheBudget() throws {
        let events = try TemporaryDirectory.make() + "/events.log"
        var source = CPluginSource(name: "hangs")
        source.startDelayMilliseconds = 90_000
        source.eventLog = events
        let plugin = TestKernel.Plugin("hangs", path: try TestPlugins.buildC(name: "hangs", source: source.render()))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: jamey)
        process.arguments = [
            "serve", "--config",
            try config([plugin], extra: "shutdown:\n  timeout_ms: 1000\nhooks:\n  start_timeout_ms: 60000\n"),
        ]
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        #expect(
            TestKernel.eventually(timeout: .seconds(60)) {
                ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").contains("starting hangs")
            })
        let clock = ContinuousClock()
        let sent = clock.now
        kill(process.processIdentifier, SIGTERM)
        let exited = TestKernel.eventually(timeout: .seconds(60)) { !process.isRunning }
        let took = clock.now - sent
        if !exited { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let log = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(exited, "still running 60 s after SIGTERM: \(log)")
        #expect(took < .seconds(45), "the hung start hook (90 s) did not hold shutdown: \(took)")
        #expect(process.terminationStatus == 0, "\(log)")
        #expect(log.contains("shutdown was requested while start was running"), "\(log)")
        #expect(!log.contains("jamey ready"), "\(log)")
    }
}
