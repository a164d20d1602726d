// Everything of this target but one thread-local slot is in its header
// (inline functions that call the Swift runtime's entry points it declares,
// and those of the slot).
#include "CGoConcurrencyRuntime.h"

__thread void *goconcurrency_spare_waiter = 0;
