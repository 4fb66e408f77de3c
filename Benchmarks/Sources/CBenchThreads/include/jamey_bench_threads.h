/*
 * jamey_bench_threads.h — thread helpers of the benchmarks.
 *
 * jamey_pingpong_*: the in-run baseline of the request/reply benchmarks: the cheapest round trip
 * to another thread and back, with the bus's own wake-up strategy (the responder spins, yielding,
 * for 50 µs before it sleeps on a condition variable, like an idle bus worker; the requester spins
 * for 20 µs before it sleeps, like requestSync's ReplyWaiter), but with no routing, queueing,
 * locking or copying beyond the payload. A bus request cannot be cheaper than this.
 */
#ifndef JAMEY_BENCH_THREADS_H
#define JAMEY_BENCH_THREADS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The largest payload a round trip carries. */
#define JAMEY_PINGPONG_MAX_PAYLOAD 256

typedef struct jamey_pingpong jamey_pingpong;

/** Starts the responder thread. Returns NULL when the thread cannot be created. */
jamey_pingpong *jamey_pingpong_start(void);

/** One round trip from the calling thread: hands `len` bytes (at most JAMEY_PINGPONG_MAX_PAYLOAD)
 *  of `request` to the responder, which copies them into its reply; the reply is copied into
 *  `reply`. One caller at a time. Returns 0, or -1 for a bad argument. */
int jamey_pingpong_roundtrip(jamey_pingpong *pp, const void *request, void *reply, size_t len);

/** Stops and joins the responder thread and frees `pp`. */
void jamey_pingpong_stop(jamey_pingpong *pp);

/* ---- the machine's limit for publish→deliver -------------------------------------------------
 * jamey_spsc_*: a bare single-producer single-consumer ring between two threads, 4096 slots of
 * JAMEY_SPSC_SLOT bytes, head and tail on their own cache lines, the consumer spinning (yielding
 * the processor when the ring is empty) and copying each slot out: the cheapest way to move a
 * 64-byte message from one thread to another. The bus's throughput is reported next to it. */

/** Bytes per slot (the benchmarks' payload size). */
#define JAMEY_SPSC_SLOT 64

typedef struct jamey_spsc jamey_spsc;

/** Starts the consumer thread (kept off the measuring CPU). NULL when it cannot be created. */
jamey_spsc *jamey_spsc_start(void);

/** Pushes `n` copies of `message` (JAMEY_SPSC_SLOT bytes) from the calling thread, waiting when
 *  the ring is full, and returns once the consumer has taken all of them. */
void jamey_spsc_burst(jamey_spsc *ring, const void *message, uint64_t n);

/** Stops and joins the consumer thread and frees `ring`. */
void jamey_spsc_stop(jamey_spsc *ring);

/* ---- placement ----------------------------------------------------------------------------
 * On a machine with few cores, where a thread that hands work to another one (publisher → bus
 * worker, requester → responder) runs decides whether each hand-off is a cache-line transfer
 * (~0.4 µs on the 2-core benchmark machine) or a context switch (~1.2 µs), and the scheduler's
 * choice sticks for seconds — so unpinned runs are bimodal. The benchmarks therefore keep the
 * measuring thread on the last CPU and every responding thread (the bus's threads, the ping-pong
 * responder) on the other CPUs: the cross-CPU placement a server with cores to spare gets, the
 * same for the bus and for its in-run baseline. With one CPU nothing is pinned. Each function
 * returns 0 or an errno value. */

/** Pins the calling thread to the last online CPU (the measuring CPU). */
int jamey_bench_pin_current_thread(void);

/** Lets the calling thread run on every online CPU again. */
int jamey_bench_unpin_current_thread(void);

/** Keeps an async task's requests on the measuring CPU: pins the calling thread unless its kernel
 *  thread id is `pinned` (0 at first), lets thread `pinned` run anywhere again when the task now
 *  runs on another thread (an await resumed it there), and returns the calling thread's id: call it
 *  after each await with what it returned last. A task stays on its thread while its replies are
 *  taken without suspending. */
int jamey_bench_pin_task_thread(int pinned);

/** Lets thread `tid` of this process (a jamey_bench_pin_task_thread result) run on every online
 *  CPU again. */
int jamey_bench_unpin_thread(int tid);

/** Keeps the calling thread off the measuring CPU. */
int jamey_bench_avoid_measuring_cpu(void);

/** Keeps every thread of this process whose name starts with `prefix` (e.g. "jamey-bus-") off the
 *  measuring CPU. Returns how many threads it moved, or -1 when /proc/self/task cannot be read. */
int jamey_bench_threads_avoid_measuring_cpu(const char *prefix);

#ifdef __cplusplus
}
#endif

#endif
