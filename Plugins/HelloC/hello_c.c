/*
 * HelloC — a complete Jamey plugin in plain C, built from jamey/plugin.h alone:
 *
 *     cc -std=c11 -shared -fPIC -I../../Kit/Sources/CJameyABI/include -Iinclude -o libHelloC.so hello_c.c
 *
 * It registers the "hello.greeter" service, answers requests on "hello.c.greet" with
 * "<greeting>, <payload>!", counts events on "hello.swift.>" and reports both in its health.
 */
#include <jamey/plugin.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hello_greeter.h"

static const jamey_host_api *api; /* set by the entry point; valid for the life of the process */

/* Everything per instance: one process may run several kernels (tests do). */
typedef struct hello_state {
    jamey_host *host;
    char greeting[64];
    uint64_t greet_sub;
    uint64_t event_sub;
    jamey_metric_id greetings_metric;
    atomic_uint_fast64_t greetings;
    atomic_uint_fast64_t events_seen;
    hello_greeter_v1 greeter; /* the service table this instance registers */
} hello_state;

/* ---- the hello.greeter service ------------------------------------------------------------ */

/* Saturates instead of overflowing (a signed overflow is undefined behaviour in C). */
static int64_t greeter_add(void *context, int64_t a, int64_t b) {
    (void)context;
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum)) return a > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

/* The length of the longest prefix of `text` (`len` bytes) that is at most `cap` bytes and does
 * not end inside a UTF-8 sequence: text is cut there, never mid-character. */
static size_t utf8_cut(const char *text, size_t len, size_t cap) {
    if (len <= cap) return len;
    size_t n = cap;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    return n;
}

/* The length of `text` (`len` bytes) without a UTF-8 sequence cut short at its end. */
static size_t utf8_complete(const char *text, size_t len) {
    size_t i = len, after = 0;
    while (i > 0 && after < 3 && ((unsigned char)text[i - 1] & 0xC0) == 0x80) { i--; after++; }
    if (i == 0) return len;
    unsigned char lead = (unsigned char)text[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return after + 1 < need ? i - 1 : len;
}

static size_t greeter_greet(void *context, const char *name, char *out, size_t cap) {
    hello_state *s = context;
    int n = snprintf(out, cap, "%s, %s!", s->greeting, name ? name : "world");
    /* Truncated: never inside a character. */
    if (n >= 0 && cap > 0 && (size_t)n >= cap) out[utf8_complete(out, strlen(out))] = '\0';
    atomic_fetch_add(&s->greetings, 1);
    return n < 0 ? 0 : (size_t)n;
}

static uint64_t greeter_count(void *context) {
    hello_state *s = context;
    return atomic_load(&s->greetings);
}

/* ---- bus handlers --------------------------------------------------------------------------- */

static int32_t on_greet(void *user, const jamey_message *request) {
    hello_state *s = user;
    char name[128];
    size_t n = request->payload == NULL ? 0 : utf8_cut((const char *)request->payload, request->payload_len, sizeof(name) - 1);
    if (n > 0) memcpy(name, request->payload, n);
    name[n] = '\0';
    char text[256];
    size_t len = greeter_greet(s, n ? name : "world", text, sizeof(text));
    if (len >= sizeof(text)) len = strlen(text); /* truncated at a character by greeter_greet */
    api->metric_record(s->host, s->greetings_metric, JAMEY_METRIC_ADD, 1);
    if (request->reply_to == NULL) return JAMEY_OK; /* an event, not a request: nothing to answer */
    jamey_message reply = {0};
    reply.struct_size = sizeof(reply);
    reply.payload = text;
    reply.payload_len = len;
    reply.content_type = "text/plain; charset=utf-8";
    return api->reply(s->host, request, &reply);
}

static int32_t on_swift_event(void *user, const jamey_message *event) {
    hello_state *s = user;
    (void)event;
    atomic_fetch_add(&s->events_seen, 1);
    return JAMEY_OK;
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static int32_t hello_init(jamey_host *host, const char *config_json, size_t config_len, void **state_out,
                          char *err, size_t err_cap) {
    (void)config_json;
    (void)config_len;
    hello_state *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, err_cap, "out of memory");
        return JAMEY_E_NOMEM;
    }
    s->host = host;
    const char *greeting = NULL;
    if (api->config_string(host, "greeting", &greeting) != JAMEY_OK) greeting = "Hello";
    size_t g = utf8_cut(greeting, strlen(greeting), sizeof(s->greeting) - 1);
    memcpy(s->greeting, greeting, g);
    s->greeting[g] = '\0';

    jamey_metric_desc metric = {0};
    metric.struct_size = sizeof(metric);
    metric.kind = JAMEY_METRIC_COUNTER;
    metric.name = "hello_c_greetings_total";
    metric.help = "Greetings answered over the bus";
    if (api->metric_register(host, &metric, &s->greetings_metric) != JAMEY_OK) {
        snprintf(err, err_cap, "could not register metric hello_c_greetings_total");
        free(s);
        return JAMEY_E_PLUGIN;
    }
    s->greeter.struct_size = sizeof(hello_greeter_v1);
    s->greeter.context = s;
    s->greeter.add = greeter_add;
    s->greeter.greet = greeter_greet;
    s->greeter.count = greeter_count;
    int32_t rc = api->service_register(host, HELLO_GREETER_SERVICE, HELLO_GREETER_VERSION, &s->greeter, sizeof(s->greeter));
    if (rc != JAMEY_OK) {
        snprintf(err, err_cap, "could not register service %s (code %d)", HELLO_GREETER_SERVICE, rc);
        free(s);
        return rc;
    }
    *state_out = s;
    return JAMEY_OK;
}

