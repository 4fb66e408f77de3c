/*
 * jamey_lane.h — kernel-private: a bus mailbox's queue that a publisher fills without an atomic
 * read-modify-write per message.
 *
 * A locked mailbox costs its publisher two locked instructions per message, and on x86 each one
 * waits for every store before it: the record's stores to cache lines the subscriber's worker
 * has just read. That capped one subscriber near 5 M messages/s on a 2-core VM whatever the lock
 * (a private lock, a fence: the same). A lane is a single-producer queue of records in a chain of
 * blocks, with three rules that keep the producer's path free of locked instructions:
 *
 * - Records are published by a release store of their header's kind word (0 = not written yet),
 *   after a zero is stored in the next record's kind word: the consumer follows the records
 *   without a shared tail index and never reads a stale header.
 * - One producer at a time. A lane is *biased* to the thread that published to it many times in a
 *   row: that thread marks itself busy and checks it is still the owner, with no locked
 *   instruction. Any other thread takes the lane's lock and revokes the bias first: it clears the
 *   owner, runs a process-wide memory barrier (membarrier(2)) and waits while the owner is busy.
 *   Without a bias every producer takes the lock. A lane whose bias was revoked waits four times
 *   as long for the next one.
 * - The consumer is woken only when it sleeps: the producer reads the lane's state after its
 *   release (a plain load) and schedules the lane only when it finds it idle; a consumer that
 *   finds the lane empty marks it idle, fences, and — when the lane has an owner — runs the
 *   process-wide barrier before it looks again. The barrier is what makes the owner's plain load
 *   safe (the "asymmetric fence" of userspace RCU and folly): either the consumer sees the
 *   record, or the producer sees the idle state. Producers under the lock fence after it.
 * - A bias is given only to a thread whose 64 publishes in a row found the consumer busy (a
 *   stream), and the owner gives it up when a publish finds the lane idle: a lane with a request
 *   at a time is never biased, and its consumer never pays the process-wide barrier (1-10 us on a
 *   VM whose other threads yield).
 *
 * Where membarrier's private expedited command is not available, the producer's side uses a
 * full fence instead (correct, slower). jamey_lane_barriers_init() decides once, before any lane
 * is made.
 *
 * Order: one producer's records are consumed in the order it published them; a thread that takes
 * over from another (with the lock) appends after everything the other published, so order
 * follows the happens-before of the publishes, as with a lock.
 */
#ifndef JAMEY_LANE_H
#define JAMEY_LANE_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "jamey_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Record kinds (the low byte of a header's kind word; 0 means not written yet). */
enum {
    JAMEY_LANE_EVENT = 1,
    JAMEY_LANE_BOXED = 2,
    /** The rest of the block is unused: the next record is at the start of `next`. */
    JAMEY_LANE_NEXT_BLOCK = 3,
    /** A plain request given as C bytes: an event's record with the correlation id after the
     *  header (the payload at offset 32). */
    JAMEY_LANE_REQUEST = 4,
};

/** Lane states: the consumer's, read by the producer after each record. */
enum {
    JAMEY_LANE_IDLE = 0,
    JAMEY_LANE_SCHEDULED = 1,
    JAMEY_LANE_RUNNING = 2,
    JAMEY_LANE_CLOSED = 3,
};

/** What jamey_lane_reserve found. */
enum {
    JAMEY_LANE_OK = 0,
    JAMEY_LANE_FULL = 1,
    JAMEY_LANE_CLOSED_TO_PRODUCERS = 2,
};

/** Bytes a record header takes: size, kind, topic length, payload length, one pointer. */
#define JAMEY_LANE_HEADER 24
/** Bytes of a standard block's records (blocks for larger records are made to measure). */
#define JAMEY_LANE_BLOCK_BYTES 16384

typedef struct jamey_lane_block {
    struct jamey_lane_block *next;
    uint32_t capacity;
    uint32_t standard;
    uint64_t reserved;
    _Alignas(16) unsigned char data[];
} jamey_lane_block;

/* Fields are grouped by writer, each group on its own cache lines (the lane is allocated
 * 64-byte aligned; padding instead of alignment attributes, which Swift cannot import). */
