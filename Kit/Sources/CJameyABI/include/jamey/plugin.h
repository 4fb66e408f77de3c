/*
 * jamey/plugin.h — the Jamey plugin ABI, version 1.
 *
 * This header is the only contract between the Jamey kernel and its plugins. It is
 * self-contained: a C compiler and this file are enough to write, build and load a plugin.
 *
 *     cc -std=c11 -shared -fPIC -I<dir holding jamey/> -o libMyPlugin.so my_plugin.c
 *
 * ---------------------------------------------------------------------------------------------
 * Naming
 *   jamey_*_t / jamey_* structs   types that cross the boundary
 *   jamey_plugin_*_fn             hooks the PLUGIN implements and the kernel calls
 *   jamey_host_api.<field>        functions the HOST (kernel) implements and plugins call
 *   JAMEY_*                       constants
 *
 * Compatibility rules (see "ABI compatibility policy" in README.md)
 *   - Every struct that crosses starts with `uint32_t struct_size`, set by whoever fills it in
 *     (sizeof the struct as that side was compiled). A reader never touches a field that lies
 *     beyond `struct_size`.
 *   - Structs and function tables are append-only. New fields go at the end, marked "since 1.N";
 *     nothing is reordered, retyped or removed within a major version. A changed behaviour gets a
 *     new name (`foo_v2`).
 *   - The kernel loads a plugin built for the same JAMEY_ABI_MAJOR and a JAMEY_ABI_MINOR no newer
 *     than its own. A plugin that wants a host function added in 1.N checks
 *     `jamey_registration.host_abi_minor >= N` (or JAMEY_HOST_HAS(api, field)) before calling it.
 *
 * Threading, in one paragraph (each function repeats what applies to it)
 *   Lifecycle hooks (init, start, stop, deinit, snapshot, restore) are called one at a time, on a
 *   kernel thread, never concurrently with another lifecycle hook of the same plugin. `health`
 *   may be called from any thread at any time between init and deinit. Bus handlers run on the
 *   bus's worker threads: one subscription's handler is never run concurrently with itself, and
 *   sees messages from one publisher in the order they were published; different subscriptions
 *   run in parallel. A subscription made with JAMEY_SUBSCRIBE_DIRECT (since 1.2) opts out: its
 *   handler runs on the sender's thread, inside publish or request, possibly concurrently with
 *   itself. Every host function is thread-safe and may be called from any thread, including
 *   from inside a bus handler, unless its documentation says otherwise.
 *
 * Deadlines
 *   Every hook runs under a deadline set by the operator (`hooks.*_timeout_ms` in jamey.yaml;
 *   defaults: init and start 30 s, stop 5 s within `shutdown.timeout_ms`, health 3 s, snapshot
 *   and restore 10 min). A hook still running at its deadline marks the plugin `failed` with a
 *   sentence naming the hook and the deadline; the kernel abandons it: its host context is
 *   invalidated, its subscriptions and services removed, and none of its hooks is called again
 *   (not even deinit, since the late hook may still be running). Health is called in the
 *   background every `hooks.health_interval_ms` and cached, so a slow health hook delays nobody.
 *
 * Limits (the loader reads nothing from a plugin without a bound)
 *   name and version at most 64 bytes; description and summaries 1024; requires/provides
 *   names and ranges 128, at most 64 entries each; at most 256 routes (path 512 bytes, topic
 *   256, method and scope 16); at most 256 config fields per object, nested at most 8 deep,
 *   keys 64 bytes, defaults and allowed values 4096. Every pointer is read without trusting it:
 *   a pointer into unmapped memory, an unterminated or over-long string or an absurd count is a
 *   load error naming the file, the field and the limit. The ELF file is checked before dlopen
 *   (program headers, segments and section headers inside the file).
 *
 * Crashes
 *   A plugin crashing in-process (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP) ends the
 *   process. `jamey serve` first writes one line naming the plugin and the hook or handler that
 *   was running ("jamey: fatal: plugin 'x' crashed with SIGSEGV at address 0x10 while running its
 *   start hook; exiting with status 70") and exits with status 70.
 *
 * Documentation template for every function
 *   Caller     who calls it
 *   Thread     on which thread, may it block, may it re-enter the host
 *   Params     each parameter
 *   Returns    every return code
 *   Ownership  who owns each pointer and for how long
 * ---------------------------------------------------------------------------------------------
 */
#ifndef JAMEY_PLUGIN_H
#define JAMEY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major version. A plugin built for another major is refused. */
#define JAMEY_ABI_MAJOR 1
/** ABI minor version. The kernel refuses plugins built for a newer minor than its own. */
#define JAMEY_ABI_MINOR 7

/** The one symbol a plugin exports. */
#define JAMEY_PLUGIN_ENTRY_SYMBOL "jamey_plugin_register"

#if defined(__GNUC__) || defined(__clang__)
#define JAMEY_EXPORT __attribute__((visibility("default")))
#else
#define JAMEY_EXPORT
#endif

/** True when the host table `api` is large enough to contain `field` (for functions added in a
 *  later minor). */
#define JAMEY_HOST_HAS(api, field) \
    ((api) != NULL && (api)->struct_size >= offsetof(jamey_host_api, field) + sizeof((api)->field) \
     && (api)->field != NULL)

/* ============================================================================================
 * Return codes. Every function returning `int32_t` returns one of these. Negative is failure.
 * New codes may be added in later minors; treat an unknown negative code as a failure.
 * ============================================================================================ */
#define JAMEY_OK 0                   /**< Success. */
#define JAMEY_E_INVALID (-1)         /**< An argument was NULL, empty, malformed or out of range. */
#define JAMEY_E_NOT_FOUND (-2)       /**< The named thing (service, subscription, key) does not exist. */
#define JAMEY_E_TIMEOUT (-3)         /**< A request got no reply within its timeout. */
#define JAMEY_E_EXISTS (-4)          /**< The name is already taken (service already registered). */
#define JAMEY_E_NOMEM (-5)           /**< Allocation failed. */
#define JAMEY_E_STATE (-6)           /**< Not allowed in the current lifecycle state. */
#define JAMEY_E_VERSION (-7)         /**< Found, but no version satisfies the requested range. */
#define JAMEY_E_FULL (-8)            /**< A bounded queue was full; the message was dropped. */
#define JAMEY_E_NO_RESPONDERS (-9)   /**< A request matched no subscriber. */
#define JAMEY_E_PLUGIN (-10)         /**< A plugin hook failed (its message says why), or a responder's handler did. */
#define JAMEY_E_UNSUPPORTED (-11)    /**< The operation is not supported by this host/plugin. */
#define JAMEY_E_SHUTDOWN (-12)       /**< The kernel is shutting down. */
#define JAMEY_E_TYPE (-13)           /**< A config key exists but has another type. */

/* ============================================================================================
 * Basic types
 * ============================================================================================ */

/** Opaque per-plugin host context. The kernel gives one to each plugin in `init`; the plugin
 *  passes it back to every host function so the kernel knows who is calling (for metric labels,
 *  the data directory, ownership of subscriptions and services). Valid from `init` until
 *  `deinit` returns. */
typedef struct jamey_host jamey_host;

/** Log levels, in increasing severity. */
typedef enum jamey_log_level {
    JAMEY_LOG_TRACE = 0,
    JAMEY_LOG_DEBUG = 1,
    JAMEY_LOG_INFO = 2,
    JAMEY_LOG_NOTICE = 3,
    JAMEY_LOG_WARNING = 4,
    JAMEY_LOG_ERROR = 5,
    JAMEY_LOG_CRITICAL = 6
} jamey_log_level;

/** One field of a structured log line (since 1.5; see `log_fields`). */
typedef struct jamey_log_field {
    const char *key;     /**< NUL-terminated; letters, digits, `_`, `.` and `-`, at most 64 bytes. */
    const char *value;   /**< UTF-8, `value_len` bytes, need not be NUL-terminated; NULL: empty. */
    size_t value_len;
} jamey_log_field;

/** Health of a plugin as reported by its `health` hook. */
typedef enum jamey_health_status {
    JAMEY_HEALTH_OK = 0,        /**< Working normally. */
    JAMEY_HEALTH_DEGRADED = 1,  /**< Working, with reduced function (e.g. reconnecting). */
    JAMEY_HEALTH_UNHEALTHY = 2  /**< Not working. */
} jamey_health_status;

