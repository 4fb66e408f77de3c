/*
 * bench_sink — the C end of the in-process benchmarks, built from jamey/plugin.h and
 * jamey_bench.h alone (see Makefile):
 *   - counts every event on JAMEY_BENCH_FLOOD_TOPIC, doing jamey_bench_consume per message
 *     (a 64-byte copy and an atomic increment);
 *   - subscribes JAMEY_BENCH_FANOUT_SUBSCRIBERS times to JAMEY_BENCH_FANOUT_TOPIC, each
 *     subscription doing the same work into its own counter;
 *   - answers requests on JAMEY_BENCH_ECHO_C_TOPIC with their own payload;
 *   - registers the "bench.sink" service table: the delivered count, the copy_n baseline (the
 *     same per-message work, called directly in a loop) and the mix function of the
 *     service-call benchmark.
 */
#include <jamey/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jamey_bench.h"

static const jamey_host_api *api; /* set by the entry point; valid for the life of the process */

/* One fan-out subscription's state, on its own cache lines. */
typedef struct fanout_state {
    _Alignas(64) uint64_t delivered; /* atomic (jamey_bench_consume) */
    uint64_t sub;
    _Alignas(64) unsigned char last[JAMEY_BENCH_PAYLOAD_SIZE];
} fanout_state;

typedef struct sink_state {
    jamey_host *host;
    uint64_t flood_sub;
    uint64_t echo_sub;
    uint64_t delivered;      /* atomic (jamey_bench_consume) */
    uint64_t baseline_count; /* atomic, copy_n's own counter */
    _Alignas(64) unsigned char last[JAMEY_BENCH_PAYLOAD_SIZE];
    _Alignas(64) unsigned char baseline[JAMEY_BENCH_PAYLOAD_SIZE];
    jamey_bench_sink_v1 table;
    fanout_state fanout[JAMEY_BENCH_FANOUT_SUBSCRIBERS];
} sink_state;

/* ---- the bench.sink service --------------------------------------------------------------- */

static uint64_t sink_delivered(void *context) {
    sink_state *s = context;
    return __atomic_load_n(&s->delivered, __ATOMIC_ACQUIRE);
}

static uint64_t sink_copy_n(void *context, const void *payload, size_t len, uint64_t n) {
    sink_state *s = context;
    for (uint64_t i = 0; i < n; i++) jamey_bench_consume(s->baseline, payload, len, &s->baseline_count);
    return __atomic_load_n(&s->baseline_count, __ATOMIC_ACQUIRE);
}

static uint64_t sink_flood_subscription(void *context) {
    sink_state *s = context;
    return s->flood_sub;
}

static uint64_t sink_fanout_delivered(void *context) {
    sink_state *s = context;
    uint64_t fewest = UINT64_MAX;
    for (int i = 0; i < JAMEY_BENCH_FANOUT_SUBSCRIBERS; i++) {
        uint64_t n = __atomic_load_n(&s->fanout[i].delivered, __ATOMIC_ACQUIRE);
        if (n < fewest) fewest = n;
    }
    return fewest;
}

/* ---- bus handlers ----------------------------------------------------------------------------- */

static int32_t on_flood(void *user, const jamey_message *message) {
    sink_state *s = user;
    jamey_bench_consume(s->last, message->payload, message->payload_len, &s->delivered);
    return JAMEY_OK;
}

static int32_t on_fanout(void *user, const jamey_message *message) {
    fanout_state *f = user;
    jamey_bench_consume(f->last, message->payload, message->payload_len, &f->delivered);
    return JAMEY_OK;
}

