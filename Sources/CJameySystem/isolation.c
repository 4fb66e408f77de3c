#define _GNU_SOURCE
#include "jamey_isolation.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

pid_t jamey_spawn_runner(const char *path, char *const argv[], char *const envp[], int socket_fd, int ring_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return -rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return -rc;
    }
    /* dup2 onto 3 clears close-on-exec; when the descriptor already is 3 it must be cleared by
     * hand, which posix_spawn cannot do, so the kernel never passes 3 (see jamey_socket_pair). */
    rc = posix_spawn_file_actions_adddup2(&actions, socket_fd, JAMEY_RUNNER_SOCKET_FD);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, ring_fd, JAMEY_RUNNER_RING_FD);
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, JAMEY_RUNNER_RING_FD + 1);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &none);
    if (rc == 0) rc = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    if (rc == 0) rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return rc == 0 ? pid : -rc;
}

int jamey_child_guard(pid_t expected_parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -1;
    return getppid() == expected_parent ? 0 : -1;
}

static int set_limit(int resource, rlim_t value) {
    if (value == 0) return 0;
    struct rlimit limit = {value, value};
    struct rlimit current;
    if (getrlimit(resource, &current) == 0 && current.rlim_max != RLIM_INFINITY && current.rlim_max < value) {
        limit.rlim_cur = limit.rlim_max = current.rlim_max;
    }
    return setrlimit(resource, &limit) == 0 ? 0 : -errno;
}

int jamey_child_limits(uint64_t memory_mb, uint64_t cpu_seconds, uint64_t open_files) {
    /* Under an address-space limit, glibc's per-thread arenas (64 MiB of reserve each) would use
     * it up before the plugin does: keep to one arena. */
    if (memory_mb > 0) mallopt(M_ARENA_MAX, 1);
    int rc = set_limit(RLIMIT_AS, (rlim_t)memory_mb * 1024 * 1024);
    if (rc == 0) rc = set_limit(RLIMIT_CPU, (rlim_t)cpu_seconds);
    if (rc == 0) rc = set_limit(RLIMIT_NOFILE, (rlim_t)open_files);
    return rc;
}

int jamey_socket_pair(int fds[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return -errno;
    /* Keep both ends off descriptor 3, the child's fixed slot (see jamey_spawn_runner). */
    for (int i = 0; i < 2; i++) {
        if (fds[i] == JAMEY_RUNNER_SOCKET_FD) {
            int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, JAMEY_RUNNER_SOCKET_FD + 1);
            if (moved < 0) return -errno;
            close(fds[i]);
            fds[i] = moved;
        }
    }
    int size = 1 << 20;
    setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    return 0;
}