/** A key/value pair (message header or metric label). Both strings NUL-terminated UTF-8. */
typedef struct jamey_kv {
    const char *key;
    const char *value;
} jamey_kv;

/* ============================================================================================
 * Bus messages
 * ============================================================================================ */

/** A bus message.
 *
 *  Topics are dotted (`sensors.kitchen.temp`). Subscription patterns may use `*` for exactly one
 *  segment and `>` as the last segment for "one or more remaining segments".
 *
 *  Ownership: when a plugin passes a message to the host (publish, request, reply) the host copies
 *  everything it needs before returning; the plugin keeps ownership of every pointer. When the
 *  host passes a message to a handler, every pointer in it is owned by the host and valid only
 *  until the handler returns: copy what you keep. */
typedef struct jamey_message {
    uint32_t struct_size;        /**< sizeof(jamey_message) as the filler compiled it. */
    uint32_t flags;              /**< Reserved, 0. */
    const char *topic;           /**< NUL-terminated topic; no wildcards when publishing. */
    const void *payload;         /**< Payload bytes; may be NULL when payload_len is 0. */
    size_t payload_len;          /**< Payload length in bytes. */
    const char *content_type;    /**< MIME type, NUL-terminated; NULL means "application/octet-stream". */
    const jamey_kv *headers;     /**< Extra headers; may be NULL when header_count is 0. */
    size_t header_count;         /**< Number of headers. */
    /** For a request delivered to a responder: the opaque reply address. NULL for events.
     *  Ignored on publish. */
    const char *reply_to;
    /** For a request delivered to a responder: its correlation id. 0 for events. */
    uint64_t correlation_id;
    /** Name of the publishing plugin (or "kernel"), set by the host on delivery; ignored on
     *  publish. */
    const char *source;
} jamey_message;

/** A subscription's message handler.
 *  Caller     the bus.
 *  Thread     a bus worker thread. One subscription's handler never runs concurrently with
 *             itself. (With JAMEY_SUBSCRIBE_DIRECT: the thread calling publish or request, inside
 *             that call, possibly concurrently with itself.) It may call any host function, including publish, request (async) and
 *             reply. It may block, but blocking delays only this subscription's queue; a
 *             blocking `request_sync` from a handler to a topic served by the same subscription
 *             cannot be answered and ends in JAMEY_E_TIMEOUT.
 *  Params     user_data  the pointer given to `subscribe`.
 *             message    the message; valid until the handler returns.
 *  Returns    JAMEY_OK, or a negative code: the kernel counts it in
 *             jamey_bus_handler_errors_total{plugin=...} and logs it at debug level; the message
 *             is not redelivered. A request the handler has not replied to by then is answered
 *             at once with JAMEY_E_PLUGIN (the requester does not wait out its timeout; over
 *             HTTP, 502 handler-failed), and a later `reply` to it returns JAMEY_E_NOT_FOUND.
 *             To answer a request later, return JAMEY_OK.
 *  Ownership  everything reachable from `message` belongs to the host. */
typedef int32_t (*jamey_message_handler_fn)(void *user_data, const jamey_message *message);

/** Completion of an asynchronous request.
 *  Caller     the bus, exactly once per successful `request` call.
 *  Thread     a bus worker thread or the bus timer thread (with request_v2 and
 *             JAMEY_REQUEST_DONE_ANY_THREAD: any thread). It may call any host function.
 *  Params     user_data  the pointer given to `request`.
 *             status     JAMEY_OK (reply is set), JAMEY_E_TIMEOUT, JAMEY_E_NO_RESPONDERS,
 *                        JAMEY_E_FULL (responder queue full), JAMEY_E_PLUGIN (the responder's
 *                        handler returned an error without replying) or JAMEY_E_SHUTDOWN
 *                        (reply NULL).
 *             reply      the reply, valid until the callback returns; NULL on failure. */
typedef void (*jamey_reply_fn)(void *user_data, int32_t status, const jamey_message *reply);

/** Subscription options. Pass NULL to `subscribe` for the defaults. */
typedef struct jamey_subscribe_options {
    uint32_t struct_size;
    /** Maximum queued messages for this subscription; 0 means the kernel default (bus.queue_capacity). */
    uint32_t queue_capacity;
    /** Overflow policy: JAMEY_OVERFLOW_DROP_NEWEST (default) or JAMEY_OVERFLOW_DROP_OLDEST. */
    uint32_t overflow_policy;
    /** Since 1.1 (was `reserved`, always 0 in 1.0): JAMEY_SUBSCRIBE_* flags. */
    uint32_t flags;
} jamey_subscribe_options;

/** Since 1.1: the subscription answers requests. A request goes to one matching subscription
 *  declared as a responder (round-robin among several); only when none is declared does it go to
 *  any matching subscription. So a passive listener on `sensors.>` never takes a request meant
 *  for the responder on `sensors.read`. */
#define JAMEY_SUBSCRIBE_RESPONDER 0x1u

/** Since 1.2: the handler is called directly on the thread that publishes or sends the request,
 *  inside that publish/request call, instead of through a queue and a bus worker. It saves two
 *  thread hand-offs per request — the api plugin's HTTP routes answered by a direct responder
 *  cost about a function call more than a core route. The price:
 *    - the handler may run concurrently with itself, on any thread: it must be thread-safe;
 *    - it runs on the sender's time (an HTTP request, another plugin's handler): keep it short
 *      and never block in it (no request_sync; request, publish and reply are fine);
 *    - no queue: queue_capacity and overflow_policy are ignored, nothing is dropped, and
 *      messages from one publisher are in order only when that publisher uses one thread.
 *  unsubscribe waits for calls in progress on other threads. A reply from a direct responder
 *  completes a request sent with request_v2 and JAMEY_REQUEST_DONE_ANY_THREAD on the spot. */
#define JAMEY_SUBSCRIBE_DIRECT 0x2u

/** Since 1.3: the subscription takes published events only. A request never goes to it, even when
 *  no responder is declared for the topic, so a listener (an HTTP event stream, a monitor on
 *  `>`) cannot take the requests meant for a plain subscription that answers them. Not with
 *  JAMEY_SUBSCRIBE_RESPONDER (subscribe returns JAMEY_E_INVALID). */
#define JAMEY_SUBSCRIBE_EVENTS_ONLY 0x4u

/** Since 1.2, for request_v2: the requester accepts its completion on any thread, including its
 *  own inside the request_v2 call (which happens when a JAMEY_SUBSCRIBE_DIRECT responder replies
 *  at once). Without it, done runs on a bus worker or timer thread, as for request. */
#define JAMEY_REQUEST_DONE_ANY_THREAD 0x1u

/** The arriving message is dropped and counted; the publisher's call still returns JAMEY_OK when
 *  at least one subscriber accepted it. Requests to a full responder fail with JAMEY_E_FULL. */
#define JAMEY_OVERFLOW_DROP_NEWEST 0u
/** The oldest queued message is dropped and counted to make room for the new one. */
#define JAMEY_OVERFLOW_DROP_OLDEST 1u

/** Sink for host-produced text (metrics exposition, JSON). Called synchronously, possibly several
 *  times, before the host function that was given it returns. `data` is valid during the call. */
typedef void (*jamey_text_sink_fn)(void *user_data, const char *data, size_t len);

/* ============================================================================================
 * Metrics
 * ============================================================================================ */

typedef enum jamey_metric_kind {
    JAMEY_METRIC_COUNTER = 0,   /**< Monotonic; record with JAMEY_METRIC_ADD of a value >= 0. */
    JAMEY_METRIC_GAUGE = 1,     /**< Record with JAMEY_METRIC_SET or JAMEY_METRIC_ADD (may be negative). */
    JAMEY_METRIC_HISTOGRAM = 2  /**< Record with JAMEY_METRIC_OBSERVE. */
} jamey_metric_kind;

typedef enum jamey_metric_op {
    JAMEY_METRIC_ADD = 0,
    JAMEY_METRIC_SET = 1,
    JAMEY_METRIC_OBSERVE = 2
} jamey_metric_op;

