// The target is its header (inline functions that call the Swift runtime's
// entry points it declares), and the one variable those functions share.
#include "CGoConcurrencyRuntime.h"

_Atomic(const void *) goconcurrency_goroutine_binding_key = 0;
