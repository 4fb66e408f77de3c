// CJameyABI carries only the header; SwiftPM needs one C file per C target.
#include "jamey/plugin.h"
