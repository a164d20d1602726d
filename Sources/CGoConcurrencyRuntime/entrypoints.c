// The inline functions of this target are in its header; here is the one
// definition it needs: the calling thread's processor.
#include "CGoConcurrencyRuntime.h"

__thread void *goconcurrency_processor_slot __attribute__((tls_model("initial-exec"))) = 0;
