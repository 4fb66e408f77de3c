/*
 * jamey_pending.h — kernel-private: the bus's table of pending requests, without a lock.
 *
 * A request is registered before it is sent and taken by its reply on another thread (the
 * responder's worker): with a locked table both threads took the same lock and touched the same
 * hash table and deadline heap, one after the other, for every request — a handful of cache-line
 * transfers on the round trip's critical path. Here a request goes into the slot its correlation
 * id names (id modulo the capacity) with one compare-and-exchange, and its reply takes it out
 * with another. Ids are handed out in sequence, so a slot is normally free again long before its
 * id comes round; a request whose slot still holds an older pending one goes to the caller's
 * locked overflow table instead (jamey_pending_put returns 0).
 *
 * A slot's id word is 0 (free), JAMEY_PENDING_BUSY (being filled or emptied) or the id of the
 * request it holds. Its owner writes the request and the deadline while it is busy and publishes
 * the id last; whoever takes it moves the id to busy first, so exactly one of a reply, the timer
 * and shutdown takes each request.
 *
 * The timer finds expired requests by scanning (jamey_pending_next_expired), and learns the
 * earliest deadline still pending. How a registration reaches a timer that sleeps until a later
 * deadline is the caller's protocol (RequestTimer): the registering thread publishes its slot
 * (sequentially consistent) and then reads the timer's wake-up time; the timer, woken, stores
 * that it is awake and then scans after a full fence — so either the scan sees the slot or the
 * registering thread sees the timer awake.
 */
#ifndef JAMEY_PENDING_H
#define JAMEY_PENDING_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JAMEY_PENDING_BUSY UINT64_MAX

typedef struct jamey_pending_slot {
    uint64_t id;
    uint64_t deadline;
    void *request;
    uint64_t reserved;
} jamey_pending_slot;

typedef struct jamey_pending {
    jamey_pending_slot *slots;
    uint64_t mask;
} jamey_pending;

/** A table of `capacity` slots (a power of two); NULL when out of memory. */
jamey_pending *jamey_pending_create(uint64_t capacity);

/** Frees the table (its requests must have been taken). */
void jamey_pending_destroy(jamey_pending *table);

/** Puts `request` (id ≥ 1) in its slot with its deadline. Returns 0 when the slot holds another
 *  request (the caller keeps this one elsewhere). */
static inline int jamey_pending_put(jamey_pending *table, uint64_t id, void *request, uint64_t deadline) {
    jamey_pending_slot *slot = &table->slots[id & table->mask];
    uint64_t expected = 0;
    if (!__atomic_compare_exchange_n(&slot->id, &expected, JAMEY_PENDING_BUSY, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        return 0;
    }
    slot->request = request;
    __atomic_store_n(&slot->deadline, deadline, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->id, id, __ATOMIC_SEQ_CST);
    return 1;
}

/** Takes the request `id` out of its slot; NULL when its slot does not hold it (it was taken, or
 *  it is in the caller's overflow table). */
static inline void *jamey_pending_take(jamey_pending *table, uint64_t id) {
    jamey_pending_slot *slot = &table->slots[id & table->mask];
    for (;;) {
        uint64_t current = __atomic_load_n(&slot->id, __ATOMIC_ACQUIRE);
        if (current == JAMEY_PENDING_BUSY) {
            /* Another thread is filling or emptying the slot: a few stores. */
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            continue;
        }
        if (current != id) return 0;
        if (__atomic_compare_exchange_n(&slot->id, &current, JAMEY_PENDING_BUSY, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            void *request = slot->request;
            slot->request = 0;
            __atomic_store_n(&slot->id, 0, __ATOMIC_RELEASE);
            return request;
        }
    }
}

/** Scans the slots from `*cursor` and takes the next request whose deadline is at or before `now`,
 *  or returns NULL at the end of the table. Lowers `*earliest` to each deadline still pending that
 *  it passed. Call with `*cursor` = 0 and `*earliest` = UINT64_MAX, until it returns NULL. */
void *jamey_pending_next_expired(jamey_pending *table, uint64_t now, uint64_t *cursor, uint64_t *earliest);

/** Takes every request from `*cursor` on, one per call; NULL at the end (shutdown). */
void *jamey_pending_next_any(jamey_pending *table, uint64_t *cursor);

/** Requests in the table (a scan; for tests and introspection). */
uint64_t jamey_pending_count(jamey_pending *table);

#ifdef __cplusplus
}
#endif

#endif