/** Description of a metric a plugin registers. The kernel adds the label `plugin="<name>"`. */
typedef struct jamey_metric_desc {
    uint32_t struct_size;
    uint32_t kind;               /**< a jamey_metric_kind */
    const char *name;            /**< Prometheus name: [a-zA-Z_:][a-zA-Z0-9_:]* */
    const char *help;            /**< Help text; may be NULL. */
    const jamey_kv *labels;      /**< Fixed labels of this series; may be NULL. */
    size_t label_count;
    const double *buckets;       /**< Histogram upper bounds, ascending; NULL for the default buckets. */
    size_t bucket_count;
} jamey_metric_desc;

/** Handle of a registered metric series. 0 is never a valid handle. */
typedef uint64_t jamey_metric_id;

/* ============================================================================================
 * Configuration schema — each plugin declares the schema of its config section
 * ============================================================================================ */

typedef enum jamey_config_type {
    JAMEY_CONFIG_STRING = 0,
    JAMEY_CONFIG_INT = 1,          /**< 64-bit signed integer. */
    JAMEY_CONFIG_DOUBLE = 2,       /**< Accepts integers too. */
    JAMEY_CONFIG_BOOL = 3,
    JAMEY_CONFIG_STRING_LIST = 4,  /**< A list of strings. */
    JAMEY_CONFIG_OBJECT = 5,       /**< A nested map described by `fields`. */
    JAMEY_CONFIG_OBJECT_LIST = 6   /**< A list of maps, each described by `fields`. */
} jamey_config_type;

#define JAMEY_CONFIG_REQUIRED 0x1u  /**< The key must be present (no default). */
#define JAMEY_CONFIG_SECRET 0x2u    /**< The value is redacted in logs, errors and API output. */
#define JAMEY_CONFIG_HAS_MIN 0x4u   /**< `min` applies (numbers: value; strings/lists: length). */
#define JAMEY_CONFIG_HAS_MAX 0x8u   /**< `max` applies (numbers: value; strings/lists: length). */
/** A string naming a file or directory: the kernel makes a relative value absolute against the
 *  config file's directory (the current directory for the embedded default), as it does for
 *  `data_dir`, before init sees it; "" stays "". So a relative path does not depend on the
 *  directory the server was started in (systemd starts it in /). Kernels before this flag leave
 *  the value as written. */
#define JAMEY_CONFIG_PATH 0x10u

/** One key of a plugin's config section. */
typedef struct jamey_config_field {
    uint32_t struct_size;
    uint32_t type;                       /**< a jamey_config_type */
    const char *key;                     /**< [a-z0-9_]+ */
    uint32_t flags;                      /**< JAMEY_CONFIG_* flags */
    uint32_t reserved;
    /** Default, written as YAML/JSON scalar text ("8080", "true", "info", "[a, b]"); NULL for none. */
    const char *default_value;
    double min;
    double max;
    const char *description;             /**< One line for `jamey config` output; may be NULL. */
    const char *const *allowed_values;   /**< For strings: NULL-terminated list of allowed values, or NULL. */
    const struct jamey_config_field *fields;  /**< For OBJECT / OBJECT_LIST: the nested keys. */
    size_t field_count;
} jamey_config_field;

/* ============================================================================================
 * Descriptor: what a plugin is, what it needs, and its hooks
 * ============================================================================================ */

/** A required or provided capability: a plugin name or a service name, with a version.
 *  In `requires`, `version` is a range: "*", "1.2.3", ">=1.2.0 <2.0.0", "^1.2", "~1.2.3".
 *  In `provides`, `version` is an exact semantic version ("1.2.0").
 *
 *  A plain `requires` entry is a hard dependency: the plugin is not started without a provider
 *  in range that started, starts after it, stops before it, and is stopped and started again
 *  with it (a reload that restarts it, a restore of it). */
typedef struct jamey_dependency {
    uint32_t struct_size;
    uint32_t flags;          /**< In `requires`: JAMEY_DEPENDENCY_* bits (since 1.7; read only from
                                  plugins built for 1.7 or later, where an unknown bit is refused
                                  at load). In `provides`: 0. */
    const char *name;
    const char *version;
} jamey_dependency;

/** jamey_dependency.flags (since 1.7): the plugin runs without this capability and uses it when
 *  it is there; an ordering, not a condition.
 *  - A provider in range that is enabled: the plugin starts after the provider's start returned
 *    (whether it started or failed) and stops before the provider, at shutdown and whenever
 *    both stop together (a reload enabling the provider recomputes the order).
 *  - No provider, one out of range, or one that failed: the plugin starts all the same
 *    (`jamey plugins` shows the requirement unmet). So does one whose ordering would close a
 *    dependency cycle: the optional edge is dropped (a cycle of plain requirements fails).
 *  - The provider restarting (a reload, a restore, a deploy) does not stop the plugin. A service
 *    table looked up from it may be the stopped instance's: look it up again when a call says
 *    the provider stopped (tables made with the Swift kit answer so), or follow the kernel's
 *    plugin state events (JAMEY_TOPIC_PLUGIN_STATE). */
#define JAMEY_DEPENDENCY_OPTIONAL 0x1u

/** init: create the plugin's state from its validated config.
 *  Caller     the kernel, once per instance, after the config section validated and before
 *             `start`. A deploy or canary starts a second instance of the plugin beside the
 *             running one (a new build, from another file): its init and start run before the old
 *             instance's stop, and both see the same data_dir. A restart in place (reload)
 *             stops the instance, then inits a new one in the same library: global and static
 *             variables keep their values from before. Keep all state behind state_out.
 *  Thread     a kernel thread; may block (keep it short: it delays start-up; bounded by
 *             hooks.init_timeout_ms); may call any host function (register services and metrics
 *             here, subscribe here or in start).
 *  Params     host         this plugin's host context, valid until `deinit` returns.
 *             config_json  the plugin's config section as a JSON object, defaults filled in,
 *                          NUL-terminated; valid during the call only.
 *             config_len   its length in bytes (without the NUL).
 *             state_out    set it to the plugin's state; passed back to every other hook.
 *             err, err_cap on failure write a NUL-terminated one-sentence reason here.
 *  Returns    JAMEY_OK, or any negative code (the plugin becomes `failed` with `err`; deinit is
 *             not called, so free what you allocated before returning).
 *  Ownership  config_json and err are the kernel's, valid during the call; *state_out belongs
 *             to the plugin until deinit. */
typedef int32_t (*jamey_plugin_init_fn)(jamey_host *host, const char *config_json, size_t config_len,
                                        void **state_out, char *err, size_t err_cap);

/** start / stop: begin and end work.
 *  Caller     the kernel: start in dependency order, stop in reverse order.
 *  Thread     a kernel thread; may block (start is bounded by hooks.start_timeout_ms, stop by
 *             hooks.stop_timeout_ms and the shutdown deadline); may call any host function.
 *             After `stop` returns the plugin must not publish.
 *  Params     state  the pointer set by init.  err, err_cap  as for init.
 *  Returns    JAMEY_OK or a negative code with `err` filled in (a failed start: the plugin is
 *             `failed`, then deinit is called; a failed stop is logged and deinit still runs).
 *  Ownership  err is the kernel's buffer, valid during the call. */
typedef int32_t (*jamey_plugin_lifecycle_fn)(void *state, char *err, size_t err_cap);

/** deinit: free the state.
 *  Caller     the kernel, once, last (after stop, or after a failed start).
 *  Thread     a kernel thread; may block briefly; may call host functions (not after it returns).
 *  Params     state  the pointer set by init.
 *  Returns    nothing.
 *  Ownership  the host context is invalid after it returns; free everything the plugin owns. */
typedef void (*jamey_plugin_deinit_fn)(void *state);

/** health: report current health.
 *  Caller     the kernel's background health refresh, every hooks.health_interval_ms while the
 *             plugin is started; readers (health endpoints, `plugins list`) see the cached result.
 *             Any thread, possibly concurrently with other hooks, never concurrently with itself.
 *             Should not block: past hooks.health_timeout_ms the plugin is marked failed.
 *  Params     state  the pointer set by init.
 *             detail, detail_cap  optional NUL-terminated one-line detail.
 *  Returns    a jamey_health_status.
 *  Ownership  detail is the kernel's buffer, valid during the call. */
