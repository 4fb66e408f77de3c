#define _GNU_SOURCE
#include "jamey_bench_threads.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESPONDER_SPIN_NS 50000ull /* WorkerPool.spinNanoseconds */
#define REQUESTER_SPIN_NS 20000ull /* ReplyWaiter.spinNanoseconds */

struct jamey_pingpong {
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t request_ready;
    pthread_cond_t reply_ready;
    uint64_t request_seq;      /* written by the requester */
    uint64_t reply_seq;        /* written by the responder */
    int responder_sleeping;    /* under mutex, read with seq_cst by the requester */
    int requester_sleeping;
    int stopping;
    size_t len;
    unsigned char request[JAMEY_PINGPONG_MAX_PAYLOAD];
    unsigned char reply[JAMEY_PINGPONG_MAX_PAYLOAD];
};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Waits until *word != seen, spinning (yielding) for spin_ns, then sleeping on cond. */
static uint64_t wait_change(jamey_pingpong *pp, uint64_t *word, uint64_t seen, uint64_t spin_ns, int *sleeping,
                            pthread_cond_t *cond) {
    uint64_t value = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (value != seen) return value;
    uint64_t start = now_ns();
    while (now_ns() - start < spin_ns) {
        sched_yield();
        value = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (value != seen) return value;
    }
    pthread_mutex_lock(&pp->mutex);
    __atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
    while ((value = __atomic_load_n(word, __ATOMIC_SEQ_CST)) == seen && !__atomic_load_n(&pp->stopping, __ATOMIC_SEQ_CST)) {
        pthread_cond_wait(cond, &pp->mutex);
    }
    __atomic_store_n(sleeping, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&pp->mutex);
    return value;
}

/* Publishes *word = value and wakes the other side if it sleeps. */
static void post(jamey_pingpong *pp, uint64_t *word, uint64_t value, int *sleeping, pthread_cond_t *cond) {
    __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(sleeping, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&pp->mutex);
        pthread_cond_signal(cond);
        pthread_mutex_unlock(&pp->mutex);
    }
}

static void *responder(void *arg) {
    jamey_pingpong *pp = arg;
    jamey_bench_avoid_measuring_cpu();
    uint64_t seen = 0;
    for (;;) {
        uint64_t seq = wait_change(pp, &pp->request_seq, seen, RESPONDER_SPIN_NS, &pp->responder_sleeping,
                                   &pp->request_ready);
        if (__atomic_load_n(&pp->stopping, __ATOMIC_SEQ_CST)) return NULL;
        seen = seq;
        memcpy(pp->reply, pp->request, pp->len);
        post(pp, &pp->reply_seq, seq, &pp->requester_sleeping, &pp->reply_ready);
    }
}

jamey_pingpong *jamey_pingpong_start(void) {
    jamey_pingpong *pp = calloc(1, sizeof(*pp));
    if (pp == NULL) return NULL;
    pthread_mutex_init(&pp->mutex, NULL);
    pthread_cond_init(&pp->request_ready, NULL);
    pthread_cond_init(&pp->reply_ready, NULL);
    if (pthread_create(&pp->thread, NULL, responder, pp) != 0) {
        free(pp);
        return NULL;
    }
    return pp;
}

int jamey_pingpong_roundtrip(jamey_pingpong *pp, const void *request, void *reply, size_t len) {
    if (pp == NULL || len > JAMEY_PINGPONG_MAX_PAYLOAD || (len > 0 && (request == NULL || reply == NULL))) return -1;
    memcpy(pp->request, request, len);
    pp->len = len;
    uint64_t seq = pp->request_seq + 1;
    post(pp, &pp->request_seq, seq, &pp->responder_sleeping, &pp->request_ready);
    uint64_t seen = seq - 1;
    while (wait_change(pp, &pp->reply_seq, seen, REQUESTER_SPIN_NS, &pp->requester_sleeping, &pp->reply_ready) != seq) {
    }
    memcpy(reply, pp->reply, len);
    return 0;
}

void jamey_pingpong_stop(jamey_pingpong *pp) {
    if (pp == NULL) return;
    pthread_mutex_lock(&pp->mutex);
    __atomic_store_n(&pp->stopping, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&pp->request_ready);
    pthread_mutex_unlock(&pp->mutex);
    pthread_join(pp->thread, NULL);
    pthread_cond_destroy(&pp->request_ready);
    pthread_cond_destroy(&pp->reply_ready);
    pthread_mutex_destroy(&pp->mutex);
    free(pp);
}

/* ---- placement ------------------------------------------------------------------------------- */

