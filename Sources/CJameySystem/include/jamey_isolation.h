/*
 * jamey_isolation.h — kernel-private: start and fence the child process of an isolated plugin
 * (`plugins.<name>.isolation: process`). The kernel calls jamey_spawn_runner; the runner
 * (jamey-plugin-runner) calls jamey_child_guard and jamey_child_limits first thing.
 */
#ifndef JAMEY_ISOLATION_H
#define JAMEY_ISOLATION_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The descriptor number the child finds its end of the socket pair at. */
#define JAMEY_RUNNER_SOCKET_FD 3

/** The descriptor number the child finds the shared memory of its two rings at (jamey_ring.h). */
#define JAMEY_RUNNER_RING_FD 4

/** Starts `path` with `argv` and `envp` (NULL-terminated) through posix_spawn: `socket_fd` becomes
 *  descriptor 3 in the child, `ring_fd` (above 4) descriptor 4, every other descriptor from 5 up is closed, all signals are reset to
 *  their default action and none is blocked. Returns the child's pid, or -errno. */
pid_t jamey_spawn_runner(const char *path, char *const argv[], char *const envp[], int socket_fd, int ring_fd);

/** In the child: asks for SIGKILL when the parent dies (PR_SET_PDEATHSIG), then checks that the
 *  parent is still `expected_parent` (it may have died before the request). Returns 0, or -1
 *  when the parent is gone (the child must exit). */
int jamey_child_guard(pid_t expected_parent);

/** In the child: sets RLIMIT_AS (MiB), RLIMIT_CPU (seconds) and RLIMIT_NOFILE; 0 leaves a limit
 *  unchanged. With a memory limit, malloc keeps to one arena. Returns 0, or -errno of the first
 *  setrlimit that failed. */
int jamey_child_limits(uint64_t memory_mb, uint64_t cpu_seconds, uint64_t open_files);

/** Creates a connected AF_UNIX SOCK_STREAM pair with close-on-exec set; returns 0 or -errno. */
int jamey_socket_pair(int fds[2]);

#ifdef __cplusplus
}
#endif
#endif