typedef struct jamey_lane {
    /* The producer's lines: the owner or the lock holder writes them. */
    uintptr_t owner;
    uint32_t busy;
    uint32_t lock;
    jamey_lane_block *block;
    uint32_t offset;
    uint32_t closed;
    uint64_t tail;
    uint64_t seen_head;
    uint64_t capacity;
    uintptr_t last_locker;
    uint32_t streak;
    uint32_t bias_after;
    /* The first block ever made, where the consumer starts (written once, with release). */
    jamey_lane_block *first_block;
    /* Records appended so far, for readers of the depth (the drain, metrics). */
    uint64_t published_tail;
    unsigned char producer_padding[128 - 88];
    /* The consumer's line. */
    jamey_lane_block *consumer_block;
    uint32_t consumer_offset;
    uint32_t consumer_reserved;
    uint64_t released_bytes;
    uint64_t head;
    unsigned char consumer_padding[64 - 32];
    /* Records consumed, published after each batch (the producer reads it when full); the
     * spare block both sides exchange. */
    uint64_t published_head;
    jamey_lane_block *spare;
    /* Bytes of blocks allocated and not freed (both sides add or subtract, once per block). */
    uint64_t block_bytes;
    unsigned char shared_padding[64 - 24];
    /* The state: the producer reads it after every record, the consumer writes it rarely. */
    uint32_t state;
    /* Set while a consumer that just left the lane idle looks for a record it may have missed;
     * whoever makes the lane running next waits for it to clear before touching the consumer's
     * side. */
    uint32_t inspecting;
    unsigned char state_padding[64 - 8];
} jamey_lane;

_Static_assert(__builtin_offsetof(jamey_lane, consumer_block) == 128, "consumer line");
_Static_assert(__builtin_offsetof(jamey_lane, published_head) == 192, "shared line");
_Static_assert(__builtin_offsetof(jamey_lane, state) == 256, "state line");

/** Whether the producer's side may use a compiler barrier (membarrier registered) — set once. */
extern int jamey_lane_asymmetric;

/** Registers the process for membarrier's private expedited command; idempotent. */
void jamey_lane_barriers_init(void);

/** The heavy side of the asymmetric barrier: every thread of the process passes a full memory
 *  barrier before this returns (a full fence alone without membarrier). */
void jamey_lane_heavy_barrier(void);

/** A lane for at most `capacity` queued records (at least 1); NULL when out of memory. */
jamey_lane *jamey_lane_create(uint64_t capacity);

/** Frees the lane and its blocks (the caller discarded what was queued). */
void jamey_lane_destroy(jamey_lane *lane);

/** The producer's slow path of jamey_lane_reserve (the lock, revocation, bias, a new block). */
void *jamey_lane_reserve_slow(jamey_lane *lane, uint32_t size, int *locked, int *status);

/** Closes the lane to producers: revokes a bias and marks it closed under the lock, so that no
 *  producer is appending when this returns and none appends afterwards. */
void jamey_lane_close_producers(jamey_lane *lane);

/** The consumer's move to the next block (frees or keeps the one it leaves). */
void jamey_lane_next_block(jamey_lane *lane);

/** The consumer that holds the lane running and found it empty leaves it idle, runs the heavy
 *  barrier and looks again: returns 1 when a record had arrived after all and the lane is its
 *  again (running), 0 when it is idle or a producer scheduled it meanwhile (then the consumer is
 *  done with it). */
int jamey_lane_leave(jamey_lane *lane);

/** Makes the lane running from `from` (SCHEDULED for a worker; IDLE or SCHEDULED for a close),
 *  for this thread to consume; returns 0 when the state was not `from`. */
int jamey_lane_claim(jamey_lane *lane, uint32_t from);

/** Tells the producer's state the depth changed: stores the consumer's head for it. */
static inline void jamey_lane_publish_head(jamey_lane *lane) {
    __atomic_store_n(&lane->published_head, lane->head, __ATOMIC_RELEASE);
}

