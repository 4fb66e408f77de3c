/* Lets SwiftPM expose jamey/memory.h to Swift (a C target needs one source file). */
#include "jamey/memory.h"
