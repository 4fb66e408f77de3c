/* A plugin whose health hook sleeps 5 s (scripts/bench-readyz.sh): how long does /readyz take? */
#define _POSIX_C_SOURCE 200809L
#include <jamey/plugin.h>
#include <stdio.h>
#include <time.h>

static int32_t slow_init(jamey_host *host, const char *json, size_t len, void **out, char *err, size_t cap) {
    (void)host; (void)json; (void)len; (void)err; (void)cap;
    *out = NULL;
    return JAMEY_OK;
}

static int32_t slow_health(void *state, char *detail, size_t cap) {
    (void)state;
    struct timespec ts = {5, 0};
    while (nanosleep(&ts, &ts) != 0) {}
    snprintf(detail, cap, "slept 5 s");
    return JAMEY_HEALTH_OK;
}

static const jamey_plugin_descriptor descriptor = {
    .struct_size = sizeof(jamey_plugin_descriptor),
    .abi_major = JAMEY_ABI_MAJOR,
    .abi_minor = JAMEY_ABI_MINOR,
    .name = "slow_health",
    .version = "1.0.0",
    .description = "health hook that sleeps 5 s",
    .init = slow_init,
    .health = slow_health,
};

JAMEY_EXPORT const jamey_plugin_descriptor *jamey_plugin_register(const jamey_registration *r) {
    (void)r;
    return &descriptor;
}