enum placement { EVERY_CPU, MEASURING_CPU, OTHER_CPUS };

static int placement_mask(enum placement where, cpu_set_t *set) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online > CPU_SETSIZE) online = CPU_SETSIZE;
    CPU_ZERO(set);
    if (online < 2) where = EVERY_CPU;
    for (long cpu = 0; cpu < (online < 1 ? 1 : online); cpu++) {
        int last = cpu == online - 1;
        if (where == EVERY_CPU || (where == MEASURING_CPU && last) || (where == OTHER_CPUS && !last)) CPU_SET(cpu, set);
    }
    return 0;
}

static int place_thread(pid_t tid, enum placement where) {
    cpu_set_t set;
    placement_mask(where, &set);
    return sched_setaffinity(tid, sizeof(set), &set) == 0 ? 0 : errno;
}

int jamey_bench_pin_current_thread(void) { return place_thread(0, MEASURING_CPU); }

int jamey_bench_unpin_current_thread(void) { return place_thread(0, EVERY_CPU); }

int jamey_bench_avoid_measuring_cpu(void) { return place_thread(0, OTHER_CPUS); }

int jamey_bench_pin_task_thread(int pinned) {
    int current = (int)gettid();
    if (current == pinned) return current;
    if (pinned > 0) place_thread((pid_t)pinned, EVERY_CPU);
    place_thread(0, MEASURING_CPU);
    return current;
}

int jamey_bench_unpin_thread(int tid) { return place_thread((pid_t)tid, EVERY_CPU); }

int jamey_bench_threads_avoid_measuring_cpu(const char *prefix) {
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL) return -1;
    int moved = 0;
    size_t prefix_len = strlen(prefix);
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char path[64], name[32] = {0};
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", entry->d_name);
        FILE *comm = fopen(path, "r");
        if (comm == NULL) continue;
        if (fgets(name, sizeof(name), comm) != NULL && strncmp(name, prefix, prefix_len) == 0 &&
            place_thread((pid_t)atoi(entry->d_name), OTHER_CPUS) == 0) {
            moved++;
        }
        fclose(comm);
    }
    closedir(tasks);
    return moved;
}

/* ---- bare SPSC ring ------------------------------------------------------------------------ */

#define SPSC_SLOTS 4096u

struct jamey_spsc {
    _Alignas(64) uint64_t head; /* written by the producer */
    _Alignas(64) uint64_t tail; /* written by the consumer */
    _Alignas(64) int stop;
    _Alignas(64) unsigned char sink[JAMEY_SPSC_SLOT];
    pthread_t thread;
    _Alignas(64) unsigned char slots[SPSC_SLOTS][JAMEY_SPSC_SLOT];
};

static void *spsc_consumer(void *arg) {
    jamey_spsc *ring = arg;
    jamey_bench_avoid_measuring_cpu();
    uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_RELAXED);
    while (!__atomic_load_n(&ring->stop, __ATOMIC_ACQUIRE)) {
        uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
        if (head == tail) {
            sched_yield();
            continue;
        }
        /* A batch: everything published so far, then one release of the tail. */
        while (tail != head) {
            memcpy(ring->sink, ring->slots[tail % SPSC_SLOTS], JAMEY_SPSC_SLOT);
            tail++;
        }
        __atomic_store_n(&ring->tail, tail, __ATOMIC_RELEASE);
    }
    return NULL;
}

jamey_spsc *jamey_spsc_start(void) {
    jamey_spsc *ring = aligned_alloc(64, sizeof(jamey_spsc));
    if (ring == NULL) return NULL;
    memset(ring, 0, sizeof(*ring));
    if (pthread_create(&ring->thread, NULL, spsc_consumer, ring) != 0) {
        free(ring);
        return NULL;
    }
    return ring;
}

void jamey_spsc_burst(jamey_spsc *ring, const void *message, uint64_t n) {
    uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
    uint64_t end = head + n;
    uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    while (head != end) {
        while (head - tail >= SPSC_SLOTS) {
            tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
            if (head - tail >= SPSC_SLOTS) sched_yield();
        }
        memcpy(ring->slots[head % SPSC_SLOTS], message, JAMEY_SPSC_SLOT);
        head++;
        /* Publish in small batches, as a producer that does not want to bounce the line would. */
        if ((head & 15u) == 0 || head == end) __atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
    }
    while (__atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) != end) sched_yield();
}

void jamey_spsc_stop(jamey_spsc *ring) {
    __atomic_store_n(&ring->stop, 1, __ATOMIC_RELEASE);
    pthread_join(ring->thread, NULL);
    free(ring);
}
