import JameyTestKit

/// A C plugin built by the tests that declares HTTP routes and answers them on `probe.echo`:
/// the reply echoes method, path, query, parameters, caller and body as JSON, and the `id`
/// parameter picks the status mapping under test (`missing` 404 with JSON, `teapot` 418 with no
/// body, `boom` 500 with no body, `bad` an invalid status, `slow` no reply, `fail` no reply and
/// an error from the handler, `delay` a reply after
/// 400 ms from another thread, after appending `delay-start` to the event log).
enum ProbePlugin {
    /// Builds the plugin; `eventLog` receives `delay-start` lines.
    static func build(eventLog: String) throws -> String {
        var source = CPluginSource(name: "probe")
        source.eventLog = eventLog
        source.routes = [
            #"{sizeof(jamey_route), 0, "GET", "/v1/probe/items/{id}/parts/{part}", "probe.echo", "read", "Echo an item part"}"#,
            #"{sizeof(jamey_route), 0, "POST", "/v1/probe/items/{id}", "probe.echo", "write", "Echo a posted item"}"#,
            #"{sizeof(jamey_route), 0, "GET", "/v1/probe/public", "probe.echo", "public", NULL}"#,
            #"{sizeof(jamey_route), 0, "GET", "/v1/probe/admin", "probe.echo", "admin", "Admin only"}"#,
            #"{sizeof(jamey_route), 0, "GET", "/v1/probe/nobody", "probe.nobody", "read", "Nothing answers"}"#,
            #"{sizeof(jamey_route), 0, "GET", "/v1/probe/direct/{id}", "probe.direct", "read", "Echo through a direct responder"}"#,
            #"{sizeof(jamey_route), 0, "GET", "/healthz", "probe.echo", "public", "Clashes with the gateway"}"#,
        ]
        source.extraCode = #"""
            #include <pthread.h>
            #include <unistd.h>
            static jamey_host *g_host;

            static const char *hdr(const jamey_message *m, const char *k) {
                for (size_t i = 0; i < m->header_count; i++)
                    if (strcmp(m->headers[i].key, k) == 0) return m->headers[i].value;
                return "";
            }

            typedef struct delayed { char *reply_to; uint64_t correlation_id; } delayed;

            static void *reply_later(void *arg) {
                delayed *d = arg;
                usleep(400 * 1000);
                jamey_message req = {0};
                req.struct_size = sizeof req; req.reply_to = d->reply_to; req.correlation_id = d->correlation_id;
                const char *text = "{\"delayed\":true}";
                jamey_message r = {0};
                r.struct_size = sizeof r; r.payload = text; r.payload_len = strlen(text); r.content_type = "application/json";
                api->reply(g_host, &req, &r);
                free(d->reply_to); free(d);
                return NULL;
            }

            static int32_t echo(void *user, const jamey_message *m) {
                (void)user;
                if (m->reply_to == NULL) return JAMEY_OK;
                const char *id = hdr(m, "http.param.id");
                if (strcmp(id, "slow") == 0) return JAMEY_OK;
                if (strcmp(id, "fail") == 0) return JAMEY_E_PLUGIN;
                if (strcmp(id, "delay") == 0) {
                    record("delay-start");
                    delayed *d = malloc(sizeof *d);
                    d->reply_to = strdup(m->reply_to); d->correlation_id = m->correlation_id;
                    pthread_t t; pthread_create(&t, NULL, reply_later, d); pthread_detach(t);
                    return JAMEY_OK;
                }
                char body[8192];
                const char *status = "200";
                const char *type = "application/json";
                int len = snprintf(body, sizeof body,
                    "{\"method\":\"%s\",\"path\":\"%s\",\"query\":\"%s\",\"id\":\"%s\",\"part\":\"%s\",\"key_id\":\"%s\",\"scope\":\"%s\",\"accept\":\"%s\",\"request_id\":\"%s\",\"content_type\":\"%s\",\"body\":\"%.*s\"}",
                    hdr(m, "http.method"), hdr(m, "http.path"), hdr(m, "http.query"), id, hdr(m, "http.param.part"),
                    hdr(m, "auth.key_id"), hdr(m, "auth.scope"), hdr(m, "http.header.accept"), hdr(m, "http.header.x-request-id"),
                    m->content_type ? m->content_type : "", (int)m->payload_len, (const char *)m->payload);
                if (strcmp(id, "missing") == 0) { status = "404"; len = snprintf(body, sizeof body, "{\"error\":\"no such item\"}"); }
                else if (strcmp(id, "teapot") == 0) { status = "418"; len = 0; type = NULL; }
                else if (strcmp(id, "boom") == 0) { status = "500"; len = 0; type = NULL; }
                else if (strcmp(id, "bad") == 0) { status = "two hundred"; }
                // x-frame-options is the gateway's: its value must not get through.
                jamey_kv headers[3] = {{"status", status}, {"http.header.x-probe", "yes"}, {"http.header.x-frame-options", "ALLOWALL"}};
                jamey_message r = {0};
                r.struct_size = sizeof r; r.payload = body; r.payload_len = (size_t)len; r.content_type = type;
                r.headers = headers; r.header_count = 3;
                return api->reply(g_host, m, &r) == JAMEY_OK ? JAMEY_OK : JAMEY_E_PLUGIN;
            }
            """#
        // The same (thread-safe) handler also answers `probe.direct` as a JAMEY_SUBSCRIBE_DIRECT
        // responder, on the gateway's own thread; the kernel ends that subscription at stop.
        source.startCode = """
            g_host = s->host; if (api->subscribe(s->host, "probe.echo", NULL, echo, NULL, &s->sub) != JAMEY_OK) return JAMEY_E_PLUGIN;
            jamey_subscribe_options direct = {0}; uint64_t direct_id = 0;
            direct.struct_size = sizeof direct; direct.flags = JAMEY_SUBSCRIBE_RESPONDER | JAMEY_SUBSCRIBE_DIRECT;
            if (api->subscribe(s->host, "probe.direct", &direct, echo, NULL, &direct_id) != JAMEY_OK) return JAMEY_E_PLUGIN;
            """
        return try TestPlugins.buildC(name: "probe", source: source.render(), flags: ["-pthread"])
    }
}
