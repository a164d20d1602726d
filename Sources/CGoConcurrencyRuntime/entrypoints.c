// Everything of this target but its variables is in its header (inline
// functions that call the Swift runtime's entry points it declares, and
// those of the variables); here are the variables' definitions: the
// goroutine binding's published key and two thread-local slots.
#include "CGoConcurrencyRuntime.h"

_Atomic(const void *) goconcurrency_goroutine_binding_key = 0;
__thread void *goconcurrency_processor_slot __attribute__((tls_model("initial-exec"))) = 0;
__thread void *goconcurrency_spare_waiter = 0;
