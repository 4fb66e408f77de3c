#define _GNU_SOURCE
#include "jamey_memory.h"

#include <sys/uio.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <unistd.h>

ssize_t jamey_read_memory(const void *address, void *out, size_t count) {
    struct iovec local = {out, count};
    struct iovec remote = {(void *)address, count};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
}

void jamey_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
