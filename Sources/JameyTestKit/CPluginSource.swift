/// Generates the C source of a configurable probe plugin, to build with ``TestPlugins/buildC``.
///
/// Every knob maps to one way a plugin can be right or wrong, so loader and lifecycle tests can
/// build exactly the broken plugin they need. Lifecycle events are appended, one per line
/// (`init NAME`, `start NAME`, `stop NAME`, `deinit NAME`), to ``eventLog`` when set.
public struct CPluginSource: Sendable {
    /// Descriptor name (a C string expression is emitted from it; use `nil` for a NULL name).
    public var name: String? = "probe"
    /// Descriptor version.
    public var version = "1.0.0"
    /// C expression for `abi_major`.
    public var abiMajor = "JAMEY_ABI_MAJOR"
    /// C expression for `abi_minor`.
    public var abiMinor = "JAMEY_ABI_MINOR"
    /// C expression for the descriptor's `struct_size`.
    public var structSize = "sizeof(jamey_plugin_descriptor)"
    /// `requires` entries: (name, version range).
    public var requires: [(String, String)] = []
    /// A C expression for the `flags` of the `requires` entry of a name (`JAMEY_DEPENDENCY_OPTIONAL`);
    /// 0 for the others.
    public var requiresFlags: [String: String] = [:]
    /// `provides` entries: (service, version). Registered in init unless ``skipRegistering``.
    public var provides: [(String, String)] = []
    /// Do not register the provided services (to test the provides check).
    public var skipRegistering = false
    /// Make init fail with this message.
    public var initError: String? = nil
    /// Make start fail with this message.
    public var startError: String? = nil
    /// Milliseconds `stop` sleeps (to test the shutdown deadline).
    public var stopDelayMilliseconds = 0
    /// Milliseconds `init` sleeps (to test its deadline).
    public var initDelayMilliseconds = 0
    /// Milliseconds `start` sleeps (to test its deadline).
    public var startDelayMilliseconds = 0
    /// Provide a health hook that sleeps this many milliseconds, then reports OK with the detail
    /// "probe healthy"; `nil` for no health hook.
    public var healthDelayMilliseconds: Int? = nil
    /// With ``healthDelayMilliseconds``: sleep only while this file exists (a test creates it
    /// to make the plugin's health hook hang at a moment of its choosing).
    public var healthGate: String? = nil
    /// With ``healthDelayMilliseconds``: report the status named by this file's first word
    /// (`ok`, `degraded`, `unhealthy`; `ok` while it is missing), detail "probe WORD".
    public var healthFile: String? = nil
    /// Provide snapshot and restore hooks that sleep this many milliseconds; snapshot writes
    /// `state.txt` (holding the plugin's name) into its directory, restore records `restore NAME`
    /// when it finds that file. `nil` for no such hooks.
    public var snapshotDelayMilliseconds: Int? = nil
    /// C statements run in the entry point before it returns (`r` is the registration).
    public var entryCode = ""
    /// A C expression for the descriptor's name, overriding ``name`` (e.g. a pointer computed at
    /// run time); it is evaluated in the entry point.
    public var nameExpression: String? = nil
    /// A C expression for `requires_count`, overriding the count of ``requires``.
    public var requiresCountExpression: String? = nil
    /// Export the entry symbol (false: a library without it).
    public var exportEntry = true
    /// Entry returns NULL (refuses the host).
    public var refuseHost = false
    /// Provide an init hook.
    public var hasInit = true
    /// C initializers of `jamey_config_field` entries (without the surrounding braces list).
    public var configFields: [String] = []
    /// C initializers of `jamey_route` entries (ABI 1.1).
    public var routes: [String] = []
    /// File to append lifecycle events to.
    public var eventLog: String? = nil
    /// Extra C code placed before the hooks (helpers, handlers).
    public var extraCode = ""
    /// Extra C statements at the end of a successful start (`s` is the state, `api` the table).
    public var startCode = ""
    /// The body of a `reconfigure` hook (ABI 1.3), or nil for none. It sees `state`, `json`,
    /// `len`, `err` and `cap`, and must return a code; the event `reconfigure <name>` is recorded
    /// before it, and the JSON is kept in `last_config` (a static buffer).
    public var reconfigureCode: String? = nil

