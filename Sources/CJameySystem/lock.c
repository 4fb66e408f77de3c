#define _GNU_SOURCE
#include "jamey_lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Pause-hinted spins before sleeping: a few microseconds, longer than a mailbox's batch take
 * (a copy of at most a batch of records), shorter than a sleep and a wake-up. */
#define JAMEY_LOCK_SPINS 200

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void jamey_lock_acquire_contended(uint32_t *word) {
    for (int i = 0; i < JAMEY_LOCK_SPINS; i++) {
        relax();
        if (__atomic_load_n(word, __ATOMIC_RELAXED) == 0) {
            uint32_t expected = 0;
            if (__atomic_compare_exchange_n(word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
        }
    }
    /* Mark the lock as having a sleeper (2) whenever we take it from here on: the release that
     * lets us in cannot tell whether another sleeper remains, so it must wake conservatively. */
    uint32_t state = __atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE);
    while (state != 0) {
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        state = __atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE);
    }
}

void jamey_lock_wake(uint32_t *word) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }
