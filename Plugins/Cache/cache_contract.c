/* Lets SwiftPM expose jamey/cache.h to Swift (a C target needs one source file). */
#include "jamey/cache.h"
