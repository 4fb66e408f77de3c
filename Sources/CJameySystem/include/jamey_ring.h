/*
 * jamey_ring.h — kernel-private: a byte ring in memory shared between the kernel and an isolated
 * plugin's runner (one writer side, one reader side; either side may have several threads when
 * they take turns under their own lock). The writer copies bytes in and publishes them; the
 * reader copies them out. Each side spins briefly, then sleeps on a futex in the shared page;
 * the other side makes the wake-up call only when a sleeper says it sleeps. A closed ring (the
 * peer died, or is going) wakes both sides for good.
 */
#ifndef JAMEY_RING_H
#define JAMEY_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The shared header (defined in ring.c), followed by the data. */
typedef struct jamey_ring jamey_ring;

/** The bytes a ring of `capacity` data bytes takes. */
size_t jamey_ring_size(uint32_t capacity);

/** Initialises a ring over `memory` (jamey_ring_size(capacity) bytes, zeroed or not). */
void jamey_ring_init(jamey_ring *ring, uint32_t capacity);

/** Copies up to `count` bytes in (as many as there is room for) and wakes a sleeping reader.
 *  Returns the number copied (0 when the ring is full). One writer at a time. */
size_t jamey_ring_write_some(jamey_ring *ring, const void *bytes, size_t count);

/** Copies up to `count` bytes out and wakes a sleeping writer. Returns the number copied (0 when
 *  empty). One reader at a time. */
size_t jamey_ring_read_some(jamey_ring *ring, void *bytes, size_t count);

/** Waits until there are bytes to read or the ring is closed: spins (yielding) for `spin_ns`,
 *  then sleeps. Returns 1 when there are bytes, 0 when closed and empty. */
int jamey_ring_wait_data(jamey_ring *ring, uint64_t spin_ns);

/** Waits until there is room to write or the ring is closed. Returns 1 when there is room, 0 when
 *  closed. */
int jamey_ring_wait_room(jamey_ring *ring, uint64_t spin_ns);

/** The bytes a writer could copy in now. */
size_t jamey_ring_room(jamey_ring *ring);

/** 1 when there are bytes not read yet. */
int jamey_ring_has_data(jamey_ring *ring);

/** A reader on the writer's side of the processor says it is reading the ring without sleeping
 *  (a requester waiting for its reply): until it leaves, the writer makes no wake-up call for the
 *  sleeping reader; on leaving, bytes still unread wake it. Any thread of the reading side. */
void jamey_ring_reader_enter(jamey_ring *ring);
void jamey_ring_reader_leave(jamey_ring *ring);

/** Closes the ring and wakes both sides. */
void jamey_ring_close(jamey_ring *ring);

/** 1 once closed. */
int jamey_ring_is_closed(const jamey_ring *ring);

/** Creates a shared memory file (memfd) of `size` bytes, close-on-exec, on a descriptor above the
 *  runner's fixed slots (3 and 4). Returns the descriptor, or -errno. */
int jamey_shared_memory(size_t size);

/** Maps `size` bytes of `fd` shared, read-write. Returns NULL on failure. */
void *jamey_map_shared(int fd, size_t size);

/** Unmaps what jamey_map_shared mapped. */
void jamey_unmap_shared(void *memory, size_t size);

#ifdef __cplusplus
}
#endif

#endif
