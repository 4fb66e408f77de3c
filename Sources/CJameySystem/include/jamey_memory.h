/*
 * jamey_memory.h — kernel-private: read memory a plugin points at without trusting the pointer.
 */
#ifndef JAMEY_MEMORY_H
#define JAMEY_MEMORY_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Copies up to `count` bytes at `address` into `out` through process_vm_readv on this process,
 *  so an unmapped address is an error (-1, errno EFAULT) instead of SIGSEGV. Returns the number
 *  of bytes copied, which is less than `count` when readable memory ends first. */
ssize_t jamey_read_memory(const void *address, void *out, size_t count);

/** Returns free heap memory to the system (glibc's malloc_trim; a no-op elsewhere). The bus calls
 *  it after a large mailbox has drained. */
void jamey_release_free_memory(void);

#ifdef __cplusplus
}
#endif
#endif
