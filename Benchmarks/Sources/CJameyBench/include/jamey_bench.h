/*
 * jamey_bench.h — the service contracts of the benchmark plugins, and the work they measure.
 *
 * Two plugins take part in the in-process benchmarks:
 *   bench_sink    (plain C, Plugins/CPlugins/bench_sink.c, built with `cc -shared`) subscribes to
 *                 JAMEY_BENCH_FLOOD_TOPIC and counts what it receives, answers requests on
 *                 JAMEY_BENCH_ECHO_C_TOPIC, and registers the "bench.sink" service table.
 *   bench_driver  (Swift, Plugins/BenchDriver, through JameyPluginKit) looks "bench.sink" up,
 *                 publishes through the kit's bus, answers requests on JAMEY_BENCH_ECHO_SWIFT_TOPIC
 *                 and registers the "bench.driver" service table the benchmarks call.
 *
 * Like every Jamey service contract: a C struct of function pointers starting with struct_size,
 * appended to only, with a context pointer passed back to each function.
 */
#ifndef JAMEY_BENCH_H
#define JAMEY_BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JAMEY_BENCH_SINK_SERVICE "bench.sink"
#define JAMEY_BENCH_SINK_VERSION "1.0.0"
#define JAMEY_BENCH_DRIVER_SERVICE "bench.driver"
#define JAMEY_BENCH_DRIVER_VERSION "1.0.0"

/** Events the driver publishes and the sink counts. */
#define JAMEY_BENCH_FLOOD_TOPIC "bench.flood"
/** Events the driver publishes to JAMEY_BENCH_FANOUT_SUBSCRIBERS subscriptions of the sink. */
#define JAMEY_BENCH_FANOUT_TOPIC "bench.fanout"
/** How many subscriptions the sink makes on JAMEY_BENCH_FANOUT_TOPIC. */
#define JAMEY_BENCH_FANOUT_SUBSCRIBERS 8
/** Requests the C sink answers with their own payload. */
#define JAMEY_BENCH_ECHO_C_TOPIC "bench.echo.c"
/** Requests the Swift driver answers inline with their own payload. */
#define JAMEY_BENCH_ECHO_SWIFT_TOPIC "bench.echo.swift"
/** A request to the driver answered with the bytes of its jamey_bench_driver_v1 table (the
 *  kernel has no host-side lookup API; this is how the benchmark process gets the table). */
#define JAMEY_BENCH_DRIVER_TABLE_TOPIC "bench.driver.table"

/** Payload size of every benchmark message. */
#define JAMEY_BENCH_PAYLOAD_SIZE 64
/** Mailbox capacity of the sink's flood subscription: large enough that a burst is never dropped. */
#define JAMEY_BENCH_FLOOD_CAPACITY (1u << 20)

#if defined(__GNUC__) || defined(__clang__)
/* Each image (benchmark executable, driver .so, sink .so) keeps its own copy of the work functions:
 * hidden, so calls to them are plain direct calls and never bind to another image's copy. */
#define JAMEY_BENCH_HIDDEN __attribute__((visibility("hidden")))
#else
#define JAMEY_BENCH_HIDDEN
#endif

/** "bench.sink" 1.x, registered by the C sink. Thread-safe; no function blocks. */
typedef struct jamey_bench_sink_v1 {
    uint32_t struct_size;
    /** Passed back as the first argument of every function: the providing instance. */
    void *context;
    /** Messages the flood subscription has consumed so far (acquire load). */
    uint64_t (*delivered)(void *context);
    /** The in-run baseline of the bus benchmark: `n` direct calls of jamey_bench_consume with
     *  `payload`/`len`, the very work the flood handler does per message. Returns a running count. */
    uint64_t (*copy_n)(void *context, const void *payload, size_t len, uint64_t n);
    /** jamey_bench_mix, as compiled into the sink: the function the service-call benchmark calls. */
    uint64_t (*mix)(void *context, uint64_t x);
    /** The kernel's id of the flood subscription (for drop counts). */
    uint64_t (*flood_subscription)(void *context);
    /** The fewest messages any one of the fan-out subscriptions has consumed so far. */
    uint64_t (*fanout_delivered)(void *context);
} jamey_bench_sink_v1;

/** "bench.driver" 1.x, registered by the Swift driver. */
typedef struct jamey_bench_driver_v1 {
    uint32_t struct_size;
    void *context;
    /** Publishes `n` JAMEY_BENCH_PAYLOAD_SIZE-byte events on JAMEY_BENCH_FLOOD_TOPIC through the
     *  kit's PluginBus, on the calling thread. Returns JAMEY_OK or the first failure's code. */
    int32_t (*publish_n)(void *context, uint64_t n);
    /** The sink's delivered count, through the sink's table. */
    uint64_t (*delivered)(void *context);
    /** The sink's copy_n with the driver's payload, through the sink's table. */
    uint64_t (*copy_n)(void *context, uint64_t n);
    /** `n` chained calls x = mix(x) through the looked-up "bench.sink" table, written as plugin
     *  code naturally is: `sink.table.mix!(sink.table.context, x)` on the ServiceHandle kept in the
     *  plugin object (function pointer and context are loaded again for every call); starting at
     *  `seed`; returns the last x. */
    uint64_t (*mix_via_table)(void *context, uint64_t n, uint64_t seed);
    /** The same chain calling jamey_bench_mix directly (linked into the driver). */
    uint64_t (*mix_direct)(void *context, uint64_t n, uint64_t seed);
    /** The sink's flood subscription id, through the sink's table. */
    uint64_t (*flood_subscription)(void *context);
    /** `n` async/await requests of JAMEY_BENCH_PAYLOAD_SIZE bytes to JAMEY_BENCH_ECHO_C_TOPIC
     *  through the kit's PluginBus, one after another in one task, as plugin code makes them;
     *  writes each round trip's nanoseconds to `samples[i]` and returns JAMEY_OK or the first
     *  failure's code. Blocks the calling thread until the task is done. */
    int32_t (*request_n)(void *context, uint64_t n, uint64_t *samples);
    /** Publishes `n` JAMEY_BENCH_PAYLOAD_SIZE-byte events on JAMEY_BENCH_FANOUT_TOPIC through
     *  the kit's PluginBus, on the calling thread. Returns JAMEY_OK or the first failure's code. */
    int32_t (*publish_fanout_n)(void *context, uint64_t n);
    /** The sink's fanout_delivered, through the sink's table. */
    uint64_t (*fanout_delivered)(void *context);
} jamey_bench_driver_v1;

/** The per-message work of the bus benchmark: copies `len` bytes (at most
 *  JAMEY_BENCH_PAYLOAD_SIZE) of `payload` into `into` and adds one to `*counter` (release). */
JAMEY_BENCH_HIDDEN void jamey_bench_consume(void *into, const void *payload, size_t len, uint64_t *counter);

/** The function of the service-call benchmark: one multiply-add, cheap enough that call
 *  overhead dominates, opaque to the caller so no call can be folded away. */
JAMEY_BENCH_HIDDEN uint64_t jamey_bench_mix(void *context, uint64_t x);

#ifdef __cplusplus
}
#endif

#endif