static int32_t on_echo(void *user, const jamey_message *request) {
    sink_state *s = user;
    if (request->reply_to == NULL) return JAMEY_OK;
    jamey_message reply = {0};
    reply.struct_size = sizeof(reply);
    reply.payload = request->payload;
    reply.payload_len = request->payload_len;
    return api->reply(s->host, request, &reply);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

static int32_t sink_init(jamey_host *host, const char *config_json, size_t config_len, void **state_out, char *err,
                         size_t err_cap) {
    (void)config_json;
    (void)config_len;
    sink_state *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, err_cap, "out of memory");
        return JAMEY_E_NOMEM;
    }
    s->host = host;
    s->table.struct_size = sizeof(s->table);
    s->table.context = s;
    s->table.delivered = sink_delivered;
    s->table.copy_n = sink_copy_n;
    s->table.mix = jamey_bench_mix;
    s->table.flood_subscription = sink_flood_subscription;
    s->table.fanout_delivered = sink_fanout_delivered;
    int32_t rc = api->service_register(host, JAMEY_BENCH_SINK_SERVICE, JAMEY_BENCH_SINK_VERSION, &s->table,
                                       sizeof(s->table));
    if (rc != JAMEY_OK) {
        snprintf(err, err_cap, "could not register service %s (code %d)", JAMEY_BENCH_SINK_SERVICE, rc);
        free(s);
        return rc;
    }
    *state_out = s;
    return JAMEY_OK;
}

static int32_t sink_start(void *state, char *err, size_t err_cap) {
    sink_state *s = state;
    jamey_subscribe_options flood = {sizeof(flood), JAMEY_BENCH_FLOOD_CAPACITY, JAMEY_OVERFLOW_DROP_NEWEST, 0};
    jamey_subscribe_options echo = {sizeof(echo), 0, JAMEY_OVERFLOW_DROP_NEWEST, JAMEY_SUBSCRIBE_RESPONDER};
    int32_t rc = api->subscribe(s->host, JAMEY_BENCH_FLOOD_TOPIC, &flood, on_flood, s, &s->flood_sub);
    if (rc == JAMEY_OK) rc = api->subscribe(s->host, JAMEY_BENCH_ECHO_C_TOPIC, &echo, on_echo, s, &s->echo_sub);
    for (int i = 0; rc == JAMEY_OK && i < JAMEY_BENCH_FANOUT_SUBSCRIBERS; i++)
        rc = api->subscribe(s->host, JAMEY_BENCH_FANOUT_TOPIC, &flood, on_fanout, &s->fanout[i], &s->fanout[i].sub);
    if (rc != JAMEY_OK) {
        snprintf(err, err_cap, "could not subscribe (code %d)", rc);
        return JAMEY_E_PLUGIN;
    }
    return JAMEY_OK;
}

static int32_t sink_stop(void *state, char *err, size_t err_cap) {
    (void)err;
    (void)err_cap;
    sink_state *s = state;
    api->unsubscribe(s->host, s->flood_sub);
    api->unsubscribe(s->host, s->echo_sub);
    for (int i = 0; i < JAMEY_BENCH_FANOUT_SUBSCRIBERS; i++) api->unsubscribe(s->host, s->fanout[i].sub);
    return JAMEY_OK;
}

static void sink_deinit(void *state) { free(state); }

/* ---- descriptor and entry point ---------------------------------------------------------------- */

static const jamey_dependency provides[] = {
    {.struct_size = sizeof(jamey_dependency), .name = JAMEY_BENCH_SINK_SERVICE, .version = JAMEY_BENCH_SINK_VERSION},
};

static const jamey_plugin_descriptor descriptor = {
    .struct_size = sizeof(jamey_plugin_descriptor),
    .abi_major = JAMEY_ABI_MAJOR,
    .abi_minor = JAMEY_ABI_MINOR,
    .name = "bench_sink",
    .version = "1.0.0",
    .description = "Benchmark sink in plain C: counts bench.flood, echoes bench.echo.c, provides bench.sink",
    .provides_list = provides,
    .provides_count = 1,
    .init = sink_init,
    .start = sink_start,
    .stop = sink_stop,
    .deinit = sink_deinit,
};

JAMEY_EXPORT const jamey_plugin_descriptor *jamey_plugin_register(const jamey_registration *registration) {
    if (registration == NULL || registration->host_abi_major != JAMEY_ABI_MAJOR) return NULL;
    api = registration->api;
    return &descriptor;
}