typedef int32_t (*jamey_plugin_health_fn)(void *state, char *detail, size_t detail_cap);

/** snapshot / restore: copy the plugin's state to / from a directory (used by the vault).
 *  Caller     the kernel, on behalf of a backup plugin (plugin_snapshot, plugin_restore):
 *             snapshot while started; restore after init and before start (the kernel stops
 *             the plugin and its dependents, initialises it again, restores, then starts them).
 *  Thread     a kernel thread; may block.
 *  Params     state  the pointer set by init.
 *             dir  an existing empty directory (snapshot) or one a snapshot wrote (restore).
 *             err, err_cap  as for init.
 *  Returns    JAMEY_OK or a negative code with `err` filled in.
 *  Ownership  dir and err are the kernel's, valid during the call; files written belong to the
 *             caller once the hook returns. */
typedef int32_t (*jamey_plugin_dir_fn)(void *state, const char *dir, char *err, size_t err_cap);

/* hand_over / take_over (since 1.7, optional; descriptor slots of type jamey_plugin_dir_fn):
 *  carry in-memory state from the running instance to the new build that replaces it, which
 *  snapshot/restore do not (they are the plugin's data, for backups; both instances of a deploy
 *  share data_dir anyway): a warm cache, counters, what a workspace attends to.
 *  Caller     the kernel, when a deploy or canary starts a new build beside the running instance
 *             and both builds have their hook: after the new instance's init and before its
 *             start, the running instance's hand_over writes into an empty directory, then the
 *             new instance's take_over reads it. Not on a restart in place (a reload, a restore)
 *             nor for `isolation: process` plugins.
 *  Thread     each on its own instance's lifecycle queue, under hooks.snapshot_timeout_ms. The
 *             running instance goes on serving meanwhile: what changes after its hand_over
 *             returned stays with it.
 *  Params     state  the instance's pointer.
 *             dir    a directory only this hand-over uses (mode 0700, under data_dir), deleted
 *                    afterwards.
 *             err, err_cap  as for init.
 *  Returns    JAMEY_OK or a negative code with `err`. A hand_over that fails hands nothing
 *             over: the new instance starts without the state, and the deploy's steps say so. A
 *             take_over that fails fails the deploy: the new instance is deinitialised and the
 *             running one goes on serving.
 *  Deadline   A take_over that outlives it abandons the new instance (as any hook). A hand_over
 *             that does goes on in the running instance: the new one starts without the state,
 *             and the swap's stop abandons the old instance if its hand_over still runs then.
 *  Format     the files are the plugin's own: write a version into them and have take_over
 *             refuse (or skip) one it does not know; a deploy may go to an older build. */

/** reconfigure (since 1.3, optional): take a changed config section without a restart.
 *  Caller     the kernel, when a config reload (SIGHUP, `POST /v1/config/reload`,
 *             `jamey config reload`) changed this plugin's section while it is started.
 *  Thread     the plugin's lifecycle thread, never concurrently with its other lifecycle hooks;
 *             may block up to hooks.start_timeout_ms. Bus handlers may run meanwhile.
 *  Params     state  the pointer set by init.
 *             config_json, config_len  the new section as for init (validated, defaults filled
 *                          in). Called from this hook's thread, the config_* host functions
 *                          return the new section's values, so the hook reads them as init
 *                          does; from other threads (bus handlers) they return the old ones
 *                          until this returns OK, and after a refusal they stay the old ones.
 *             err, err_cap  as for init.
 *  Returns    JAMEY_OK: the new section is in effect.
 *             JAMEY_E_UNSUPPORTED: this change needs a restart; the kernel then stops the plugin
 *               (and its dependents), initialises it with the new section and starts them again.
 *             any other negative code: refused; the plugin goes on with its old section and the
 *               whole reload is rolled back, naming `err`. Leave the old settings in effect.
 *  Without this hook a changed section restarts the plugin as for JAMEY_E_UNSUPPORTED.
 *  Ownership  config_json and err are the kernel's, valid during the call. */
typedef int32_t (*jamey_plugin_reconfigure_fn)(void *state, const char *config_json, size_t config_len, char *err,
                                               size_t err_cap);

/** check (since 1.6, optional): find what is wrong with a config section before anything acts
 *  on it: what the schema cannot say (a file that must exist and parse, an address, a
 *  combination of keys). A problem found here is reported with the config's other problems,
 *  where an init that failed on it stopped the server half-started.
 *  Caller     the kernel, after the section validated against the schema: when it loads the
 *             plugin (`jamey serve`, before any plugin's init; `jamey config check`,
 *             `jamey config show`), when a config reload would give a started plugin a new or
 *             changed section or start it (before anything stops: any problem refuses the whole
 *             reload), and when a deploy or canary would start a new build. For a plugin with
 *             `isolation: process` it runs in a process started for it alone (no init runs
 *             there; the process ends after the call), so a check that crashes or hangs is
 *             reported as a problem and takes nothing else down.
 *  Thread     any kernel thread, possibly while an instance of the plugin runs; there is no
 *             state. Bounded by hooks.init_timeout_ms; keep it short: read the files the
 *             section names if need be, but write nothing, bind nothing, reach no network.
 *  Params     host         a context for reading the section, valid during the call only: the
 *                          config_* functions answer from the section being checked (as in
 *                          init), and log, log_level, log_fields, node_name, node_id and
 *                          hook_time_left work; every other host function is refused with its
 *                          failure value and the call logged.
 *             config_json, config_len  the section as for init (defaults filled in, path keys
 *                          resolved against the config file's directory).
 *             err, err_cap  on failure, every problem found, one per line ('\n' between them),
 *                          each a sentence starting with the key it is about
 *                          ("tls.cert_file: /etc/x.pem does not exist"), NUL-terminated. The
 *                          kernel prefixes each line with the config file and
 *                          "plugins.<name>.config".
 *  Returns    JAMEY_OK, or any negative code (JAMEY_E_INVALID) with `err`.
 *  Ownership  config_json and err are the kernel's, valid during the call. */
typedef int32_t (*jamey_plugin_check_fn)(jamey_host *host, const char *config_json, size_t config_len, char *err,
                                         size_t err_cap);

/** An HTTP route a plugin declares (since 1.1). The api plugin serves it and forwards each
 *  matching HTTP request to `topic` as a bus request (a plugin never opens its own port):
 *
 *  Request message: payload = HTTP body; content_type = the request's Content-Type; headers:
 *    `http.method`, `http.path` (the concrete path), `http.query` (raw query string, may be
 *    empty), `http.param.<name>` for each `{name}` in the route path (percent-decoded, never
 *    holding NUL: a segment with a bad escape or `%00` is answered 400 before it is forwarded),
 *    `http.header.<name>` (lower case) for the request's `accept`, `accept-language`, `user-agent` and `x-request-id`, and
 *    `auth.key_id` / `auth.scope` of the caller's API key (absent on public routes; only the
 *    gateway sets `auth.*`: the mqtt bridge neither exports nor imports them).
 *  Reply message: payload = response body; content_type = its Content-Type; header `status` =
 *    the HTTP status (default 200); `http.header.<name>` = extra response headers.
 *  A bus timeout becomes 504, no responder 503. */

/** jamey_route.flags bit (since 1.4): the handler may take minutes (a backup, a restore, a bulk
 *  import). The gateway then waits for its reply up to the api plugin's
 *  `limits.operation_timeout_ms` (300 s by default) instead of `limits.request_timeout_ms` (5 s),
 *  which answered 504 while the work went on. Read only from plugins built for 1.4 or later; an
 *  isolated plugin's handler is still bounded by its `limits.handler_timeout_ms`. */
#define JAMEY_ROUTE_LONG_RUNNING 0x1u

