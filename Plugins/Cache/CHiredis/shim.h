/* hiredis (Debian: libhiredis-dev), the Redis client the cache plugin's L2 uses. */
#ifndef JAMEY_CHIREDIS_SHIM_H
#define JAMEY_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
