#define _GNU_SOURCE
#include "jamey_crash.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static __thread const char *current_plugin;
static __thread const char *current_what;
static __thread int has_altstack;

#define MAX_RANGES 512
struct range {
    uintptr_t start, end;
    const char *plugin;
};
static struct range ranges[MAX_RANGES];
static atomic_int range_count;
static pthread_mutex_t range_lock = PTHREAD_MUTEX_INITIALIZER;

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
#define FATAL_COUNT ((int)(sizeof fatal_signals / sizeof fatal_signals[0]))
static struct sigaction previous[FATAL_COUNT];
static atomic_int installed;
static const char *line_prefix = "jamey";
static pthread_key_t altstack_key;

static void free_altstack(void *memory) {
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    free(memory);
}

/* Gives the calling thread an alternate signal stack (so a stack overflow can still be reported),
 * unless it has one. Freed when the thread exits. */
static void ensure_altstack(void) {
    if (has_altstack) return;
    has_altstack = 1;
    stack_t current;
    if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
    size_t size = 64 * 1024;
    void *memory = malloc(size);
    if (memory == NULL) return;
    stack_t stack = {.ss_sp = memory, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&stack, NULL) != 0) {
        free(memory);
        return;
    }
    pthread_setspecific(altstack_key, memory);
}

jamey_crash_frame jamey_crash_enter(const char *plugin, const char *what) {
    jamey_crash_frame previous_frame = {current_plugin, current_what};
    if (!has_altstack && atomic_load_explicit(&installed, memory_order_relaxed)) ensure_altstack();
    current_plugin = plugin;
    current_what = what;
    return previous_frame;
}

void jamey_crash_leave(jamey_crash_frame previous_frame) {
    current_plugin = previous_frame.plugin;
    current_what = previous_frame.what;
}

const char *jamey_crash_current_plugin(void) { return current_plugin; }

int jamey_crash_add_range(const char *plugin, uintptr_t start, uintptr_t end) {
    pthread_mutex_lock(&range_lock);
    int n = atomic_load_explicit(&range_count, memory_order_relaxed);
    if (n >= MAX_RANGES) {
        pthread_mutex_unlock(&range_lock);
        return -1;
    }
    ranges[n].start = start;
    ranges[n].end = end;
    ranges[n].plugin = plugin;
    atomic_store_explicit(&range_count, n + 1, memory_order_release);
    pthread_mutex_unlock(&range_lock);
    return 0;
}

struct library_search {
    uintptr_t address;
    const char *plugin;
    int added;
};

/* Adds the executable segments of the object one of whose PT_LOAD segments holds the address. */
static int add_segments(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct library_search *search = data;
    int holds = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && search->address >= start && search->address < start + ph->p_memsz) holds = 1;
    }
    if (!holds) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (jamey_crash_add_range(search->plugin, start, start + ph->p_memsz) == 0) search->added++;
    }
    return 1;
}

int jamey_crash_add_library(const char *plugin, const void *symbol) {
    struct library_search search = {(uintptr_t)symbol, plugin, 0};
    dl_iterate_phdr(add_segments, &search);
    return search.added;
}

/* ---- the signal handler: async-signal-safe only ---- */

static size_t put(char *buffer, size_t at, size_t cap, const char *text) {
    while (*text && at + 1 < cap) buffer[at++] = *text++;
    return at;
}

static size_t put_hex(char *buffer, size_t at, size_t cap, uintptr_t value) {
    char digits[2 + 2 * sizeof value + 1];
    int n = 0;
    digits[n++] = '0';
    digits[n++] = 'x';
    int started = 0;
    for (int shift = (int)(8 * sizeof value) - 4; shift >= 0; shift -= 4) {
        int d = (int)((value >> shift) & 0xF);
        if (d || started || shift == 0) {
            digits[n++] = "0123456789abcdef"[d];
            started = 1;
        }
    }
    digits[n] = 0;
    return put(buffer, at, cap, digits);
}

static size_t put_int(char *buffer, size_t at, size_t cap, int value) {
    char digits[12];
    int n = 0;
    if (value == 0) digits[n++] = '0';
    while (value > 0 && n < 11) {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    }
    while (n > 0 && at + 1 < cap) buffer[at++] = digits[--n];
    return at;
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    default: return "a fatal signal";
    }
}

static uintptr_t program_counter(void *context) {
    ucontext_t *uc = context;
    if (uc == NULL) return 0;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    return 0;
#endif
}

static const char *plugin_at(uintptr_t pc) {
    int n = atomic_load_explicit(&range_count, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        if (pc >= ranges[i].start && pc < ranges[i].end) return ranges[i].plugin;
    }
    return NULL;
}

static void pass_on(int sig, siginfo_t *info) {
    for (int i = 0; i < FATAL_COUNT; i++) {
        if (fatal_signals[i] == sig) sigaction(sig, &previous[i], NULL);
    }
    /* A fault re-executes and reaches the previous handler; a sent signal must be raised again. */
    if (info == NULL || info->si_code <= 0 || sig == SIGABRT) raise(sig);
}

static void on_fatal_signal(int sig, siginfo_t *info, void *context) {
    uintptr_t pc = program_counter(context);
    const char *marked = current_plugin;
    const char *owner = plugin_at(pc);
    const char *plugin = owner ? owner : marked;
    if (plugin == NULL) {
        pass_on(sig, info);
        return;
    }
    const char *what;
    if (marked != NULL && (owner == NULL || strcmp(owner, marked) == 0)) {
        what = current_what ? current_what : "its code";
    } else if (marked != NULL) {
        what = "code called from another plugin";
    } else {
        what = "code on a thread of its own";
    }
    char line[512];
    size_t at = 0;
    at = put(line, at, sizeof line, line_prefix);
    at = put(line, at, sizeof line, ": fatal: plugin '");
    at = put(line, at, sizeof line, plugin);
    at = put(line, at, sizeof line, "' crashed with ");
    at = put(line, at, sizeof line, signal_name(sig));
    if (sig == SIGSEGV || sig == SIGBUS) {
        at = put(line, at, sizeof line, " at address ");
        at = put_hex(line, at, sizeof line, info ? (uintptr_t)info->si_addr : 0);
    }
    at = put(line, at, sizeof line, " while running ");
    at = put(line, at, sizeof line, what);
    if (marked != NULL && owner != NULL && strcmp(owner, marked) != 0) {
        at = put(line, at, sizeof line, " (on behalf of '");
        at = put(line, at, sizeof line, marked);
        at = put(line, at, sizeof line, "')");
    }
    at = put(line, at, sizeof line, "; exiting with status ");
    at = put_int(line, at, sizeof line, JAMEY_CRASH_EXIT_STATUS);
    at = put(line, at, sizeof line, "\n");
    ssize_t ignored = write(STDERR_FILENO, line, at);
    (void)ignored;
    _exit(JAMEY_CRASH_EXIT_STATUS);
}

int jamey_crash_install(const char *prefix) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&installed, &expected, 1)) return 0;
    if (prefix != NULL) line_prefix = prefix;
    pthread_key_create(&altstack_key, free_altstack);
    ensure_altstack();
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fatal_signal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < FATAL_COUNT; i++) sigaction(fatal_signals[i], &action, &previous[i]);
    return 0;
}
