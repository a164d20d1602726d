// Two of the Swift concurrency runtime's own entry points, called directly
// from GoConcurrency's park path (see SwiftRuntimeABI.swift, assumptions 4
// and 8, for what is assumed of them and how it is verified). Declared here,
// in C, because Swift reserves these names to its runtime: the compiler
// warns at a Swift declaration of them. Both use Swift's calling convention,
// as the runtime defines them; the inline wrappers are plain C functions
// that Swift calls, and that inline into their callers.
//
// Also here: the calling thread's processor, a C thread-local, which Swift
// cannot declare. Read on every enqueue from a worker thread, it costs a load
// where `pthread_getspecific` cost a call of about 17 instructions.
#pragma once

#if defined(__has_attribute) && __has_attribute(swiftcall)
#define GOCONCURRENCY_SWIFTCALL __attribute__((swiftcall))
#else
#define GOCONCURRENCY_SWIFTCALL
#endif

/// The task running on the calling thread, unretained; null outside a task.
extern void *swift_task_getCurrent(void) GOCONCURRENCY_SWIFTCALL;

/// Where the value bound to the task-local `key` is stored, for the calling
/// task (or the thread, outside a task); null where none is bound.
extern void *swift_task_localValueGet(const void *key) GOCONCURRENCY_SWIFTCALL;

/// The calling task's address, retaining nothing; null outside a task.
static inline const void *goconcurrency_current_task(void) {
    return swift_task_getCurrent();
}

/// The storage of the value bound to the task-local object at `key`; null
/// where none is bound.
static inline const void *goconcurrency_task_local_value(const void *key) {
    return swift_task_localValueGet(key);
}

/// The processor (an unretained `Processor`) whose worker thread is the
/// calling thread, or null. Initial-exec: the package is linked into the
/// program, never loaded late, so the slot is at a fixed offset from the
/// thread pointer.
extern __thread void *goconcurrency_processor_slot __attribute__((tls_model("initial-exec")));

static inline void *goconcurrency_current_processor(void) {
    return goconcurrency_processor_slot;
}

static inline void goconcurrency_set_current_processor(void *processor) {
    goconcurrency_processor_slot = processor;
}
