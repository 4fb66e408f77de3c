/*
 * jamey_crash.h — kernel-private: who was running when the process crashed.
 *
 * Not part of the plugin ABI. The kernel marks each thread while it runs plugin code (a hook or a
 * bus handler) and registers the executable ranges of every plugin library. A fatal signal then
 * writes one line naming the plugin and what it was running, and the process exits with
 * JAMEY_CRASH_EXIT_STATUS. A fatal signal outside plugin code is passed on unchanged (to the Swift
 * runtime's backtracer or the default action).
 */
#ifndef JAMEY_CRASH_H
#define JAMEY_CRASH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The exit status of a process ended by a plugin's crash. */
#define JAMEY_CRASH_EXIT_STATUS 70

/** What the calling thread was running before jamey_crash_enter; give it back to jamey_crash_leave. */
typedef struct jamey_crash_frame {
    const char *plugin;
    const char *what;
} jamey_crash_frame;

/** Marks the calling thread as running `what` ("its start hook") of `plugin`. Both strings must
 *  live for the life of the process. Async-signal-safe to read; costs two thread-local stores. */
jamey_crash_frame jamey_crash_enter(const char *plugin, const char *what);

/** Restores the mark jamey_crash_enter returned. */
void jamey_crash_leave(jamey_crash_frame previous);

/** Records that addresses [start, end) hold code of `plugin` (a string living for the life of the
 *  process). At most 512 ranges; returns 0, or -1 when full. */
int jamey_crash_add_range(const char *plugin, uintptr_t start, uintptr_t end);

/** Records the executable segments of the loaded library holding `symbol` as code of `plugin`.
 *  Returns the number of ranges added (0 when the library was not found). */
int jamey_crash_add_library(const char *plugin, const void *symbol);

/** Installs the handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and SIGTRAP (once; later
 *  calls do nothing) and gives the calling thread an alternate signal stack. `prefix` starts the
 *  line ("jamey"). Returns 0. */
int jamey_crash_install(const char *prefix);

/** The plugin the calling thread is marked with, or NULL (for tests). */
const char *jamey_crash_current_plugin(void);

#ifdef __cplusplus
}
#endif
#endif
