/*
 * jamey_pingpong.h — the in-run baseline of the request/reply benchmarks: the cheapest round trip
 * to another thread and back, with the bus's own wake-up strategy (the responder spins, yielding,
 * for 50 µs before it sleeps on a condition variable, like an idle bus worker; the requester spins
 * for 20 µs before it sleeps, like requestSync's ReplyWaiter), but with no routing, queueing,
 * locking or copying beyond the payload. A bus request cannot be cheaper than this.
 */
#ifndef JAMEY_PINGPONG_H
#define JAMEY_PINGPONG_H

#include <stddef.h>

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

#ifdef __cplusplus
}
#endif

#endif
