// Everything of this target but its thread-local slots is in its header
// (inline functions that call the Swift runtime's entry points it declares,
// and those of the slots); here are the slots' definitions.
#include "CGoConcurrencyRuntime.h"

__thread void *goconcurrency_processor_slot __attribute__((tls_model("initial-exec"))) = 0;
__thread void *goconcurrency_spare_waiter = 0;
