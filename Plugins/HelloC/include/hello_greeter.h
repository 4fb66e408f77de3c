/*
 * hello_greeter.h — the "hello.greeter" service contract (version 1.x) that the HelloC example
 * plugin registers and the HelloSwift example calls. A service contract is just a C struct of
 * function pointers starting with struct_size, appended to only (like jamey_host_api), with a
 * context pointer so each instance of the provider keeps its own state.
 */
#ifndef HELLO_GREETER_H
#define HELLO_GREETER_H

#include <stddef.h>
#include <stdint.h>

#define HELLO_GREETER_SERVICE "hello.greeter"
#define HELLO_GREETER_VERSION "1.0.0"

typedef struct hello_greeter_v1 {
    uint32_t struct_size;
    /** Passed back as the first argument of every function: the providing instance. */
    void *context;
    /** Adds two integers, saturating at INT64_MIN and INT64_MAX. Thread-safe, never blocks. */
    int64_t (*add)(void *context, int64_t a, int64_t b);
    /** Writes "<greeting>, <name>!" into out (NUL-terminated, truncated to cap at a UTF-8
     *  character boundary). Returns the length it needed, without the NUL. Thread-safe, never
     *  blocks. */
    size_t (*greet)(void *context, const char *name, char *out, size_t cap);
    /** How many greetings this instance has produced (requests and service calls). */
    uint64_t (*count)(void *context);
} hello_greeter_v1;

#endif