typedef struct jamey_route {
    uint32_t struct_size;        /**< sizeof(jamey_route) */
    uint32_t flags;              /**< since 1.4: JAMEY_ROUTE_LONG_RUNNING or 0; other bits reserved, 0. */
    const char *method;          /**< "GET", "POST", "PUT", "PATCH" or "DELETE" */
    const char *path;            /**< "/v1/hello/{name}": literal segments and `{param}` segments */
    const char *topic;           /**< concrete bus topic the request is sent to */
    const char *scope;           /**< "public" (no key), "read", "write" or "admin" */
    const char *summary;         /**< one line for the OpenAPI document; may be NULL */
    /* ---- since 1.3: read only from plugins built for 1.3 or later whose struct_size covers
     *      them; a 1.1 or 1.2 plugin's smaller jamey_route is still accepted. ---- */
    /** OpenAPI operationId and `jamey call` name: [A-Za-z][A-Za-z0-9_]*, at most 64 bytes, unique
     *  in the document; NULL: derived from plugin, method and path. */
    const char *operation_id;
    /** JSON Schema (a JSON object, as text, at most 64 KiB) of the request body; NULL: any body.
     *  It documents the route (/openapi.json, `jamey call`); the gateway does not check bodies
     *  against it: the handler validates its own input. */
    const char *request_schema;
    /** JSON Schema of the successful response body; NULL: not described. */
    const char *response_schema;
    /** Longer description for the OpenAPI document (CommonMark); may be NULL. */
    const char *description;
} jamey_route;

/** The plugin descriptor, returned by the entry point. Must stay valid and unchanged for the life
 *  of the process (static storage). */
typedef struct jamey_plugin_descriptor {
    uint32_t struct_size;            /**< sizeof(jamey_plugin_descriptor) */
    uint16_t abi_major;              /**< JAMEY_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;              /**< JAMEY_ABI_MINOR the plugin was built with */
    const char *name;                /**< [a-z0-9_-]+, unique among loaded plugins; names its config section */
    const char *version;             /**< semantic version of the plugin */
    const char *description;         /**< one line; may be NULL */
    const jamey_dependency *requires_list;
    size_t requires_count;
    const jamey_dependency *provides_list;
    size_t provides_count;
    const jamey_config_field *config_fields;  /**< schema of the plugin's config section */
    size_t config_field_count;
    jamey_plugin_init_fn init;       /**< required */
    jamey_plugin_lifecycle_fn start; /**< optional */
    jamey_plugin_lifecycle_fn stop;  /**< optional */
    jamey_plugin_deinit_fn deinit;   /**< optional */
    jamey_plugin_health_fn health;   /**< optional; absent means JAMEY_HEALTH_OK while started */
    jamey_plugin_dir_fn snapshot;    /**< optional */
    jamey_plugin_dir_fn restore;     /**< optional */
    /* ---- since 1.1 (these two took the first two spare slots; the size is unchanged) ---- */
    const jamey_route *routes;       /**< HTTP routes the api plugin serves for this plugin; may be NULL.
                                          Read only when abi_minor >= 1. */
    size_t route_count;              /**< number of routes */
    /* ---- since 1.3 (the next spare slot; the size is unchanged) ---- */
    jamey_plugin_reconfigure_fn reconfigure; /**< optional; read only when abi_minor >= 3 */
    /* ---- since 1.6 (the next spare slot; the size is unchanged) ---- */
    jamey_plugin_check_fn check;     /**< optional; read only when abi_minor >= 6 */
    /* ---- since 1.7 (the next two spare slots; the size is unchanged) ---- */
    jamey_plugin_dir_fn hand_over;   /**< optional; read only when abi_minor >= 7 */
    jamey_plugin_dir_fn take_over;   /**< optional; read only when abi_minor >= 7 */
    void *reserved[2];               /**< spare slots, NULL */
} jamey_plugin_descriptor;

/* ============================================================================================
 * Host function table
 * ============================================================================================ */

/* ============================================================================================
 * Kernel facts as data (since 1.3)
 * ============================================================================================ */

/** A plugin's lifecycle state (since 1.3). */
typedef enum jamey_plugin_state {
    JAMEY_PLUGIN_DISABLED = 0,     /**< configured with enabled: false */
    JAMEY_PLUGIN_LOADED = 1,       /**< library mapped, descriptor and config checked */
    JAMEY_PLUGIN_INITIALIZED = 2,  /**< init returned OK */
    JAMEY_PLUGIN_STARTED = 3,      /**< start returned OK: running */
    JAMEY_PLUGIN_STOPPING = 4,     /**< stop is running */
    JAMEY_PLUGIN_STOPPED = 5,      /**< stopped and deinitialised */
    JAMEY_PLUGIN_FAILED = 6        /**< something failed; `failure` says what */
} jamey_plugin_state;

/** `jamey_plugin_info.health` of a plugin that is not started (since 1.3). */
#define JAMEY_HEALTH_NONE (-1)

/** What the kernel counted for one plugin since the process started (since 1.3). The same
 *  figures are in the Prometheus exposition, labelled plugin="<name>". */
typedef struct jamey_plugin_figures {
    uint32_t struct_size;
    uint32_t flags;                /**< Reserved, 0. */
    uint64_t messages_in;          /**< handler invocations on its subscriptions */
    uint64_t messages_out;         /**< publishes, requests and replies it sent */
    uint64_t handler_errors;       /**< handler invocations that returned an error */
    uint64_t messages_dropped;     /**< messages its full queues dropped */
    uint64_t request_timeouts;     /**< its requests that timed out */
    double handler_seconds;        /**< total time in its bus handlers */
    double hook_seconds;           /**< total time in its lifecycle and health hooks */
} jamey_plugin_figures;

/** One configured plugin as the kernel sees it now (since 1.3). Every pointer is the kernel's
 *  and valid only during the callback that receives it; strings are NUL-terminated UTF-8. */
typedef struct jamey_plugin_info {
    uint32_t struct_size;
    uint32_t state;                /**< a jamey_plugin_state */
    const char *name;              /**< config name */
    const char *version;           /**< NULL until loaded */
    const char *abi;               /**< "1.3"; NULL until loaded */
    const char *path;              /**< library path; NULL until resolved */
    const char *failure;           /**< one sentence when state is FAILED, else NULL */
    int32_t required;              /**< 1 when the config marks it required */
    int32_t health;                /**< a jamey_health_status (cached), or JAMEY_HEALTH_NONE */
    const char *health_detail;     /**< "" when none */
    const jamey_dependency *requires_list;
    size_t requires_count;
    const jamey_dependency *provides_list;
    size_t provides_count;
    const jamey_route *routes;     /**< with the 1.3 fields filled in (NULL where not declared) */
    size_t route_count;
    const jamey_plugin_figures *figures;
} jamey_plugin_info;

/** Receives the plugin list (since 1.3).
 *  Caller     the kernel, once, inside plugin_list, on the calling thread.
 *  Params     user_data  as given.  plugins, count  every configured plugin, in config order.
 *  Ownership  everything reachable from `plugins` is the kernel's, valid during the call only. */
typedef void (*jamey_plugin_list_fn)(void *user_data, const jamey_plugin_info *plugins, size_t count);

/** The bus topic of the kernel's plugin state events (since 1.3). On every state change the
 *  kernel publishes one event with headers `plugin` and `state` (and `previous`), content type
 *  application/json and payload
 *  {"plugin":"api","state":"started","previous":"initialized","failure":null,"generation":7}.
 *  `generation` is the value plugins_generation returns after the change. */
#define JAMEY_TOPIC_PLUGIN_STATE "kernel.events.plugin_state"

/** Receives one step of a plugin_restore as it happens (since 1.3), e.g.
 *  "stopping conscience (depends on memory)", "restoring memory", "started memory".
 *  Caller     the kernel, inside plugin_restore, on the calling thread, once per step.
 *  Params     user_data  as given.  step  one NUL-terminated line, valid during the call. */
typedef void (*jamey_step_fn)(void *user_data, const char *step);

/** The privilege that allows plugin_snapshot and plugin_restore (since 1.3). The operator grants
 *  it in the config: `plugins.<name>.privileges: [snapshot]`. */
#define JAMEY_PRIVILEGE_SNAPSHOT "snapshot"

typedef struct jamey_host_api jamey_host_api;

/** What the kernel passes to the entry point. */
typedef struct jamey_registration {
    uint32_t struct_size;
    uint16_t host_abi_major;         /**< the kernel's JAMEY_ABI_MAJOR */
    uint16_t host_abi_minor;         /**< the kernel's JAMEY_ABI_MINOR */
    const jamey_host_api *api;       /**< the host function table; valid for the life of the process */
    void *reserved[4];
} jamey_registration;