static inline void jamey_lane_light_barrier(void) {
    if (__builtin_expect(jamey_lane_asymmetric, 1)) {
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    } else {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

/** Room for a record of `size` bytes (a multiple of 8, at least the header), or NULL with
 *  `*status` FULL (the lane holds its capacity) or CLOSED_TO_PRODUCERS. On success the caller
 *  writes bytes 0 and 8 onward (not the kind word at 4) and calls jamey_lane_commit with the same
 *  `locked`. */
static inline void *jamey_lane_reserve(jamey_lane *lane, uint32_t size, int *locked, int *status) {
    uintptr_t self = (uintptr_t)pthread_self();
    if (__atomic_load_n(&lane->owner, __ATOMIC_RELAXED) == self) {
        __atomic_store_n(&lane->busy, 1, __ATOMIC_RELAXED);
        jamey_lane_light_barrier();
        if (__builtin_expect(__atomic_load_n(&lane->owner, __ATOMIC_RELAXED) == self, 1)) {
            jamey_lane_block *block = lane->block;
            if (lane->tail - lane->seen_head < lane->capacity && block != NULL &&
                (uint64_t)lane->offset + size + 8 <= block->capacity) {
                *locked = 0;
                *status = JAMEY_LANE_OK;
                return block->data + lane->offset;
            }
        }
        __atomic_store_n(&lane->busy, 0, __ATOMIC_RELEASE);
    }
    return jamey_lane_reserve_slow(lane, size, locked, status);
}

/** Publishes the record jamey_lane_reserve returned, of `size` bytes and `kind`.
 *  Returns 1 when the lane was idle and is now scheduled: the caller puts it on the run queue. */
static inline int jamey_lane_commit(jamey_lane *lane, void *record, uint32_t size, uint32_t kind, int locked) {
    unsigned char *bytes = (unsigned char *)record;
    /* The next record's kind word reads 0 until that record is published. */
    __atomic_store_n((uint32_t *)(bytes + size + 4), 0, __ATOMIC_RELAXED);
    *(uint32_t *)bytes = size;
    __atomic_store_n((uint32_t *)(bytes + 4), kind, __ATOMIC_RELEASE);
    lane->offset += size;
    lane->tail += 1;
    __atomic_store_n(&lane->published_tail, lane->tail, __ATOMIC_RELAXED);
    if (locked) {
        jamey_lock_release(&lane->lock);
        __atomic_thread_fence(__ATOMIC_SEQ_CST); /* after the release's locked exchange: cheap */
    } else {
        __atomic_store_n(&lane->busy, 0, __ATOMIC_RELEASE);
        jamey_lane_light_barrier();
    }
    if (__atomic_load_n(&lane->state, __ATOMIC_RELAXED) != JAMEY_LANE_IDLE) return 0;
    /* The consumer had drained the lane: the stream (if any) paused. An owner gives its bias
     * up, so that the consumer's next leave needs no process-wide barrier — by exchange, not a
     * store: a thread that revoked this bias meanwhile may have been given its own. */
    if (!locked) {
        uintptr_t self = (uintptr_t)pthread_self();
        __atomic_compare_exchange_n(&lane->owner, &self, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    uint32_t idle = JAMEY_LANE_IDLE;
    return __atomic_compare_exchange_n(&lane->state, &idle, JAMEY_LANE_SCHEDULED, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_RELAXED);
}

/** The consumer's next published record (kind EVENT or BOXED), or NULL when none is published
 *  yet. Moves past block ends. */
static inline unsigned char *jamey_lane_peek(jamey_lane *lane) {
    for (;;) {
        jamey_lane_block *block = lane->consumer_block;
        if (block == NULL) {
            /* The consumer's first look since the producer made its first block. */
            block = __atomic_load_n(&lane->first_block, __ATOMIC_ACQUIRE);
            if (block == NULL) return NULL;
            lane->consumer_block = block;
        }
        unsigned char *record = block->data + lane->consumer_offset;
        uint32_t kind = __atomic_load_n((uint32_t *)(record + 4), __ATOMIC_ACQUIRE);
        if (kind != JAMEY_LANE_NEXT_BLOCK) return kind == 0 ? NULL : record;
        jamey_lane_next_block(lane);
    }
}

/** Moves the consumer past `record` (the one jamey_lane_peek returned). */
static inline void jamey_lane_advance(jamey_lane *lane, const unsigned char *record) {
    lane->consumer_offset += *(const uint32_t *)record;
    lane->head += 1;
}

/** Bytes of blocks the lane holds (its queued records', the producer's current block, the
 *  spare). */
static inline uint64_t jamey_lane_block_bytes(jamey_lane *lane) {
    return __atomic_load_n(&lane->block_bytes, __ATOMIC_RELAXED);
}

/** Records appended and not yet consumed (as of the last published head). */
static inline uint64_t jamey_lane_depth(jamey_lane *lane) {
    uint64_t head = __atomic_load_n(&lane->published_head, __ATOMIC_ACQUIRE);
    uint64_t tail = __atomic_load_n(&lane->published_tail, __ATOMIC_RELAXED);
    return tail > head ? tail - head : 0;
}

static inline uint32_t jamey_lane_state(jamey_lane *lane) {
    return __atomic_load_n(&lane->state, __ATOMIC_ACQUIRE);
}

/** Moves the state from `expected` to `desired`; returns whether it was `expected`. */
static inline int jamey_lane_transition(jamey_lane *lane, uint32_t expected, uint32_t desired) {
    return __atomic_compare_exchange_n(&lane->state, &expected, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/** Sets the state (the consumer that holds it RUNNING). */
static inline void jamey_lane_set_state(jamey_lane *lane, uint32_t state) {
    __atomic_store_n(&lane->state, state, __ATOMIC_RELEASE);
}

#ifdef __cplusplus
}
#endif

#endif
