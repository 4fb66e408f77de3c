/*
 * bench_probe — a small but complete C plugin for the start-up benchmark, built several times
 * under different names (-DPROBE_NAME=\"probe_1\" ...; see Makefile). Like a typical plugin it
 * reads its config, registers a metric and a service, subscribes to a topic in start and
 * unsubscribes in stop.
 */
#include <jamey/plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PROBE_NAME
#error "build with -DPROBE_NAME=\"probe_N\""
#endif

static const jamey_host_api *api;

typedef struct probe_state {
    jamey_host *host;
    uint64_t subscription;
    uint64_t seen;
    int64_t interval_ms;
    jamey_metric_id metric;
    struct {
        uint32_t struct_size;
        void *context;
        uint64_t (*seen)(void *context);
    } table;
} probe_state;

static uint64_t probe_seen(void *context) {
    probe_state *s = context;
    return __atomic_load_n(&s->seen, __ATOMIC_RELAXED);
}

static int32_t on_ping(void *user, const jamey_message *message) {
    probe_state *s = user;
    (void)message;
    __atomic_fetch_add(&s->seen, 1, __ATOMIC_RELAXED);
    api->metric_record(s->host, s->metric, JAMEY_METRIC_ADD, 1);
    return JAMEY_OK;
}

static int32_t probe_init(jamey_host *host, const char *config_json, size_t config_len, void **state_out, char *err,
                          size_t err_cap) {
    (void)config_json;
    (void)config_len;
    probe_state *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, err_cap, "out of memory");
        return JAMEY_E_NOMEM;
    }
    s->host = host;
    if (api->config_int(host, "interval_ms", &s->interval_ms) != JAMEY_OK) s->interval_ms = 1000;
    jamey_metric_desc metric = {0};
    metric.struct_size = sizeof(metric);
    metric.kind = JAMEY_METRIC_COUNTER;
    metric.name = "bench_probe_pings_total";
    metric.help = "Pings seen by a probe plugin";
    if (api->metric_register(host, &metric, &s->metric) != JAMEY_OK) {
        snprintf(err, err_cap, "could not register metric bench_probe_pings_total");
        free(s);
        return JAMEY_E_PLUGIN;
    }
    s->table.struct_size = sizeof(s->table);
    s->table.context = s;
    s->table.seen = probe_seen;
    int32_t rc = api->service_register(host, "bench." PROBE_NAME, "1.0.0", &s->table, sizeof(s->table));
    if (rc != JAMEY_OK) {
        snprintf(err, err_cap, "could not register service bench.%s (code %d)", PROBE_NAME, rc);
        free(s);
        return rc;
    }
    *state_out = s;
    return JAMEY_OK;
}

static int32_t probe_start(void *state, char *err, size_t err_cap) {
    probe_state *s = state;
    if (api->subscribe(s->host, "bench.probe.ping", NULL, on_ping, s, &s->subscription) != JAMEY_OK) {
        snprintf(err, err_cap, "could not subscribe to bench.probe.ping");
        return JAMEY_E_PLUGIN;
    }
    return JAMEY_OK;
}

static int32_t probe_stop(void *state, char *err, size_t err_cap) {
    (void)err;
    (void)err_cap;
    probe_state *s = state;
    api->unsubscribe(s->host, s->subscription);
    return JAMEY_OK;
}

static void probe_deinit(void *state) { free(state); }

static int32_t probe_health(void *state, char *detail, size_t cap) {
    probe_state *s = state;
    snprintf(detail, cap, "%llu pings", (unsigned long long)probe_seen(s));
    return JAMEY_HEALTH_OK;
}

static const jamey_config_field config_fields[] = {
    {.struct_size = sizeof(jamey_config_field),
     .type = JAMEY_CONFIG_INT,
     .key = "interval_ms",
     .flags = JAMEY_CONFIG_HAS_MIN | JAMEY_CONFIG_HAS_MAX,
     .default_value = "1000",
     .min = 1,
     .max = 60000,
     .description = "Unused; gives the probe a config section to validate"},
};

static const jamey_dependency provides[] = {
    {.struct_size = sizeof(jamey_dependency), .name = "bench." PROBE_NAME, .version = "1.0.0"},
};

static const jamey_plugin_descriptor descriptor = {
    .struct_size = sizeof(jamey_plugin_descriptor),
    .abi_major = JAMEY_ABI_MAJOR,
    .abi_minor = JAMEY_ABI_MINOR,
    .name = PROBE_NAME,
    .version = "1.0.0",
    .description = "Start-up benchmark probe",
    .provides_list = provides,
    .provides_count = 1,
    .config_fields = config_fields,
    .config_field_count = 1,
    .init = probe_init,
    .start = probe_start,
    .stop = probe_stop,
    .deinit = probe_deinit,
    .health = probe_health,
};

JAMEY_EXPORT const jamey_plugin_descriptor *jamey_plugin_register(const jamey_registration *registration) {
    if (registration == NULL || registration->host_abi_major != JAMEY_ABI_MAJOR) return NULL;
    api = registration->api;
    return &descriptor;
}