static int32_t hello_start(void *state, char *err, size_t err_cap) {
    hello_state *s = state;
    jamey_subscribe_options responder = {sizeof(responder), 0, JAMEY_OVERFLOW_DROP_NEWEST, JAMEY_SUBSCRIBE_RESPONDER};
    if (api->subscribe(s->host, "hello.c.greet", &responder, on_greet, s, &s->greet_sub) != JAMEY_OK ||
        api->subscribe(s->host, "hello.swift.>", NULL, on_swift_event, s, &s->event_sub) != JAMEY_OK) {
        snprintf(err, err_cap, "could not subscribe");
        return JAMEY_E_PLUGIN;
    }
    const char *text = "HelloC started";
    jamey_message started = {0};
    started.struct_size = sizeof(started);
    started.topic = "hello.c.started";
    started.payload = text;
    started.payload_len = strlen(text);
    started.content_type = "text/plain";
    api->publish(s->host, &started);
    const char *line = "HelloC is answering";
    /* A line with fields (ABI 1.5): members of the object with log.format json, " key=value"
     * after the message in text. A kernel without log_fields gets the same words as one line. */
    if (JAMEY_HOST_HAS(api, log_fields)) {
        jamey_log_field fields[] = {{"topic", "hello.c.greet", 13}, {"greeting", s->greeting, strlen(s->greeting)}};
        api->log_fields(s->host, JAMEY_LOG_INFO, line, strlen(line), fields, 2);
    } else {
        char text[512];
        snprintf(text, sizeof text, "%s topic=hello.c.greet greeting=%s", line, s->greeting);
        api->log(s->host, JAMEY_LOG_INFO, text, strlen(text));
    }
    return JAMEY_OK;
}

static int32_t hello_stop(void *state, char *err, size_t err_cap) {
    (void)err;
    (void)err_cap;
    hello_state *s = state;
    api->unsubscribe(s->host, s->greet_sub);
    api->unsubscribe(s->host, s->event_sub);
    return JAMEY_OK;
}

static void hello_deinit(void *state) { free(state); }

static int32_t hello_health(void *state, char *detail, size_t cap) {
    hello_state *s = state;
    snprintf(detail, cap, "%llu greetings, %llu events from hello_swift",
             (unsigned long long)atomic_load(&s->greetings), (unsigned long long)atomic_load(&s->events_seen));
    return JAMEY_HEALTH_OK;
}

/* check (ABI 1.6): what the schema cannot say, found before anything runs (`jamey config check`,
 * load, reload). The greeting goes into one-line replies and log lines, so a control character
 * (a newline, a tab, an escape) is refused. `host` reads the section being checked. */
static int32_t hello_check(jamey_host *host, const char *config_json, size_t config_len, char *err, size_t err_cap) {
    (void)config_json;
    (void)config_len;
    const char *greeting = NULL;
    if (api->config_string(host, "greeting", &greeting) != JAMEY_OK) return JAMEY_OK;
    for (const unsigned char *p = (const unsigned char *)greeting; *p != 0; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            snprintf(err, err_cap, "greeting: holds a control character (byte 0x%02X at offset %zu); it goes into one-line replies",
                     (unsigned)*p, (size_t)(p - (const unsigned char *)greeting));
            return JAMEY_E_INVALID;
        }
    }
    return JAMEY_OK;
}

/* ---- descriptor and entry point ---------------------------------------------------------------- */

static const jamey_config_field config_fields[] = {
    {.struct_size = sizeof(jamey_config_field),
     .type = JAMEY_CONFIG_STRING,
     .key = "greeting",
     .flags = JAMEY_CONFIG_HAS_MIN | JAMEY_CONFIG_HAS_MAX,
     .default_value = "Hello",
     .min = 1,
     .max = 63,
     .description = "Word used to greet"},
};

static const jamey_dependency provides[] = {
    {.struct_size = sizeof(jamey_dependency), .name = HELLO_GREETER_SERVICE, .version = HELLO_GREETER_VERSION},
};

static const jamey_plugin_descriptor descriptor = {
    .struct_size = sizeof(jamey_plugin_descriptor),
    .abi_major = JAMEY_ABI_MAJOR,
    .abi_minor = JAMEY_ABI_MINOR,
    .name = "hello_c",
    .version = "1.0.0",
    .description = "Example plugin in plain C: greets over the bus and provides hello.greeter",
    .provides_list = provides,
    .provides_count = 1,
    .config_fields = config_fields,
    .config_field_count = 1,
    .init = hello_init,
    .start = hello_start,
    .stop = hello_stop,
    .deinit = hello_deinit,
    .health = hello_health,
    .check = hello_check,
};

JAMEY_EXPORT const jamey_plugin_descriptor *jamey_plugin_register(const jamey_registration *registration) {
    if (registration == NULL || registration->host_abi_major != JAMEY_ABI_MAJOR) return NULL;
    api = registration->api;
    return &descriptor;
}
