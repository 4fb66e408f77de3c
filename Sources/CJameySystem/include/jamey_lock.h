/*
 * jamey_lock.h — kernel-private: a mutual-exclusion lock for critical sections of a few hundred
 * nanoseconds that two processors take in turn (a bus mailbox: the publisher appends, the worker
 * takes a batch).
 *
 * Swift's `Mutex` on Linux is a priority-inheritance futex: a thread that finds it held goes
 * into the kernel (FUTEX_LOCK_PI, an rt_mutex) after a short spin, and the bus's publisher spent
 * its time there whenever its subscriber's worker was taking a batch. This lock spins (with the
 * processor's pause hint) for about as long as such a section lasts before it sleeps on a plain
 * private futex, the three-state lock of Drepper's "Futexes Are Tricky": 0 free, 1 held, 2 held
 * with sleepers. Releasing it costs a system call only when someone sleeps.
 *
 * The word must be 4-byte aligned, start at 0, and be used by threads of one process only. No
 * recursion, no owner tracking: releasing a lock this thread does not hold breaks it.
 */
#ifndef JAMEY_LOCK_H
#define JAMEY_LOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The slow path of jamey_lock_acquire: spins, then sleeps until the lock is this thread's. */
void jamey_lock_acquire_contended(uint32_t *word);

/** Wakes one thread sleeping in jamey_lock_acquire_contended. */
void jamey_lock_wake(uint32_t *word);

/** Takes the lock, waiting for it as long as it takes. */
static inline void jamey_lock_acquire(uint32_t *word) {
    uint32_t expected = 0;
    if (__atomic_compare_exchange_n(word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    jamey_lock_acquire_contended(word);
}

/** Releases the lock taken by this thread, waking one sleeper if there is one. */
static inline void jamey_lock_release(uint32_t *word) {
    if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) == 2) jamey_lock_wake(word);
}

#ifdef __cplusplus
}
#endif

#endif
