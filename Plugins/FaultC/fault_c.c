/*
 * fault_c — a fault-injection plugin for crash isolation tests and benchmarks (plain C, from
 * jamey/plugin.h alone). Run it with `plugins.fault_c.isolation: process`: each request below
 * makes its process fail in one way, and the kernel must go on serving.
 *
 *   fault_c.echo      replies with the request's payload (the normal case)
 *   fault_c.pid       replies with the process id (tells one process from its restart)
 *   fault_c.config    replies with config `greeting` (read through the host API)
 *   fault_c.crash     writes through a NULL pointer (SIGSEGV)
 *   fault_c.abort     calls abort() (SIGABRT)
 *   fault_c.overflow  recurses until the stack overflows (SIGSEGV on the guard page)
 *   fault_c.oom       allocates and touches memory until allocation fails, then aborts
 *                     (with limits.memory_mb; without a limit it would take the machine's memory)
 *   fault_c.hang      never returns (limits.handler_timeout_ms catches it)
 *   fault_c.flood     publishes 64 events of 64 KiB to fault_c.echo (its own subscription: with
 *                     isolation they fill both shared-memory rings at once), then replies
 *   fault_c.churn     subscribes to fault_c.churned and unsubscribes, 100 times, freeing each
 *                     one's user data at once (its handler aborts if it runs after that)
 *
 * Routes: GET /v1/fault_c/pid and POST /v1/fault_c/echo (public).
 */
#define _GNU_SOURCE
#include <jamey/plugin.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const jamey_host_api *api; /* set by the entry point; valid for the life of the process */

typedef struct fault_state {
    jamey_host *host;
    jamey_metric_id requests_metric;
} fault_state;

static int32_t reply_text(fault_state *s, const jamey_message *request, const void *data, size_t len) {
    api->metric_record(s->host, s->requests_metric, JAMEY_METRIC_ADD, 1);
    if (request->reply_to == NULL) return JAMEY_OK;
    jamey_message reply = {0};
    reply.struct_size = sizeof(reply);
    reply.payload = data;
    reply.payload_len = len;
    reply.content_type = "application/octet-stream";
    return api->reply(s->host, request, &reply);
}

static int32_t on_echo(void *user, const jamey_message *request) {
    return reply_text(user, request, request->payload, request->payload_len);
}

static int32_t on_pid(void *user, const jamey_message *request) {
    char text[32];
    int n = snprintf(text, sizeof(text), "%d", (int)getpid());
    return reply_text(user, request, text, (size_t)n);
}

static int32_t on_config(void *user, const jamey_message *request) {
    fault_state *s = user;
    const char *greeting = "";
    if (api->config_string(s->host, "greeting", &greeting) != JAMEY_OK) greeting = "?";
    return reply_text(s, request, greeting, strlen(greeting));
}

static int32_t on_crash(void *user, const jamey_message *request) {
    (void)user;
    (void)request;
    volatile int *nowhere = NULL;
    *nowhere = 1;
    return JAMEY_OK;
}

static int32_t on_abort(void *user, const jamey_message *request) {
    (void)user;
    (void)request;
    abort();
}

/* Stops only at a depth no stack reaches (64 GiB of frames): the compiler sees an end. */
static int recurse(volatile char *previous, long depth) {
    volatile char frame[4096];
    frame[0] = (char)depth;
    frame[4095] = previous ? previous[0] : 0;
    if (depth > (1L << 24)) return frame[0];
    return recurse(frame, depth + 1) + frame[1];
}

static int32_t on_overflow(void *user, const jamey_message *request) {
    (void)user;
    (void)request;
    return recurse(NULL, 0) == 0 ? JAMEY_OK : JAMEY_E_PLUGIN;
}

static int32_t on_oom(void *user, const jamey_message *request) {
    (void)user;
    (void)request;
    for (;;) {
        size_t size = 16u << 20;
        char *block = malloc(size);
        if (block == NULL) abort();
        memset(block, 0x5a, size);
    }
}

static int32_t on_hang(void *user, const jamey_message *request) {
    (void)user;
    (void)request;
    for (;;) pause();
    return JAMEY_OK;
}

static int32_t on_flood(void *user, const jamey_message *request) {
    fault_state *s = user;
    static char block[64 << 10];
    memset(block, 'f', sizeof(block));
    jamey_message event = {0};
    event.struct_size = sizeof(event);
    event.topic = "fault_c.echo";
    event.payload = block;
    event.payload_len = sizeof(block);
    for (int i = 0; i < 64; i++) {
        int32_t rc = api->publish(s->host, &event);
        if (rc != JAMEY_OK) return rc;
    }
    return reply_text(s, request, "flooded", 7);
}

#define CHURN_ALIVE 0x616c697665ULL

/* A handler whose user data is freed as soon as unsubscribe returns: it aborts if it runs after
 * that (the header promises it does not). */
static int32_t on_churned(void *user, const jamey_message *message) {
    (void)message;
    volatile uint64_t *magic = user;
    if (*magic != CHURN_ALIVE) abort();
    return JAMEY_OK;
}

