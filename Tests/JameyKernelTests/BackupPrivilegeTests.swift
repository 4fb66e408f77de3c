import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// `plugin_snapshot` and `plugin_restore` (ABI 1.3): a plugin the operator granted the `snapshot`
/// privilege runs other plugins' snapshot and restore hooks through the kernel, which stops the
/// target and its dependents around a restore and starts them again. Plain C plugins, dlopen'ed.
@Suite struct BackupPrivilegeTests {
    let log: String

    init() throws { log = try TemporaryDirectory.make(prefix: "jamey-backup-events") + "/events.log" }

    func events() -> [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// A plugin answering `<name>.snapshot` and `<name>.restore` requests ("target dir") with
    /// "code|error|step;step;..." from the host calls.
    func backupPlugin(_ name: String, requires: [(String, String)] = []) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: name)
        s.eventLog = log
        s.requires = requires
        s.extraCode = """
            static char steps[8192];
            static void on_step(void *user, const char *step) {
                (void)user;
                if (strlen(steps) + strlen(step) + 2 < sizeof steps) { strcat(steps, step); strcat(steps, ";"); }
            }
            static int32_t on_request(void *user, const jamey_message *m) {
                jamey_host *host = user;
                char text[1024] = {0};
                memcpy(text, m->payload, m->payload_len < 1023 ? m->payload_len : 1023);
                char *space = strchr(text, ' ');
                if (space == NULL) return JAMEY_E_INVALID;
                *space = 0;
                char err[512] = {0};
                steps[0] = 0;
                int32_t code = strstr(m->topic, "restore") != NULL
                    ? api->plugin_restore(host, text, space + 1, on_step, NULL, err, sizeof err)
                    : api->plugin_snapshot(host, text, space + 1, err, sizeof err);
                char reply[10000];
                int n = snprintf(reply, sizeof reply, "%d|%s|%s", (int)code, err, steps);
                jamey_message r = { sizeof(jamey_message), 0, m->topic, reply, (size_t)n, "text/plain", NULL, 0, NULL, 0, NULL };
                return api->reply(host, m, &r);
            }
            """
        s.startCode = """
            jamey_subscribe_options o = { sizeof o, 0, 0, JAMEY_SUBSCRIBE_RESPONDER };
            if (api->subscribe(s->host, "\(name).*", &o, on_request, s->host, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        return .init(name, path: try TestPlugins.buildC(name: name, source: s.render()))
    }

    func stateful(_ name: String, requires: [(String, String)] = [], provides: [(String, String)] = []) throws
        -> TestKernel.Plugin
    {
        var s = CPluginSource(name: name)
        s.eventLog = log
        s.snapshotDelayMilliseconds = 0
        s.requires = requires
        s.provides = provides
        return .init(name, path: try TestPlugins.buildC(name: name, source: s.render()))
    }

    func call(_ k: TestKernel, _ topic: String, _ text: String) throws -> (code: Int, error: String, steps: [String]) {
        let reply = try k.bus.requestSync(BusMessage(topic: topic, payload: Array(text.utf8)), timeout: .seconds(60))
        let parts = String(decoding: reply.payload, as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false)
        return (
            Int(parts[0]) ?? 99, String(parts[1]), parts[2].split(separator: ";").map(String.init)
        )
    }

    /// A plugin `late` (granted the snapshot privilege, with a string key `greeting`) whose
    /// handler on `late.go` records "asked", waits until `marker` exists (at most 20 s), then
    /// asks for a restore of `store` and records "restore CODE".
    func lateRestorer(marker: String) throws -> TestKernel.Plugin {
        var s = CPluginSource(name: "late")
        s.eventLog = log
        s.configFields = [
            #"{ .struct_size = sizeof(jamey_config_field), .type = JAMEY_CONFIG_STRING, .key = "greeting", .default_value = "hi" }"#
        ]
        s.extraCode = """
            static int32_t on_go(void *user, const jamey_message *m) {
                (void)m;
                record("asked");
                for (int i = 0; i < 2000; i++) {
                    FILE *f = fopen("\(marker)", "r");
                    if (f != NULL) { fclose(f); break; }
                    probe_sleep(10);
                }
                char err[512] = {0};
                int32_t code = api->plugin_restore(user, "store", "/nonexistent", NULL, NULL, err, sizeof err);
                char line[64];
                snprintf(line, sizeof line, "restore %d", (int)code);
                record(line);
                return JAMEY_OK;
            }
            """
        s.startCode = """
            if (api->subscribe(s->host, "late.go", NULL, on_go, s->host, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        var late = TestKernel.Plugin("late", path: try TestPlugins.buildC(name: "late", source: s.render()))
        late.privileges = ["snapshot"]
        return late
    }

    /// A restore asked for from a bus handler while the kernel stops is refused with
    /// JAMEY_E_SHUTDOWN. It waited for the lifecycle lock, which the stop held while it waited for
    /// that very handler to return: neither moved until the stop's deadline, or ever.
    @Test func aRestoreAskedForDuringShutdownIsRefusedNotWaitedFor() throws {
        let marker = log + ".stopping"
        let late = try lateRestorer(marker: marker)
        let k = try TestKernel.boot(plugins: [try stateful("store"), late])
        try k.bus.publish(BusMessage(topic: "late.go"))
        #expect(TestKernel.eventually(timeout: .seconds(10)) { events().contains("asked late") })
        let stopped = LockedBox(false)
        Thread {
            k.shutdown()
            stopped.set(true)
        }.start()
        // The handler asks once the stop has begun (it waits for this file).
        #expect(TestKernel.eventually(timeout: .seconds(10)) { k.kernel.isShutdownRequested })
        FileManager.default.createFile(atPath: marker, contents: Data())
        #expect(TestKernel.eventually(timeout: .seconds(20)) { stopped.value }, "the shutdown is held up: \(events())")
        #expect(events().contains("restore -12 late"), "\(events())")
    }

    /// The same from a reload that restarts the asking plugin: the reload holds the lock and waits
    /// for the plugin's handlers; the restore gives up with JAMEY_E_STATE once the plugin stops.
    @Test func aRestoreAskedForByAPluginAReloadIsStoppingIsRefused() throws {
        let marker = log + ".stopping"
        let late = try lateRestorer(marker: marker)
        let store = try stateful("store")
        let k = try TestKernel.boot(plugins: [store, late])
        defer { k.shutdown() }
        try k.bus.publish(BusMessage(topic: "late.go"))
        #expect(TestKernel.eventually(timeout: .seconds(10)) { events().contains("asked late") })
        var changed = late
        changed.configYAML = "greeting: hello"
        let reloaded = LockedBox(false)
        Thread { [changed] in
            _ = try? k.reload(plugins: [store, changed])
            reloaded.set(true)
        }.start()
        #expect(TestKernel.eventually(timeout: .seconds(10)) { k.kernel.plugin(named: "late")?.state == .stopping })
        FileManager.default.createFile(atPath: marker, contents: Data())
        #expect(TestKernel.eventually(timeout: .seconds(20)) { reloaded.value }, "the reload is held up: \(events())")
        #expect(events().contains("restore -6 late"), "\(events())")
        #expect(k.kernel.plugin(named: "late")?.state == .started)
    }

    @Test func withoutThePrivilegeTheCallIsRefusedWithStateAndALogLine() throws {
        let k = try TestKernel.boot(plugins: [try stateful("store"), try backupPlugin("intruder")])
        defer { k.shutdown() }
        let dir = try TemporaryDirectory.make()
        let snapshot = try call(k, "intruder.snapshot", "store \(dir)")
        #expect(snapshot.code == -6, "JAMEY_E_STATE")
        #expect(snapshot.error.contains("without the snapshot privilege"))
        #expect(snapshot.error.contains("plugins.intruder.privileges: [snapshot]"))
        let restore = try call(k, "intruder.restore", "store \(dir)")
        #expect(restore.code == -6)
        #expect(!events().contains("snapshot store"))
        #expect(!events().contains("restore store"))
        #expect(try String(contentsOfFile: k.directory + "/jamey.yaml", encoding: .utf8).contains("intruder"))
    }

    @Test func aPrivilegedPluginSnapshotsAndRestoresWithDependentsStoppedAndStartedInOrder() throws {
        var vault = try backupPlugin("vault")
        vault.privileges = ["snapshot"]
        let k = try TestKernel.boot(plugins: [
            try stateful("store", provides: [("store.data", "1.0.0")]),
            try stateful("reader", requires: [("store.data", "^1.0")]),
            try stateful("indexer", requires: [("reader", "*")]),
            try stateful("bystander"),
            vault,
        ])
        defer { k.shutdown() }
        let dir = try TemporaryDirectory.make()
        let snapshot = try call(k, "vault.snapshot", "store \(dir)")
        #expect(snapshot.code == 0, "\(snapshot.error)")
        #expect(try String(contentsOfFile: dir + "/state.txt", encoding: .utf8) == "store")

        let before = events().count
        let restore = try call(k, "vault.restore", "store \(dir)")
        #expect(restore.code == 0, "\(restore.error)")
        #expect(
            restore.steps == [
                "stopping indexer (depends on store)", "stopped indexer",
                "stopping reader (depends on store)", "stopped reader",
                "stopping store", "stopped store",
                "initialising store", "restoring store from \(dir)", "restored store", "started store",
                "starting reader", "started reader",
                "starting indexer", "started indexer",
            ])
        // The hooks ran in that order: dependents stopped first, the target restored between its
        // init and its start, and nothing else touched.
        let hooks = Array(events()[before...]).filter { !$0.hasPrefix("health") }
        #expect(
            hooks == [
                "stop indexer", "deinit indexer", "stop reader", "deinit reader", "stop store", "deinit store",
                "init store", "restore store", "start store", "init reader", "start reader", "init indexer",
                "start indexer",
            ])
        for name in ["store", "reader", "indexer", "bystander", "vault"] {
            #expect(k.kernel.plugin(named: name)?.state == .started, "\(name)")
        }
        // The restarted provider registered its service again, and the bus still reaches vault.
        #expect(try call(k, "vault.snapshot", "reader \(try TemporaryDirectory.make())").code == 0)
    }

    @Test func aFailedRestoreStartsEveryoneAgainOnTheDataTheyHadAndSaysWhy() throws {
        var vault = try backupPlugin("vault")
        vault.privileges = ["snapshot"]
        let k = try TestKernel.boot(plugins: [
            try stateful("store", provides: [("store.data", "1.0.0")]),
            try stateful("reader", requires: [("store.data", "^1.0")]), vault,
        ])
        defer { k.shutdown() }
        let empty = try TemporaryDirectory.make()
        let restore = try call(k, "vault.restore", "store \(empty)")
        #expect(restore.code == -10, "JAMEY_E_PLUGIN")
        #expect(restore.error.contains("plugin 'store' restore failed (JAMEY_E_PLUGIN): no state.txt in"), "\(restore.error)")
        #expect(restore.steps.contains("started store"))
        #expect(restore.steps.last == "started reader")
        #expect(k.kernel.plugin(named: "store")?.state == .started)
        #expect(k.kernel.plugin(named: "reader")?.state == .started)
    }

    @Test func aCallerCannotRestoreItselfOrWhatItDependsOnAndUnknownTargetsAreNamed() throws {
        var vault = try backupPlugin("vault", requires: [("store.data", "^1.0")])
        vault.privileges = ["snapshot"]
        let k = try TestKernel.boot(plugins: [try stateful("store", provides: [("store.data", "1.0.0")]), vault])
        defer { k.shutdown() }
        let dir = try TemporaryDirectory.make()
        let own = try call(k, "vault.restore", "store \(dir)")
        #expect(own.code == -1, "JAMEY_E_INVALID")
        #expect(own.error.contains("'vault' depends on 'store'"), "\(own.error)")
        #expect(try call(k, "vault.restore", "vault \(dir)").error.contains("cannot restore itself"))
        let ghost = try call(k, "vault.snapshot", "ghost \(dir)")
        #expect(ghost.code == -2, "JAMEY_E_NOT_FOUND")
        #expect(ghost.error == "no plugin named 'ghost' is configured")
        #expect(k.kernel.plugin(named: "store")?.state == .started)
    }

    @Test func thePrivilegeIsCheckedInTheConfig() throws {
        let bad = """
            data_dir: d
            plugins:
              vault:
                privileges: [snapshot, root]
            """
        #expect {
            _ = try KernelConfig.parse(yaml: bad, source: "jamey.yaml", baseDirectory: "/tmp", environment: [:])
        } throws: { "\($0)".contains("plugins.vault.privileges") && "\($0)".contains("root") }
        let good = try KernelConfig.parse(
            yaml: "data_dir: d\nplugins:\n  vault:\n    privileges: [snapshot]\n", source: "jamey.yaml", baseDirectory: "/tmp",
            environment: [:])
        #expect(good.plugins.first?.privileges == [.snapshot])
    }
}
