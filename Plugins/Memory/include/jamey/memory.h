/*
 * jamey/memory.h — the "memory.search" service contract (version 1.x): in-process search of the
 * memory plugin from other plugins, Swift or C, without a bus round trip.
 *
 * Look the table up once (service_lookup "memory.search", range "^1.0") after the memory plugin
 * started (declare `requires: memory.search ^1.0` so you start after it), keep it, and call
 * through it. Like every service table it starts with struct_size and is appended to only: a
 * later minor version adds fields at the end; check struct_size before using one.
 */
#ifndef JAMEY_MEMORY_H
#define JAMEY_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JAMEY_MEMORY_SERVICE "memory.search"
#define JAMEY_MEMORY_VERSION "1.0.0"

/*
 * Receives a reply: `json` points to `length` bytes of UTF-8 JSON (not NUL-terminated), owned by
 * the memory plugin and valid only during the call; copy what you keep. Called exactly once per
 * search, on the caller's thread, before search returns.
 */
typedef void (*jamey_memory_reply_fn)(void *user, const char *json, size_t length);

typedef struct jamey_memory_v1 {
    /** sizeof(jamey_memory_v1) as the provider was built. */
    uint32_t struct_size;
    /** Passed back as the first argument of every function: the providing instance. */
    void *context;
    /**
     * Searches the memory, exactly as the bus request `memory.items.search` does.
     *
     * Who calls: any plugin. Thread: any thread of the caller's; it blocks on SQLite (typically
     * well under a millisecond to a few milliseconds), so do not call it from a direct
     * (JAMEY_SUBSCRIBE_DIRECT) bus handler or an event loop. It never calls back into the host.
     *
     * Parameters:
     *   context        the table's `context`.
     *   request_json   the request: a JSON object with `query` and optionally `syntax`, `mode`,
     *                  `layer`/`layers`, `tag`/`tags`, `source`, `since`, `until`, `limit`,
     *                  `reinforce` (see README "Memory"); any other member, or one named twice,
     *                  is a 400 naming it, and so is a `limit` below 1. `request_length` bytes, owned by the caller.
     *   reply          receives the reply body: `{"hits": [...]}` on success, a problem+json
     *                  object (`type`, `title`, `status`, `detail`) otherwise. Not NULL.
     *   user           passed to `reply` unchanged.
     *
     * Returns: the HTTP-style status of the reply — 200, 400 (bad request or query), 500, or 503
     *          once the memory plugin has stopped (look the service up again when it runs).
     */
    int32_t (*search)(
        void *context, const char *request_json, size_t request_length, jamey_memory_reply_fn reply, void *user);
} jamey_memory_v1;

#ifdef __cplusplus
}
#endif

#endif