    /// Extra C statements at the start of `stop` (`state` is the state).
    public var stopCode = ""
    /// The body of a `check` hook (ABI 1.6), or nil for none. It sees `host`, `json`, `len`,
    /// `err` and `cap`, and must return a code; the event `check <name>` is recorded before it.
    public var checkCode: String? = nil
    /// The bodies of `hand_over` and `take_over` hooks (ABI 1.7), or nil for none. Each sees
    /// `state`, `dir`, `err` and `cap`, and must return a code; the events `hand_over <name>` and
    /// `take_over <name>` are recorded before them.
    public var handOverCode: String? = nil
    public var takeOverCode: String? = nil

    /// A probe plugin named `name`.
    public init(name: String? = "probe") { self.name = name }

    /// The C source text.
    public func render() -> String {
        func cString(_ s: String?) -> String {
            guard let s else { return "NULL" }
            return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        func deps(_ list: [(String, String)], _ varName: String) -> String {
            guard !list.isEmpty else { return "static const jamey_dependency \(varName)[1] = {{0}};" }
            let flags = varName == "requires_list" ? requiresFlags : [:]
            let items = list.map { "{sizeof(jamey_dependency), \(flags[$0.0] ?? "0"), \(cString($0.0)), \(cString($0.1))}" }
            return "static const jamey_dependency \(varName)[] = {\(items.joined(separator: ", "))};"
        }
        let registrations =
            skipRegistering
            ? ""
            : provides.map {
                "    if (api->service_register(host, \(cString($0.0)), \(cString($0.1)), &service_table, sizeof(service_table)) != JAMEY_OK) { snprintf(err, cap, \"register failed\"); return JAMEY_E_PLUGIN; }"
            }.joined(separator: "\n")
        return """
            #define _POSIX_C_SOURCE 200809L
            #include <jamey/plugin.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            #include <time.h>

            static const jamey_host_api *api;
            typedef struct probe_state { jamey_host *host; uint64_t sub; } probe_state;
            static const struct { uint32_t struct_size; int (*answer)(void); } service_table = { 16, NULL };

            static void record(const char *event) {
                const char *path = \(cString(eventLog));
                if (path == NULL) return;
                FILE *f = fopen(path, "a");
                if (f == NULL) return;
                fprintf(f, "%s %s\\n", event, \(cString(name ?? "?")));
                fclose(f);
            }

            static void probe_sleep(long ms) {
                if (ms <= 0) return;
                struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
                while (nanosleep(&ts, &ts) != 0) {}
            }

            \(extraCode)

            static int32_t probe_init(jamey_host *host, const char *json, size_t len, void **out, char *err, size_t cap) {
                (void)json; (void)len;
                probe_sleep(\(initDelayMilliseconds));
                record("init");
                \(initError.map { "snprintf(err, cap, \"%s\", \(cString($0))); return JAMEY_E_PLUGIN;" } ?? "")
                probe_state *s = calloc(1, sizeof(*s));
                s->host = host;
            \(registrations)
                *out = s;
                return JAMEY_OK;
            }

            static int32_t probe_health(void *state, char *detail, size_t cap) {
                (void)state;
                const char *gate = \(cString(healthGate));
                FILE *gated = gate == NULL ? NULL : fopen(gate, "r");
                if (gate == NULL || gated != NULL) probe_sleep(\(healthDelayMilliseconds ?? 0));
                if (gated != NULL) fclose(gated);
                record("health");
                const char *status_file = \(cString(healthFile));
                if (status_file != NULL) {
                    char word[32] = "ok";
                    FILE *f = fopen(status_file, "r");
                    if (f != NULL) { if (fscanf(f, "%31s", word) != 1) word[0] = 0; fclose(f); }
                    snprintf(detail, cap, "probe %s", word);
                    if (strcmp(word, "unhealthy") == 0) return JAMEY_HEALTH_UNHEALTHY;
                    if (strcmp(word, "degraded") == 0) return JAMEY_HEALTH_DEGRADED;
                    return JAMEY_HEALTH_OK;
                }
                snprintf(detail, cap, "probe healthy");
                return JAMEY_HEALTH_OK;
            }

            static int32_t probe_snapshot(void *state, const char *dir, char *err, size_t cap) {
                (void)state;
                probe_sleep(\(snapshotDelayMilliseconds ?? 0));
                char path[4096];
                snprintf(path, sizeof path, "%s/state.txt", dir);
                FILE *f = fopen(path, "w");
                if (f == NULL) { snprintf(err, cap, "cannot write %s", path); return JAMEY_E_PLUGIN; }
                fputs(\(cString(name ?? "?")), f);
                fclose(f);
                record("snapshot");
                return JAMEY_OK;
            }

            static int32_t probe_restore(void *state, const char *dir, char *err, size_t cap) {
                (void)state;
                probe_sleep(\(snapshotDelayMilliseconds ?? 0));
                char path[4096];
                snprintf(path, sizeof path, "%s/state.txt", dir);
                FILE *f = fopen(path, "r");
                if (f == NULL) { snprintf(err, cap, "no state.txt in %s", dir); return JAMEY_E_PLUGIN; }
                fclose(f);
                record("restore");
                return JAMEY_OK;
            }

            static char last_config[4096];
            __attribute__((unused)) static int32_t probe_reconfigure(void *state, const char *json, size_t len, char *err, size_t cap) {
                (void)state; (void)err; (void)cap;
                snprintf(last_config, sizeof last_config, "%.*s", (int)len, json);
                record("reconfigure");
                \(reconfigureCode ?? "return JAMEY_E_UNSUPPORTED;")
            }

            __attribute__((unused)) static int32_t probe_check(jamey_host *host, const char *json, size_t len, char *err, size_t cap) {
                (void)host; (void)json; (void)len; (void)err; (void)cap;
                record("check");
                \(checkCode ?? "return JAMEY_OK;")
            }

            __attribute__((unused)) static int32_t probe_hand_over(void *state, const char *dir, char *err, size_t cap) {
                (void)state; (void)dir; (void)err; (void)cap;
                record("hand_over");
                \(handOverCode ?? "return JAMEY_OK;")
            }

            __attribute__((unused)) static int32_t probe_take_over(void *state, const char *dir, char *err, size_t cap) {
                (void)state; (void)dir; (void)err; (void)cap;
                record("take_over");
                \(takeOverCode ?? "return JAMEY_OK;")
            }

            static int32_t probe_start(void *state, char *err, size_t cap) {
                probe_state *s = state; (void)s;
                \(startDelayMilliseconds > 0 ? "record(\"starting\");" : "")
                probe_sleep(\(startDelayMilliseconds));
                record("start");
                \(startError.map { "snprintf(err, cap, \"%s\", \(cString($0))); return JAMEY_E_PLUGIN;" } ?? "")
                \(startCode)
                (void)err; (void)cap;
                return JAMEY_OK;
            }

            static int32_t probe_stop(void *state, char *err, size_t cap) {
                (void)state; (void)err; (void)cap;
                \(stopCode)
                if (\(stopDelayMilliseconds) > 0) {
                    struct timespec ts = { \(stopDelayMilliseconds) / 1000, (\(stopDelayMilliseconds) % 1000) * 1000000L };
                    nanosleep(&ts, NULL);
                }
                record("stop");
                return JAMEY_OK;
            }

            static void probe_deinit(void *state) { record("deinit"); free(state); }

            \(deps(requires, "requires_list"))
            \(deps(provides, "provides_list"))
            static const jamey_config_field config_fields[] = { \(configFields.isEmpty ? "{0}" : configFields.joined(separator: ", ")) };
            static const jamey_route routes[] = { \(routes.isEmpty ? "{0}" : routes.joined(separator: ", ")) };

            static jamey_plugin_descriptor descriptor = {
                .struct_size = \(structSize),
                .abi_major = \(abiMajor),
                .abi_minor = \(abiMinor),
                .name = \(cString(name)),
                .version = \(cString(version)),
                .description = "probe plugin built by a test",
                .requires_list = requires_list,
                .requires_count = \(requiresCountExpression ?? String(requires.count)),
                .provides_list = provides_list,
                .provides_count = \(provides.count),
                .config_fields = config_fields,
                .config_field_count = \(configFields.count),
                .init = \(hasInit ? "probe_init" : "NULL"),
                .routes = \(routes.isEmpty ? "NULL" : "routes"),
                .route_count = \(routes.count),
                .start = probe_start,
                .stop = probe_stop,
                .deinit = probe_deinit,
                .health = \(healthDelayMilliseconds == nil ? "NULL" : "probe_health"),
                .snapshot = \(snapshotDelayMilliseconds == nil ? "NULL" : "probe_snapshot"),
                .restore = \(snapshotDelayMilliseconds == nil ? "NULL" : "probe_restore"),
                .reconfigure = \(reconfigureCode == nil ? "NULL" : "probe_reconfigure"),
                .check = \(checkCode == nil ? "NULL" : "probe_check"),
                .hand_over = \(handOverCode == nil ? "NULL" : "probe_hand_over"),
                .take_over = \(takeOverCode == nil ? "NULL" : "probe_take_over"),
            };

            \(exportEntry ? "JAMEY_EXPORT" : "__attribute__((visibility(\"hidden\")))") const jamey_plugin_descriptor *\(exportEntry ? "jamey_plugin_register" : "probe_hidden_entry")(const jamey_registration *r) {
                api = r->api;
                \(nameExpression.map { "descriptor.name = \($0);" } ?? "")
                \(entryCode)
                return \(refuseHost ? "NULL" : "&descriptor");
            }

            """
    }
}

extension CPluginSource {
    /// A probe `name` that records what `hook_time_left` (ABI 1.6) answers in its start
    /// (`start-left N`) and its stop (`stop-left N`), N in nanoseconds, and answers requests on
    /// `<name>.left` with what it answers from a bus handler.
    public static func hookTimeProbe(name: String, eventLog: String) -> CPluginSource {
        var s = CPluginSource(name: name)
        s.eventLog = eventLog
        s.extraCode = """
            static void note_left(jamey_host *host, const char *what) {
                char line[64];
                snprintf(line, sizeof line, "%s %lld", what, (long long)api->hook_time_left(host));
                record(line);
            }
            static int32_t on_left(void *user, const jamey_message *m) {
                jamey_host *host = user;
                char reply[32];
                int n = snprintf(reply, sizeof reply, "%lld", (long long)api->hook_time_left(host));
                jamey_message r = { sizeof(jamey_message), 0, m->topic, reply, (size_t)n, "text/plain", NULL, 0, NULL, 0, NULL };
                return api->reply(host, m, &r);
            }
            """
        s.startCode = """
            note_left(s->host, "start-left");
            jamey_subscribe_options o = { sizeof o, 64, 0, JAMEY_SUBSCRIBE_RESPONDER };
            if (api->subscribe(s->host, "\(name).left", &o, on_left, s->host, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        s.stopCode = "note_left(((probe_state *)state)->host, \"stop-left\");"
        return s
    }

    /// The nanoseconds an event `what N` of ``hookTimeProbe(name:eventLog:)`` recorded in `events`.
    public static func timeLeft(_ what: String, in events: [String]) -> Int64? {
        events.first { $0.hasPrefix(what + " ") }.flatMap { Int64($0.split(separator: " ")[1]) }
    }
}
