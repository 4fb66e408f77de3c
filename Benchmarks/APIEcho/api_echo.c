/*
 * api_echo: the plugin-declared routes of scripts/bench-api.sh. It answers each forwarded request
 * with {"echo":"<name>"} at once, so the benchmark measures the gateway's forwarding and not a
 * plugin's own work. Two routes, one handler (stateless, so thread-safe):
 *   GET /v1/echo/{name}         topic bench.api.echo, a JAMEY_SUBSCRIBE_DIRECT responder: the
 *                               handler runs on the gateway's request thread;
 *   GET /v1/echo-queued/{name}  topic bench.api.echo_queued, a plain responder: the request is
 *                               queued to a bus worker and the reply hops back.
 * Built with cc from jamey/plugin.h alone:
 *
 *     cc -std=c11 -O2 -shared -fPIC -I Kit/Sources/CJameyABI/include -o libAPIEcho.so api_echo.c
 */
#include <jamey/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const jamey_host_api *api;

typedef struct echo_state {
    jamey_host *host;
    uint64_t direct;
    uint64_t queued;
} echo_state;

static int32_t on_request(void *user, const jamey_message *m) {
    echo_state *s = user;
    if (m->reply_to == NULL) return JAMEY_OK;
    const char *name = "";
    for (size_t i = 0; i < m->header_count; i++) {
        if (strcmp(m->headers[i].key, "http.param.name") == 0) name = m->headers[i].value;
    }
    char body[256];
    int len = snprintf(body, sizeof body, "{\"echo\":\"%.64s\"}", name);
    jamey_message reply = {0};
    reply.struct_size = sizeof reply;
    reply.payload = body;
    reply.payload_len = (size_t)len;
    reply.content_type = "application/json";
    return api->reply(s->host, m, &reply);
}

static int32_t echo_init(jamey_host *host, const char *json, size_t len, void **out, char *err, size_t cap) {
    (void)json; (void)len; (void)err; (void)cap;
    echo_state *s = calloc(1, sizeof *s);
    if (s == NULL) return JAMEY_E_NOMEM;
    s->host = host;
    *out = s;
    return JAMEY_OK;
}

static int32_t echo_start(void *state, char *err, size_t cap) {
    echo_state *s = state;
    jamey_subscribe_options options = {0};
    options.struct_size = sizeof options;
    options.flags = JAMEY_SUBSCRIBE_RESPONDER | JAMEY_SUBSCRIBE_DIRECT;
    if (api->subscribe(s->host, "bench.api.echo", &options, on_request, s, &s->direct) != JAMEY_OK) {
        snprintf(err, cap, "could not subscribe to bench.api.echo");
        return JAMEY_E_PLUGIN;
    }
    options.flags = JAMEY_SUBSCRIBE_RESPONDER;
    if (api->subscribe(s->host, "bench.api.echo_queued", &options, on_request, s, &s->queued) != JAMEY_OK) {
        snprintf(err, cap, "could not subscribe to bench.api.echo_queued");
        return JAMEY_E_PLUGIN;
    }
    return JAMEY_OK;
}

static int32_t echo_stop(void *state, char *err, size_t cap) {
    (void)err; (void)cap;
    echo_state *s = state;
    api->unsubscribe(s->host, s->direct);
    api->unsubscribe(s->host, s->queued);
    return JAMEY_OK;
}

static void echo_deinit(void *state) { free(state); }

static const jamey_route routes[] = {
    {.struct_size = sizeof(jamey_route), .method = "GET", .path = "/v1/echo/{name}", .topic = "bench.api.echo",
     .scope = "read", .summary = "Echo a name (benchmark, direct responder)", .operation_id = "benchEcho"},
    {.struct_size = sizeof(jamey_route), .method = "GET", .path = "/v1/echo-queued/{name}",
     .topic = "bench.api.echo_queued", .scope = "read", .summary = "Echo a name (benchmark, queued responder)",
     .operation_id = "benchEchoQueued"},
};

static const jamey_plugin_descriptor descriptor = {
    .struct_size = sizeof(jamey_plugin_descriptor),
    .abi_major = JAMEY_ABI_MAJOR,
    .abi_minor = JAMEY_ABI_MINOR,
    .name = "api_echo",
    .version = "1.0.0",
    .description = "Benchmark plugin: answers GET /v1/echo/{name} through the api plugin",
    .init = echo_init,
    .start = echo_start,
    .stop = echo_stop,
    .deinit = echo_deinit,
    .routes = routes,
    .route_count = 2,
};

JAMEY_EXPORT const jamey_plugin_descriptor *jamey_plugin_register(const jamey_registration *registration) {
    api = registration->api;
    return &descriptor;
}