/* Subscribes to fault_c.churned and unsubscribes, 100 times, freeing each subscription's user
 * data right after unsubscribe (what an event stream per connection does). */
static int32_t on_churn(void *user, const jamey_message *request) {
    fault_state *s = user;
    jamey_subscribe_options events = {sizeof(events), 16, JAMEY_OVERFLOW_DROP_NEWEST, 0};
    for (int i = 0; i < 100; i++) {
        uint64_t *magic = malloc(sizeof(*magic));
        if (magic == NULL) return JAMEY_E_NOMEM;
        *magic = CHURN_ALIVE;
        uint64_t id = 0;
        int32_t rc = api->subscribe(s->host, "fault_c.churned", &events, on_churned, magic, &id);
        if (rc != JAMEY_OK) return rc;
        usleep(200);
        rc = api->unsubscribe(s->host, id);
        *(volatile uint64_t *)magic = 0;
        free(magic);
        if (rc != JAMEY_OK) return rc;
    }
    return reply_text(s, request, "churned", 7);
}

typedef struct fault_topic {
    const char *topic;
    jamey_message_handler_fn handler;
} fault_topic;

static const fault_topic topics[] = {
    {"fault_c.echo", on_echo},         {"fault_c.pid", on_pid},   {"fault_c.config", on_config},
    {"fault_c.crash", on_crash},       {"fault_c.abort", on_abort}, {"fault_c.overflow", on_overflow},
    {"fault_c.oom", on_oom},           {"fault_c.hang", on_hang},   {"fault_c.flood", on_flood},
    {"fault_c.churn", on_churn},
};

static int32_t fault_init(jamey_host *host, const char *config_json, size_t config_len, void **state_out, char *err,
                          size_t err_cap) {
    (void)config_json;
    (void)config_len;
    fault_state *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, err_cap, "out of memory");
        return JAMEY_E_NOMEM;
    }
    s->host = host;
    jamey_metric_desc metric = {0};
    metric.struct_size = sizeof(metric);
    metric.kind = JAMEY_METRIC_COUNTER;
    metric.name = "fault_c_requests_total";
    metric.help = "Requests fault_c answered";
    if (api->metric_register(host, &metric, &s->requests_metric) != JAMEY_OK) {
        snprintf(err, err_cap, "could not register metric fault_c_requests_total");
        free(s);
        return JAMEY_E_PLUGIN;
    }
    *state_out = s;
    return JAMEY_OK;
}

static int32_t fault_start(void *state, char *err, size_t err_cap) {
    fault_state *s = state;
    jamey_subscribe_options responder = {sizeof(responder), 0, JAMEY_OVERFLOW_DROP_NEWEST, JAMEY_SUBSCRIBE_RESPONDER};
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        uint64_t id = 0;
        if (api->subscribe(s->host, topics[i].topic, &responder, topics[i].handler, s, &id) != JAMEY_OK) {
            snprintf(err, err_cap, "could not subscribe to %s", topics[i].topic);
            return JAMEY_E_PLUGIN;
        }
    }
    char line[64];
    int n = snprintf(line, sizeof(line), "fault_c answering in process %d", (int)getpid());
    api->log(s->host, JAMEY_LOG_INFO, line, (size_t)n);
    return JAMEY_OK;
}

static void fault_deinit(void *state) { free(state); }

static int32_t fault_health(void *state, char *detail, size_t cap) {
    (void)state;
    snprintf(detail, cap, "pid %d", (int)getpid());
    return JAMEY_HEALTH_OK;
}

static const jamey_config_field config_fields[] = {
    {.struct_size = sizeof(jamey_config_field),
     .type = JAMEY_CONFIG_STRING,
     .key = "greeting",
     .default_value = "hello from fault_c",
     .description = "Text fault_c.config replies with"},
};

static const jamey_route routes[] = {
    {.struct_size = sizeof(jamey_route), .method = "GET", .path = "/v1/fault_c/pid", .topic = "fault_c.pid",
     .scope = "public", .summary = "The process id of fault_c"},
    {.struct_size = sizeof(jamey_route), .method = "POST", .path = "/v1/fault_c/echo", .topic = "fault_c.echo",
     .scope = "public", .summary = "Echo the body"},
};

static const jamey_plugin_descriptor descriptor = {
    .struct_size = sizeof(jamey_plugin_descriptor),
    .abi_major = JAMEY_ABI_MAJOR,
    .abi_minor = JAMEY_ABI_MINOR,
    .name = "fault_c",
    .version = "1.0.0",
    .description = "Fault injection for crash isolation: crash, abort, overflow, oom, hang and echo on the bus",
    .config_fields = config_fields,
    .config_field_count = 1,
    .init = fault_init,
    .start = fault_start,
    .deinit = fault_deinit,
    .health = fault_health,
    .routes = routes,
    .route_count = 2,
};

JAMEY_EXPORT const jamey_plugin_descriptor *jamey_plugin_register(const jamey_registration *registration) {
    if (registration == NULL || registration->host_abi_major != JAMEY_ABI_MAJOR) return NULL;
    api = registration->api;
    return &descriptor;
}
