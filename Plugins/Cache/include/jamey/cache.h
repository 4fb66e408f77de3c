/*
 * jamey/cache.h — the "cache.l1" service contract (version 1.x): the cache plugin's hot path for
 * other plugins, Swift or C, without a bus round trip. Reads go to a namespace's L1 and then its
 * L3; a read here never calls the origin (use the bus request `cache.get` for read-through).
 *
 * Look the table up once (service_lookup "cache.l1", range "^1.0") after the cache plugin
 * started (declare `requires: cache.l1 ^1.0` so you start after it), resolve each namespace once
 * with `namespace_id`, keep both, and call through them. Like every service table it starts with
 * struct_size and is appended to only: a later minor version adds fields at the end; check
 * struct_size before using one.
 */
#ifndef JAMEY_CACHE_H
#define JAMEY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JAMEY_CACHE_SERVICE "cache.l1"
#define JAMEY_CACHE_VERSION "1.0.0"

/* Status codes returned by the functions below (negative: nothing happened). */
#define JAMEY_CACHE_FOUND 1          /* get: the value was passed to the callback */
#define JAMEY_CACHE_MISSING 0        /* get: no tier has the key; invalidate: nothing to remove */
#define JAMEY_CACHE_STORED 0         /* put: stored in L1 (and L3 when the namespace has one) */
#define JAMEY_CACHE_NOT_ADMITTED 1   /* put: stored in L3 only; the L1 policy kept what it had */
#define JAMEY_CACHE_REMOVED 1        /* invalidate: at least one tier had the key */
#define JAMEY_CACHE_E_INVALID (-400) /* bad namespace id, empty, over-512-byte or NUL-holding key, bad ttl */
#define JAMEY_CACHE_E_TOO_LARGE (-413) /* the value exceeds the namespace's max_value_bytes */
#define JAMEY_CACHE_E_STORAGE (-500) /* the L3 database failed */
#define JAMEY_CACHE_E_UNAVAILABLE (-503) /* the cache plugin has stopped: look the service up again once it runs */

/*
 * Receives a value: `value` points to `length` bytes owned by the cache plugin and valid only
 * during the call; copy what you keep. Called at most once per get, on the caller's thread,
 * before get returns.
 */
typedef void (*jamey_cache_value_fn)(void *user, const uint8_t *value, size_t length);

typedef struct jamey_cache_v1 {
    /** sizeof(jamey_cache_v1) as the provider was built. */
    uint32_t struct_size;
    /** Passed back as the first argument of every function: the providing instance. */
    void *context;
    /**
     * Resolves a namespace name to the id the other functions take.
     *
     * Who calls: any plugin, any thread, typically once at start. Never blocks.
     * Parameters: `name`, `name_length` bytes of UTF-8 (not NUL-terminated), owned by the caller.
     * Returns: the id (>= 0), or JAMEY_CACHE_E_INVALID when no such namespace is configured.
     */
    int32_t (*namespace_id)(void *context, const char *name, size_t name_length);
    /**
     * Reads a key: L1, then L3 (a hit there is copied into L1). Counts in the namespace's metrics.
     *
     * Who calls: any plugin. Thread: any; an L1 hit takes one striped lock (tens of nanoseconds),
     * an L1 miss reads SQLite (microseconds to milliseconds), so do not call it from an event loop
     * when the namespace has an L3. It never calls back into the host.
     * Parameters: `ns` from namespace_id; `key`, `key_length` bytes owned by the caller; `found`
     * receives the value (not NULL); `user` is passed to `found` unchanged.
     * Returns: JAMEY_CACHE_FOUND, JAMEY_CACHE_MISSING, JAMEY_CACHE_E_INVALID or JAMEY_CACHE_E_STORAGE.
     */
    int32_t (*get)(
        void *context, int32_t ns, const char *key, size_t key_length, jamey_cache_value_fn found, void *user);
    /**
     * Stores a value in L1 and L3. Thread: any; blocks on the SQLite write when the namespace has an L3.
     * Parameters: `value`, `value_length` bytes owned by the caller (copied); `ttl_ms` the lifetime
     * in milliseconds, 0 for the namespace's default_ttl_ms, at most 31536000000.
     * Returns: JAMEY_CACHE_STORED, JAMEY_CACHE_NOT_ADMITTED, JAMEY_CACHE_E_INVALID,
     * JAMEY_CACHE_E_TOO_LARGE or JAMEY_CACHE_E_STORAGE.
     */
    int32_t (*put)(
        void *context, int32_t ns, const char *key, size_t key_length, const uint8_t *value, size_t value_length,
        int64_t ttl_ms);
    /**
     * Removes a key from every tier; a load from the origin already running will not store its value.
     * Thread: any; blocks on the SQLite write when the namespace has an L3.
     * Returns: JAMEY_CACHE_REMOVED, JAMEY_CACHE_MISSING, JAMEY_CACHE_E_INVALID or JAMEY_CACHE_E_STORAGE.
     */
    int32_t (*invalidate)(void *context, int32_t ns, const char *key, size_t key_length);
} jamey_cache_v1;

#ifdef __cplusplus
}
#endif

#endif