/** Entry point: the one symbol a plugin exports.
 *  Caller     the kernel (also `jamey plugins inspect`), once per load, right after dlopen.
 *  Thread     a kernel thread. Must not block, must not call host functions (a call is refused
 *             with its failure value and logged with the plugin's name), must do no work beyond
 *             returning the descriptor (it is also called for inspection only).
 *  Params     registration  the host's ABI version and function table; keep `api` if you need it.
 *  Returns    the plugin's descriptor, or NULL to refuse the host (e.g. its minor is too old).
 *  Ownership  the descriptor belongs to the plugin and must outlive the process. */
typedef const jamey_plugin_descriptor *(*jamey_plugin_register_fn)(const jamey_registration *registration);

/** Host functions. Every function here is thread-safe, may be called from any thread (including
 *  inside bus handlers) and does not call back into the plugin unless stated. `host` is always the
 *  caller's own context from `init`; NULL, or a context used after its plugin's `deinit`,
 *  returns JAMEY_E_INVALID (or NULL); any other pointer is undefined behaviour. Strings are
 *  NUL-terminated UTF-8. */
struct jamey_host_api {
    uint32_t struct_size;            /**< sizeof(jamey_host_api) as the kernel compiled it */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* ---- Logging (since 1.0) -------------------------------------------------------------- */

    /** log: write one log line, attributed to the plugin (label `jamey.plugin.<name>`).
     *  Caller     the plugin.
     *  Thread     any; may block briefly on the log stream; never calls back into the plugin.
     *  Params     host     the caller's context.
     *             level    a jamey_log_level; lines below the configured level are dropped.
     *             message  the text (UTF-8, need not be NUL-terminated).  len  its length in bytes.
     *  Returns    nothing.
     *  Ownership  message is copied before return. */
    void (*log)(jamey_host *host, int32_t level, const char *message, size_t len);

    /** log_level: the lowest level currently written, so a plugin can skip formatting.
     *  Caller     the plugin.  Thread  any; never blocks.
     *  Params     host  the caller's context.
     *  Returns    a jamey_log_level (JAMEY_LOG_INFO when host is invalid).
     *  Ownership  nothing is passed. */
    int32_t (*log_level)(jamey_host *host);

    /* ---- Bus (since 1.0) ------------------------------------------------------------------ */

    /** publish: deliver a message to every matching subscription.
     *  Caller     the plugin.
     *  Thread     any, including bus handlers; never blocks (full queues drop per their policy).
     *             Runs no handler on the caller's thread, except those of JAMEY_SUBSCRIBE_DIRECT
     *             subscriptions (since 1.2), which run inside this call.
     *  Params     host     the caller's context.
     *             message  the message; `topic` must be concrete (no wildcards); reply_to,
     *                      correlation_id and source are ignored.
     *  Returns    JAMEY_OK (delivered to zero or more subscribers; drops are counted in
     *             jamey_bus_dropped_total), JAMEY_E_INVALID (bad topic or struct),
     *             JAMEY_E_SHUTDOWN.
     *  Ownership  the host copies the message before returning; the plugin keeps its pointers. */
    int32_t (*publish)(jamey_host *host, const jamey_message *message);

    /** subscribe: receive messages whose topic matches `pattern`.
     *  Caller     the plugin.  Thread  any; never blocks; never calls the handler on the calling
     *             thread. The subscription is live before subscribe returns: a message published
     *             meanwhile (by another thread or plugin) may reach the handler on a bus thread
     *             first; *id_out is written before that can happen.
     *  Params     host        the caller's context.
     *             pattern     dotted, with `*` (one segment) and a final `>` (rest of topic).
     *             options     NULL for defaults (kernel queue capacity, drop newest, no flags).
     *             handler     called for each message (see jamey_message_handler_fn).
     *             user_data   passed to handler as is.
     *             id_out      receives the subscription id (never 0).
     *  Returns    JAMEY_OK, JAMEY_E_INVALID (bad pattern, handler, options or unknown flag, or a
     *             context past deinit), JAMEY_E_SHUTDOWN (the kernel is stopping, or is taking
     *             this plugin's subscriptions down after its deinit: a thread of the plugin's that
     *             subscribes meanwhile is refused, never left routed).
     *  Ownership  pattern and options are copied; user_data must stay valid until unsubscribe
     *             returns or the plugin's deinit. Subscriptions still open at `stop` are closed by
     *             the kernel. */
    int32_t (*subscribe)(jamey_host *host, const char *pattern, const jamey_subscribe_options *options,
                         jamey_message_handler_fn handler, void *user_data, uint64_t *id_out);

    /** unsubscribe: stop a subscription. Queued messages not yet delivered are discarded.
     *  Caller     the plugin.
     *  Thread     any. It waits for the handler if it is running on another thread (do not call it
     *             holding a lock that handler needs); called from the subscription's own handler it
     *             returns at once and the current invocation completes. After it returns the
     *             handler does not run again.
     *  Params     host  the caller's context.  subscription_id  from subscribe.
     *  Returns    JAMEY_OK, JAMEY_E_NOT_FOUND (unknown id, another plugin's subscription, or one the
     *             kernel already closed: it takes every subscription of a stopping plugin out of
     *             routing, handles what was queued and closes them before the plugin's stop runs;
     *             one it is still handling then is closed by this call, its queue discarded).
     *  Ownership  user_data given to subscribe may be freed once it returns, whatever it returns:
     *             the kernel waits for a running handler in every case. */
    int32_t (*unsubscribe)(jamey_host *host, uint64_t subscription_id);

    /** request: send a request to one responder and get its reply asynchronously. The bus picks
     *  one matching subscription declared with JAMEY_SUBSCRIBE_RESPONDER (round-robin among
     *  several), or any matching subscription when none is declared.
     *  Caller     the plugin.  Thread  any, including bus handlers; never blocks.
     *  Params     host        the caller's context.
     *             message     the request; topic must be concrete.
     *             timeout_ms  0 means the kernel default (bus.request_timeout_ms).
     *             done        completion, called exactly once (see jamey_reply_fn).
     *             user_data   passed to done.
     *  Returns    JAMEY_OK (done will be called, possibly before request returns),
     *             JAMEY_E_INVALID, JAMEY_E_SHUTDOWN (done is not called on failure).
     *  Ownership  the message is copied before return; user_data must stay valid until done. */
    int32_t (*request)(jamey_host *host, const jamey_message *message, uint32_t timeout_ms,
                       jamey_reply_fn done, void *user_data);

    /** request_sync: like request, but blocks the calling thread until the reply or timeout.
     *  Caller     the plugin.
     *  Thread     any thread that may block. See the deadlock note at jamey_message_handler_fn.
     *  Params     host, message, timeout_ms  as for request.
     *             reply_handler  called once with the reply, on the calling thread, before
     *                            request_sync returns JAMEY_OK; may be NULL when only the status
     *                            matters. Its return value is ignored.
     *             user_data      passed to reply_handler.
     *  Returns    JAMEY_OK, JAMEY_E_TIMEOUT, JAMEY_E_NO_RESPONDERS, JAMEY_E_FULL,
     *             JAMEY_E_PLUGIN (the responder's handler failed without replying),
     *             JAMEY_E_INVALID, JAMEY_E_SHUTDOWN.
     *  Ownership  the message is copied; the reply passed to reply_handler is valid during that
     *             call only. */
    int32_t (*request_sync)(jamey_host *host, const jamey_message *message, uint32_t timeout_ms,
                            jamey_message_handler_fn reply_handler, void *user_data);

    /** reply: answer a request.
     *  Caller     the responder plugin.
     *  Thread     any, including later and from a thread of the plugin's own (keep copies of
     *             `reply_to` and `correlation_id` — only those two fields of `request` are read).
     *  Params     host     the caller's context.
     *             request  the request (or a message holding its reply_to and correlation_id).
     *             reply    the answer; its topic is ignored; a `status` header carries an HTTP-like
     *                      status by convention (see jamey_route).
     *  Returns    JAMEY_OK, JAMEY_E_NOT_FOUND (requester gone: timed out or already answered),
     *             JAMEY_E_INVALID (request has no reply_to).
     *  Ownership  the reply is copied before return. */
    int32_t (*reply)(jamey_host *host, const jamey_message *request, const jamey_message *reply);

