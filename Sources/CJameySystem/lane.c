#define _GNU_SOURCE
#include "jamey_lane.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int jamey_lane_asymmetric = 0;

static pthread_once_t barriers_once = PTHREAD_ONCE_INIT;

static void register_barriers(void) {
#ifdef __NR_membarrier
    int commands = (int)syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (commands > 0 && (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
        jamey_lane_asymmetric = 1;
    }
#endif
}

void jamey_lane_barriers_init(void) { pthread_once(&barriers_once, register_barriers); }

void jamey_lane_heavy_barrier(void) {
#ifdef __NR_membarrier
    if (jamey_lane_asymmetric && syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) return;
#endif
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Publishes in a row by one thread, under the lock, before the lane is biased to it; multiplied
 * by 4 at each revocation, up to the cap (a lane two threads keep taking turns on stays locked). */
#define BIAS_AFTER 64
#define BIAS_AFTER_CAP (1u << 30)

jamey_lane *jamey_lane_create(uint64_t capacity) {
    jamey_lane_barriers_init();
    void *memory = NULL;
    if (posix_memalign(&memory, 64, sizeof(jamey_lane)) != 0) return NULL;
    jamey_lane *lane = memory;
    memset(lane, 0, sizeof *lane);
    lane->capacity = capacity > 0 ? capacity : 1;
    lane->bias_after = BIAS_AFTER;
    return lane;
}

static void free_chain(jamey_lane_block *block, jamey_lane_block *stop) {
    while (block != NULL && block != stop) {
        jamey_lane_block *next = block->next;
        free(block);
        block = next;
    }
}

void jamey_lane_destroy(jamey_lane *lane) {
    if (lane == NULL) return;
    jamey_lane_block *first = lane->consumer_block != NULL ? lane->consumer_block : lane->first_block;
    /* The chain from the consumer's block to the producer's, then the producer's. */
    free_chain(first, lane->block);
    free(lane->block);
    free(lane->spare);
    free(lane);
}

/* A block for a record of `size` bytes: the spare when it is standard and fits, else a new one.
 * Its first kind word is 0. */
static jamey_lane_block *new_block(jamey_lane *lane, uint32_t size) {
    uint64_t needed = (uint64_t)size + 8;
    if (needed <= JAMEY_LANE_BLOCK_BYTES) {
        jamey_lane_block *spare = __atomic_exchange_n(&lane->spare, NULL, __ATOMIC_ACQUIRE);
        if (spare != NULL) {
            spare->next = NULL;
            __atomic_store_n((uint32_t *)(spare->data + 4), 0, __ATOMIC_RELAXED);
            return spare;
        }
    }
    int standard = needed <= JAMEY_LANE_BLOCK_BYTES;
    uint64_t capacity = standard ? JAMEY_LANE_BLOCK_BYTES : (needed + 15) & ~(uint64_t)15;
    jamey_lane_block *block = malloc(sizeof(jamey_lane_block) + capacity);
    if (block == NULL) return NULL;
    block->next = NULL;
    block->capacity = (uint32_t)capacity;
    block->standard = (uint32_t)standard;
    block->reserved = 0;
    __atomic_store_n((uint32_t *)(block->data + 4), 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&lane->block_bytes, capacity, __ATOMIC_RELAXED);
    return block;
}

/* Revokes a bias held by another thread: no owner from now on, and its append in progress (if
 * any) finished. Called with the lock held. */
static void revoke_bias(jamey_lane *lane) {
    if (__atomic_load_n(&lane->owner, __ATOMIC_RELAXED) == 0) return;
    __atomic_store_n(&lane->owner, 0, __ATOMIC_RELAXED);
    jamey_lane_heavy_barrier();
    while (__atomic_load_n(&lane->busy, __ATOMIC_ACQUIRE) != 0) sched_yield();
    lane->bias_after = lane->bias_after >= BIAS_AFTER_CAP / 4 ? BIAS_AFTER_CAP : lane->bias_after * 4;
    lane->streak = 0;
}

void *jamey_lane_reserve_slow(jamey_lane *lane, uint32_t size, int *locked, int *status) {
    uintptr_t self = (uintptr_t)pthread_self();
    int owned = __atomic_load_n(&lane->owner, __ATOMIC_RELAXED) == self;
    if (owned) {
        /* The owner, out of room or blocks: still its own producer (busy again, checked). */
        __atomic_store_n(&lane->busy, 1, __ATOMIC_RELAXED);
        jamey_lane_light_barrier();
        owned = __atomic_load_n(&lane->owner, __ATOMIC_RELAXED) == self;
        if (!owned) __atomic_store_n(&lane->busy, 0, __ATOMIC_RELEASE);
    }
    if (!owned) {
        jamey_lock_acquire(&lane->lock);
        if (lane->closed) {
            jamey_lock_release(&lane->lock);
            *status = JAMEY_LANE_CLOSED_TO_PRODUCERS;
            return NULL;
        }
        revoke_bias(lane);
        if (lane->last_locker == self) {
            lane->streak += 1;
        } else {
            lane->last_locker = self;
            lane->streak = 1;
        }
        /* A bias pays off only while the consumer keeps busy with a stream: a publish that finds
         * the lane idle (a request at a time, a trickle) starts the count again, so its consumer
         * leaves the lane with a plain fence, not the process-wide barrier. */
        if (__atomic_load_n(&lane->state, __ATOMIC_RELAXED) == JAMEY_LANE_IDLE) lane->streak = 0;
    }
    if (lane->tail - lane->seen_head >= lane->capacity) {
        lane->seen_head = __atomic_load_n(&lane->published_head, __ATOMIC_ACQUIRE);
        if (lane->tail - lane->seen_head >= lane->capacity) goto refuse;
    }
    jamey_lane_block *block = lane->block;
    if (block == NULL) {
        block = new_block(lane, size);
        if (block == NULL) goto refuse;
        lane->offset = 0;
        lane->block = block;
        __atomic_store_n(&lane->first_block, block, __ATOMIC_RELEASE);
    } else if ((uint64_t)lane->offset + size + 8 > block->capacity) {
        jamey_lane_block *next = new_block(lane, size);
        if (next == NULL) goto refuse;
        unsigned char *marker = block->data + lane->offset;
        block->next = next;
        *(uint32_t *)marker = 8;
        __atomic_store_n((uint32_t *)(marker + 4), JAMEY_LANE_NEXT_BLOCK, __ATOMIC_RELEASE);
        lane->block = next;
        lane->offset = 0;
        block = next;
    }
    if (owned) {
        *locked = 0;
    } else {
        *locked = 1;
        if (lane->streak >= lane->bias_after) {
            /* Biased to this thread from its next publish on (it holds the lock now). The fence
             * orders the owner before every later plain publish: a consumer that reads no owner
             * after its own fence is sure no publish skipped its fence (jamey_lane_leave). */
            __atomic_store_n(&lane->owner, self, __ATOMIC_RELAXED);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            lane->streak = 0;
        }
    }
    *status = JAMEY_LANE_OK;
    return block->data + lane->offset;
refuse:
    *status = JAMEY_LANE_FULL;
    if (owned) {
        __atomic_store_n(&lane->busy, 0, __ATOMIC_RELEASE);
    } else {
        jamey_lock_release(&lane->lock);
    }
    return NULL;
}

void jamey_lane_close_producers(jamey_lane *lane) {
    jamey_lock_acquire(&lane->lock);
    revoke_bias(lane);
    lane->closed = 1;
    jamey_lock_release(&lane->lock);
}

void jamey_lane_next_block(jamey_lane *lane) {
    jamey_lane_block *done = lane->consumer_block;
    lane->consumer_block = done->next;
    lane->consumer_offset = 0;
    if (done->standard) {
        jamey_lane_block *previous = __atomic_exchange_n(&lane->spare, done, __ATOMIC_RELEASE);
        if (previous == NULL) return;
        done = previous;
    }
    lane->released_bytes += done->capacity;
    __atomic_sub_fetch(&lane->block_bytes, done->capacity, __ATOMIC_RELAXED);
    free(done);
}

/* Whether a record is published at the consumer's position, read without moving it. */
static int has_record(jamey_lane *lane) {
    jamey_lane_block *block = lane->consumer_block;
    if (block == NULL) block = __atomic_load_n(&lane->first_block, __ATOMIC_ACQUIRE);
    if (block == NULL) return 0;
    unsigned char *record = block->data + lane->consumer_offset;
    uint32_t kind = __atomic_load_n((uint32_t *)(record + 4), __ATOMIC_ACQUIRE);
    if (kind != JAMEY_LANE_NEXT_BLOCK) return kind != 0;
    return __atomic_load_n((uint32_t *)(block->next->data + 4), __ATOMIC_ACQUIRE) != 0;
}

int jamey_lane_leave(jamey_lane *lane) {
    __atomic_store_n(&lane->inspecting, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&lane->state, JAMEY_LANE_IDLE, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    /* Only a biased producer publishes without a fence: the process-wide barrier is needed
     * only when the lane has an owner (membarrier costs 1-10 us on a VM whose other threads
     * yield, a fence a few nanoseconds). */
    if (__atomic_load_n(&lane->owner, __ATOMIC_RELAXED) != 0) jamey_lane_heavy_barrier();
    int again = has_record(lane) && jamey_lane_transition(lane, JAMEY_LANE_IDLE, JAMEY_LANE_RUNNING);
    __atomic_store_n(&lane->inspecting, 0, __ATOMIC_RELEASE);
    return again;
}

int jamey_lane_claim(jamey_lane *lane, uint32_t from) {
    if (!jamey_lane_transition(lane, from, JAMEY_LANE_RUNNING)) return 0;
    while (__atomic_load_n(&lane->inspecting, __ATOMIC_ACQUIRE) != 0) sched_yield();
    return 1;
}
