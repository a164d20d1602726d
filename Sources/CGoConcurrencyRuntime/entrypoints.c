// Everything of this target is in its header (inline functions that call the
// Swift runtime's entry points it declares); SwiftPM wants a source file.
#include "CGoConcurrencyRuntime.h"
