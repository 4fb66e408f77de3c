/* Lets SwiftPM expose hello_greeter.h to Swift (a C target needs one source file). */
#include "hello_greeter.h"
