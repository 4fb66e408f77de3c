#define _GNU_SOURCE
#include "jamey_ring.h"
#include "jamey_isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/** The shared header, followed by `capacity` bytes of data. Positions only grow. */
struct jamey_ring {
    _Alignas(64) uint64_t head;      /* read up to here (reader's) */
    uint32_t reader_sleeping;        /* futex: 1 while the reader sleeps for data */
    uint32_t readers_active;         /* readers reading without sleeping: no wake-up needed */
    _Alignas(64) uint64_t tail;      /* written up to here (writer's) */
    uint32_t writer_sleeping;        /* futex: 1 while the writer sleeps for room */
    _Alignas(64) uint32_t closed;    /* 1 once the ring is given up */
    uint32_t capacity;               /* bytes of data after the header (a power of two) */
    _Alignas(64) unsigned char data[];
};

size_t jamey_ring_size(uint32_t capacity) { return sizeof(jamey_ring) + capacity; }

void jamey_ring_init(jamey_ring *ring, uint32_t capacity) {
    memset(ring, 0, sizeof(jamey_ring));
    ring->capacity = capacity;
}

/* Shared between processes: no FUTEX_PRIVATE_FLAG. */
static void futex_wait(uint32_t *word, uint32_t expected, long timeout_ns) {
    struct timespec timeout = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};
    syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout, NULL, 0);
}

static void futex_wake(uint32_t *word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0); }

/* Wakes the other side if it said it sleeps. The position was published with a sequentially
 * consistent store before this load, and the sleeper stores its flag the same way before it
 * checks the position again: one of the two sees the other. */
static void wake_if_sleeping(uint32_t *flag) {
    if (__atomic_load_n(flag, __ATOMIC_SEQ_CST) != 0) {
        __atomic_store_n(flag, 0, __ATOMIC_SEQ_CST);
        futex_wake(flag);
    }
}

size_t jamey_ring_write_some(jamey_ring *ring, const void *bytes, size_t count) {
    uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_RELAXED);
    uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
    uint64_t room = ring->capacity - (tail - head);
    size_t n = count < room ? count : (size_t)room;
    if (n == 0) return 0;
    uint32_t mask = ring->capacity - 1;
    size_t at = (size_t)(tail & mask);
    size_t first = ring->capacity - at < n ? ring->capacity - at : n;
    memcpy(ring->data + at, bytes, first);
    if (n > first) memcpy(ring->data, (const unsigned char *)bytes + first, n - first);
    __atomic_store_n(&ring->tail, tail + n, __ATOMIC_SEQ_CST);
    /* A reader spinning on the ring takes the bytes: the sleeping one is left asleep (see
     * jamey_ring_reader_leave for who wakes it when bytes are left over). */
    if (__atomic_load_n(&ring->readers_active, __ATOMIC_SEQ_CST) == 0) wake_if_sleeping(&ring->reader_sleeping);
    return n;
}

size_t jamey_ring_read_some(jamey_ring *ring, void *bytes, size_t count) {
    uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
    uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
    uint64_t used = tail - head;
    if (used > ring->capacity) used = 0; /* a broken peer: read nothing */
    size_t n = count < used ? count : (size_t)used;
    if (n == 0) return 0;
    uint32_t mask = ring->capacity - 1;
    size_t at = (size_t)(head & mask);
    size_t first = ring->capacity - at < n ? ring->capacity - at : n;
    memcpy(bytes, ring->data + at, first);
    if (n > first) memcpy((unsigned char *)bytes + first, ring->data, n - first);
    __atomic_store_n(&ring->head, head + n, __ATOMIC_SEQ_CST);
    wake_if_sleeping(&ring->writer_sleeping);
    return n;
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int has_data(jamey_ring *ring) {
    return __atomic_load_n(&ring->tail, __ATOMIC_SEQ_CST) != __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
}

int jamey_ring_has_data(jamey_ring *ring) { return has_data(ring); }

size_t jamey_ring_room(jamey_ring *ring) {
    return (size_t)(ring->capacity - (__atomic_load_n(&ring->tail, __ATOMIC_RELAXED) -
                                      __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE)));
}

void jamey_ring_reader_enter(jamey_ring *ring) { __atomic_add_fetch(&ring->readers_active, 1, __ATOMIC_SEQ_CST); }

/* The writer stores its position, then loads readers_active; this decrements readers_active,
 * then loads the position: one of the two sees the other, so bytes written while a reader was
 * active are either seen here or woken for by the writer. */
void jamey_ring_reader_leave(jamey_ring *ring) {
    __atomic_sub_fetch(&ring->readers_active, 1, __ATOMIC_SEQ_CST);
    if (has_data(ring)) wake_if_sleeping(&ring->reader_sleeping);
}

static int has_room(jamey_ring *ring) {
    return __atomic_load_n(&ring->tail, __ATOMIC_RELAXED) - __atomic_load_n(&ring->head, __ATOMIC_SEQ_CST) <
           ring->capacity;
}

/* Spins, then sleeps on `flag` until `ready` or closed. */
static int wait_for(jamey_ring *ring, int (*ready)(jamey_ring *), uint32_t *flag, uint64_t spin_ns) {
    if (ready(ring)) return 1;
    uint64_t start = now_ns();
    unsigned spins = 0;
    while (1) {
        if (ready(ring)) return 1;
        if (__atomic_load_n(&ring->closed, __ATOMIC_ACQUIRE)) return 0;
        if (now_ns() - start >= spin_ns) break;
        if (++spins % 16 == 0) sched_yield();
    }
    while (1) {
        __atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
        if (ready(ring)) {
            __atomic_store_n(flag, 0, __ATOMIC_RELAXED);
            return 1;
        }
        if (__atomic_load_n(&ring->closed, __ATOMIC_SEQ_CST)) {
            __atomic_store_n(flag, 0, __ATOMIC_RELAXED);
            return ready(ring);
        }
        /* A bounded sleep: a wake-up lost to a peer that died between its store and its wake
         * costs at most this long (a closed ring wakes every sleeper anyway). */
        futex_wait(flag, 1, 200000000L);
        if (ready(ring)) {
            __atomic_store_n(flag, 0, __ATOMIC_RELAXED);
            return 1;
        }
    }
}

int jamey_ring_wait_data(jamey_ring *ring, uint64_t spin_ns) {
    return wait_for(ring, has_data, &ring->reader_sleeping, spin_ns);
}

int jamey_ring_wait_room(jamey_ring *ring, uint64_t spin_ns) {
    return wait_for(ring, has_room, &ring->writer_sleeping, spin_ns);
}

void jamey_ring_close(jamey_ring *ring) {
    __atomic_store_n(&ring->closed, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ring->reader_sleeping, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ring->writer_sleeping, 0, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &ring->reader_sleeping, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
    syscall(SYS_futex, &ring->writer_sleeping, FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0);
}

int jamey_ring_is_closed(const jamey_ring *ring) { return (int)__atomic_load_n(&ring->closed, __ATOMIC_ACQUIRE); }

int jamey_shared_memory(size_t size) {
    int fd = memfd_create("jamey-ring", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    if (ftruncate(fd, (off_t)size) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (fd <= JAMEY_RUNNER_RING_FD) {
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, JAMEY_RUNNER_RING_FD + 1);
        int e = errno;
        close(fd);
        if (moved < 0) return -e;
        fd = moved;
    }
    return fd;
}

void *jamey_map_shared(int fd, size_t size) {
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return memory == MAP_FAILED ? NULL : memory;
}

void jamey_unmap_shared(void *memory, size_t size) { munmap(memory, size); }