    /* ---- Metrics (since 1.0) -------------------------------------------------------------- */

    /** metric_register: create (or find) a metric series in the kernel's Prometheus registry. The
     *  kernel adds the label plugin="<name>". Registering the same name and labels twice returns
     *  the same id.
     *  Caller     the plugin.  Thread  any; takes a short lock.
     *  Params     host  the caller's context.  desc  the metric.  id_out  receives its id.
     *  Returns    JAMEY_OK, JAMEY_E_INVALID (bad name or kind; the reserved `jamey_` prefix; a name
     *             already registered with another kind, help text, label names or buckets).
     *  Ownership  desc and everything it points to are copied. */
    int32_t (*metric_register)(jamey_host *host, const jamey_metric_desc *desc, jamey_metric_id *id_out);

    /** metric_record: record a value — ADD for counters (>= 0) and gauges, SET for gauges,
     *  OBSERVE for histograms.
     *  Caller     the plugin.  Thread  any; lock-free lookup of the id; never blocks.
     *  Params     host  the caller's context.  id  from metric_register.  op  a jamey_metric_op.
     *             value  finite.
     *  Returns    JAMEY_OK, JAMEY_E_NOT_FOUND (unknown id), JAMEY_E_INVALID (op does not fit the
     *             kind, a negative counter increment, or a non-finite value).
     *  Ownership  nothing is kept. */
    int32_t (*metric_record)(jamey_host *host, jamey_metric_id id, int32_t op, double value);

    /** metrics_exposition: the whole registry in Prometheus text format (version 0.0.4).
     *  Caller     the plugin (the api plugin serves it on /metrics).
     *  Thread     any; may block briefly while rendering. Calls `sink` one or more times, on the
     *             calling thread, before returning.
     *  Params     host  the caller's context.  sink  receives the text.  user_data  passed to sink.
     *  Returns    JAMEY_OK, JAMEY_E_INVALID.
     *  Ownership  the text passed to sink is valid during that call only. */
    int32_t (*metrics_exposition)(jamey_host *host, jamey_text_sink_fn sink, void *user_data);

    /* ---- Service registry (since 1.0) ----------------------------------------------------- */

    /** service_register: publish a named, versioned function table for other plugins.
     *  Caller     the plugin, in init or start (declared `provides` must be registered by the end
     *             of start).  Thread  any; takes a short lock.
     *  Params     host     the caller's context.
     *             name     [a-z0-9_.-]+.  version  exact semantic version.
     *             table    the function table; it should start with a uint32_t struct_size and
     *                      carry a context pointer if the provider has per-instance state.
     *             table_size  sizeof the table.
     *  Returns    JAMEY_OK, JAMEY_E_EXISTS (name already registered), JAMEY_E_INVALID.
     *  Ownership  name and version are copied; `table` stays owned by the plugin and must remain
     *             valid until service_unregister or the plugin's deinit. */
    int32_t (*service_register)(jamey_host *host, const char *name, const char *version,
                                const void *table, size_t table_size);

    /** service_unregister: withdraw a service this plugin registered (the kernel withdraws them
     *  all when the plugin stops).
     *  Caller     the plugin.  Thread  any.
     *  Params     host  the caller's context.  name  the service.
     *  Returns    JAMEY_OK, JAMEY_E_NOT_FOUND (unknown, or registered by another plugin).
     *  Ownership  name is not kept. */
    int32_t (*service_unregister)(jamey_host *host, const char *name);

    /** service_lookup: find a service whose version satisfies `version_range`.
     *  Caller     the plugin.  Thread  any; takes a short lock.
     *  Params     host           the caller's context.
     *             name           the service.
     *             version_range  as in jamey_dependency `requires`; NULL means "*".
     *             table_out      receives the table.  table_size_out  its size (may be NULL):
     *                            check it before using fields added in later versions.
     *  Returns    JAMEY_OK, JAMEY_E_NOT_FOUND, JAMEY_E_VERSION, JAMEY_E_INVALID (bad range);
     *             JAMEY_E_UNSUPPORTED in a plugin running with `isolation: process` (a table of
     *             function pointers cannot cross the process boundary).
     *  Ownership  the table belongs to the provider. Look it up once and keep it: it stays valid
     *             while the provider runs, which the kernel guarantees for the plugins listing it
     *             in their `requires` (they stop before the provider does); with
     *             JAMEY_DEPENDENCY_OPTIONAL only until the provider's next restart (see there). */
    int32_t (*service_lookup)(jamey_host *host, const char *name, const char *version_range,
                              const void **table_out, size_t *table_size_out);

    /* ---- Environment (since 1.0) ---------------------------------------------------------- */

    /** data_dir: the plugin's own data directory, <data_dir>/<plugin name>, created (mode 0700) on
     *  first call.
     *  Caller     the plugin.  Thread  any; the first call may block briefly on the file system.
     *  Params     host  the caller's context.
     *  Returns    the absolute path, or NULL if it cannot be created (the kernel logs why).
     *  Ownership  owned by the host, valid until the plugin's deinit. */
    const char *(*data_dir)(jamey_host *host);

    /** node_name: this node's name (config `node.name`, default the host name).
     *  Caller     the plugin.  Thread  any; never blocks.
     *  Params     host  the caller's context.
     *  Returns    the name; NULL only for an invalid host.
     *  Ownership  owned by the host, valid until the plugin's deinit. */
    const char *(*node_name)(jamey_host *host);

    /** node_id: a stable unique id of this node (a UUID kept in <data_dir>/node-id).
     *  Caller     the plugin.  Thread  any; never blocks.
     *  Params     host  the caller's context.
     *  Returns    the id (36 characters); NULL only for an invalid host.
     *  Ownership  owned by the host, valid until the plugin's deinit. */
    const char *(*node_id)(jamey_host *host);

    /* ---- Config access for C plugins (since 1.0) ------------------------------------------ */

    /** config_string / config_int / config_double / config_bool: read a validated value of the
     *  plugin's own section by dotted key path ("tls.ca_file"), defaults applied. (The whole
     *  section is also given to init as JSON.)
     *  Caller     the plugin.  Thread  any; never blocks.
     *  Params     host  the caller's context.  key  dotted path.  out  receives the value
     *             (config_bool: 1 or 0; config_double also accepts integer values).
     *  Returns    JAMEY_OK, JAMEY_E_NOT_FOUND (absent and no default), JAMEY_E_TYPE (other
     *             type), JAMEY_E_INVALID.
     *  Ownership  *out of config_string is owned by the host and valid until deinit. */
    int32_t (*config_string)(jamey_host *host, const char *key, const char **out);
    int32_t (*config_int)(jamey_host *host, const char *key, int64_t *out);
    int32_t (*config_double)(jamey_host *host, const char *key, double *out);
    int32_t (*config_bool)(jamey_host *host, const char *key, int32_t *out);

    /* ---- Introspection (since 1.0) -------------------------------------------------------- */

    /** plugins_json: every configured plugin as a JSON array of objects with name, version, abi,
     *  path, state, required, health ({status, detail} or null), error, requires and provides
     *  ([{name, version}]) and, since 1.1, routes ([{method, path, topic, scope, summary}]; since
 *  1.3 with operation_id when declared, since 1.4 with long_running).
     *  Caller     the plugin (the api plugin serves it).
     *  Thread     any; reports the cached health (calls no health hook). Calls `sink`
     *             one or more times, on the calling thread, before returning.
     *  Params     host  the caller's context.  sink  receives the text.  user_data  passed to sink.
     *  Returns    JAMEY_OK, JAMEY_E_INVALID.
     *  Ownership  the text passed to sink is valid during that call only. */
    int32_t (*plugins_json)(jamey_host *host, jamey_text_sink_fn sink, void *user_data);

    /* ---- Bus (since 1.2) ------------------------------------------------------------------ */

    /** request_v2: request with flags. With flags 0 it is exactly request.
     *  Caller     the plugin; check JAMEY_HOST_HAS(api, request_v2) (a 1.0 or 1.1 kernel has NULL).
     *  Thread     any, including bus handlers; never blocks.
     *  Params     host, message, timeout_ms, done, user_data  as for request.
     *             flags  JAMEY_REQUEST_* flags: JAMEY_REQUEST_DONE_ANY_THREAD lets done run on any
     *                    thread, including the caller's before request_v2 returns (do not hold a
     *                    lock done needs).
     *  Returns    as for request; unknown flags: JAMEY_E_INVALID.
     *  Ownership  as for request. */
    int32_t (*request_v2)(jamey_host *host, const jamey_message *message, uint32_t timeout_ms, uint32_t flags,
                          jamey_reply_fn done, void *user_data);

    /* ---- Introspection (since 1.3) -------------------------------------------------------- */

    /** plugin_list: every configured plugin as typed data (states, cached health, routes,
     *  figures), in config order; what plugins_json says, without text to parse back.
     *  Caller     the plugin; check JAMEY_HOST_HAS(api, plugin_list).
     *  Thread     any; calls no plugin hook. Calls `sink` once, on the calling thread, before
     *             returning; `sink` may call host functions but not plugin_list itself.
     *  Params     host  the caller's context.  sink  receives the list.  user_data  passed to sink.
     *  Returns    JAMEY_OK, JAMEY_E_INVALID (NULL host or sink), JAMEY_E_NOMEM.
     *  Ownership  the list passed to sink is valid during that call only. */
    int32_t (*plugin_list)(jamey_host *host, jamey_plugin_list_fn sink, void *user_data);

    /** plugins_generation: a number that changes whenever any plugin's state or cached health
     *  changes (not its figures), so a caller can keep what it built from plugin_list until then.
     *  Caller     the plugin; check JAMEY_HOST_HAS(api, plugins_generation).
     *  Thread     any; one atomic load.
     *  Params     host  the caller's context.
     *  Returns    the generation; 0 for an invalid context. */
    uint64_t (*plugins_generation)(jamey_host *host);

    /* ---- Backups (since 1.3; privileged) ------------------------------------------------- */

    /** plugin_snapshot: run another plugin's `snapshot` hook into `dir`, for a backup plugin.
     *  Only a plugin the operator granted JAMEY_PRIVILEGE_SNAPSHOT may call it; any other gets
     *  JAMEY_E_STATE and the kernel logs a warning naming the caller.
     *  Caller     the plugin; check JAMEY_HOST_HAS(api, plugin_snapshot).
     *  Thread     any thread that may block for as long as the hook runs (up to
     *             hooks.snapshot_timeout_ms): not a JAMEY_SUBSCRIBE_DIRECT handler, and not the
     *             caller's own lifecycle hook. The hook runs on the target's lifecycle thread,
     *             never concurrently with its other lifecycle hooks.
     *  Params     host  the caller's context.  plugin  the target's config name (the caller
     *             itself is allowed).  dir  an existing, empty directory.  err, err_cap  a buffer
     *             for one sentence on failure (may be NULL/0).
     *  Returns    JAMEY_OK; JAMEY_E_STATE (no privilege, or the target is not started);
     *             JAMEY_E_NOT_FOUND (no such plugin); JAMEY_E_UNSUPPORTED (no snapshot hook);
     *             JAMEY_E_INVALID (NULL arguments); JAMEY_E_SHUTDOWN (the kernel is stopping);
     *             JAMEY_E_PLUGIN (the hook failed or outlived its deadline; `err` says which).
     *  Ownership  plugin, dir and err are the caller's; files written belong to the caller. */
    int32_t (*plugin_snapshot)(jamey_host *host, const char *plugin, const char *dir, char *err, size_t err_cap);

    /** plugin_restore: put back a plugin's data from a directory its snapshot hook wrote. The
     *  kernel stops the target and every started plugin that depends on it (directly or not),
     *  dependents first, in reverse start order; initialises the target again; runs its `restore`
     *  hook (after init, before start, so nothing else touches its data); then starts the target
     *  and its dependents again in start order. Each step is logged and passed to `step`. When a
     *  step fails the remaining plugins are still started where possible, and the first failure is
     *  returned. Same privilege rule as plugin_snapshot.
     *  Caller     the plugin; check JAMEY_HOST_HAS(api, plugin_restore).
     *  Thread     as for plugin_snapshot (it may block for the stop, init, restore and start
     *             deadlines together). The caller must not be the target nor depend on it.
     *  Params     host  the caller's context.  plugin  the target's config name.
     *             dir  a directory the target's snapshot hook wrote.  step, user_data  receive each
     *             step (step may be NULL).  err, err_cap  as for plugin_snapshot.
     *  Returns    JAMEY_OK; JAMEY_E_STATE (no privilege; the target is neither started nor
     *             stopped; another restore is running; the caller began to stop while it waited
     *             for another kernel operation, such as a reload restarting it);
     *             JAMEY_E_INVALID (NULL arguments; the caller is the target or depends on it);
     *             JAMEY_E_NOT_FOUND; JAMEY_E_UNSUPPORTED (no restore hook); JAMEY_E_SHUTDOWN (also
     *             when the kernel began to stop while it waited); JAMEY_E_PLUGIN (a hook failed;
     *             `err` says which).
     *  Ownership  as for plugin_snapshot. */
    int32_t (*plugin_restore)(jamey_host *host, const char *plugin, const char *dir, jamey_step_fn step,
                              void *user_data, char *err, size_t err_cap);

    /* ---- Logging (since 1.5; took the first spare slot, the size is unchanged) ------------- */

    /** log_fields: write one log line with fields (key/value pairs) beside its message, so a
     *  log shipper reads them without parsing the message: with `log.format: json` each field
     *  is a string member of the line's object (`{"ts":...,"message":"GET /v1/x","status":"200",
     *  ...}`); with `text`, the message is followed by ` key=value` for each field in the order
     *  given (a value that is empty or holds a space, `"`, `=` or a control character is quoted,
     *  with `\"`, `\\` and `\n`-style escapes). A key outside the allowed characters has them
     *  replaced by `_`; an empty key is `field`; a key the line already has (`ts`, `level`,
     *  `label`, `message`, `plugin`) is written `field_<key>`. Otherwise as `log`.
     *  Caller     the plugin; check JAMEY_HOST_HAS(api, log_fields) (else fall back to `log`).
     *  Thread     any; may block briefly on the log stream; never calls back into the plugin.
     *  Params     host  the caller's context.  level  a jamey_log_level.  message, len  as for
     *             `log`.  fields  `count` fields (may be NULL when count is 0); at most 64 are
     *             written, the rest dropped.
     *  Returns    nothing.
     *  Ownership  message and fields are copied before return. */
    void (*log_fields)(jamey_host *host, int32_t level, const char *message, size_t len,
                       const jamey_log_field *fields, size_t count);

    /* ---- Deadlines (since 1.6; took the next spare slot, the size is unchanged) ------------ */

    /** hook_time_left: how long the lifecycle hook of this plugin running now (init, start,
     *  stop, snapshot, restore, reconfigure) may still run before the kernel abandons the plugin:
     *  its deadline from hooks.*_timeout_ms, for stop also bounded by what is left of
     *  shutdown.timeout_ms. A hook that waits for work to end (requests being answered, a backup)
     *  uses it to stop waiting in time, rather than a wait of its own that the operator must keep
     *  below the kernel's.
     *  Caller     the plugin; check JAMEY_HOST_HAS(api, hook_time_left).
     *  Thread     any (the hook's own, or a thread it waits for); never blocks.
     *  Params     host  the caller's context.
     *  Returns    nanoseconds left (0 once the deadline passed), or -1 when none of this plugin's
     *             lifecycle hooks is running. Inside an isolated plugin's process it is the
     *             deadline the kernel sent with the hook.
     *  Ownership  nothing crosses. */
    int64_t (*hook_time_left)(jamey_host *host);

    /** Spare slots for later minors; NULL. A function added in 1.N takes the next slot (the size
     *  stays the same), so check JAMEY_HOST_HAS(api, field) before calling it. */
    void *reserved[9];
};

/** The entry point every plugin defines (C plugins: exactly this declaration). */
JAMEY_EXPORT const jamey_plugin_descriptor *jamey_plugin_register(const jamey_registration *registration);

#ifdef __cplusplus
}
#endif

#endif /* JAMEY_PLUGIN_H */
